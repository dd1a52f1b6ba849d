"""Handlers of the operations API: parse, authorise, call one command function, answer.

A field token of a team not assigned to the operation is refused (403 `not_assigned`) unless it
breaks the glass (`X-Break-Glass: REASON`): then it is served and the request is logged with
its reason (coordinator/domain/need_to_know.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from aiohttp import web

from coordinator.domain import Operation
from coordinator.domain.actors import Actor
from coordinator.domain.need_to_know import assigned, check_assigned, scoped
from coordinator.domain.stored import fold
from coordinator.errors import BadRequest, NotFound
from coordinator.http.access import (
    EVENT_READERS,
    EVERYONE,
    FIELD_AND_ADMIN,
    RECORDERS,
    authorise,
    break_glass_reason,
)
from coordinator.http.answers import (
    AppendAnswer,
    OpenAnswer,
    OperationAnswer,
    StoredEventsAnswer,
    answer,
)
from coordinator.http.app_keys import OPERATIONS, PRIVACY, REQUEST_ID, STORE
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.read_log import log_read
from coordinator.service.access_log import Read
from coordinator.service.commands import OpenOperationRequest, RecordEventsRequest
from coordinator.service.recording import RequestContext, load, open_operation, record_events
from coordinator.service.streams import refuse_other_kind
from coordinator.service.views import operation_view, stored_event_view
from events.catalogue import StreamKind
from events.store.envelope import Appended

CORRELATION_HEADER = "X-Correlation-Id"


PERSONAL_DATA_HEADERS = {"Cache-Control": "no-store"}
"""An answer that may hold a survivor's personal data is kept in no cache, shared or private."""


def operation_id_in(request: web.Request) -> uuid.UUID:
    """The operation id of the path, or NotFound: ids that are not UUIDs name nothing."""
    try:
        return uuid.UUID(request.match_info["operation_id"])
    except ValueError as error:
        raise NotFound("no operation has that id (operation ids are UUIDs)") from error


# A "+" of a zone sent unescaped in a query string arrives as a space: `...T10:00:00 07:00`.
_UNESCAPED_PLUS = re.compile(r"(T[0-9:.,]+) ([0-9]{2}(:?[0-9]{2})?)$")


def as_of_in(request: web.Request) -> datetime | None:
    """The moment of `?as_of=` (ISO 8601 with a zone), or None; BadRequest for anything else."""
    text = request.query.get("as_of")
    if text is None:
        return None
    text = _UNESCAPED_PLUS.sub(r"\1+\2", text.strip())
    try:
        moment = datetime.fromisoformat(text) if len(text) <= 64 else None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise BadRequest("as_of is a time in ISO 8601 with its zone, e.g. 2026-10-14T10:00:00+07:00")


def context_of(request: web.Request, actor: Actor) -> RequestContext:
    """Who is asking, with the request's ids. A client's `X-Correlation-Id` is stored with each
    event only when it is an opaque id (a UUID or 16 to 64 hex digits): any other text could
    name someone and would stay in the clear after an erasure; the request id stands in."""
    request_id = request[REQUEST_ID]
    supplied = request.headers.get(CORRELATION_HEADER, "")
    correlation = supplied if OPAQUE_ID.fullmatch(supplied) else request_id
    return RequestContext(actor=actor, request_id=request_id, correlation_id=correlation)


OPAQUE_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{16,64}"
)
"""A correlation id worth keeping: a UUID or a hex token, nothing a person could be named in."""


def broken_glass(state: Operation, actor: Actor, reason: str | None) -> str | None:
    """The reason when `actor` breaks the glass to reach `state` (None when its team is assigned
    or it is not scoped), or `NotAssigned` when it would have to and states no reason."""
    check_assigned(state, actor, break_glass=reason is not None)
    return None if assigned(state, actor) else reason


def append_answer(appended: Appended) -> web.Response:
    """The answer to an append, for every kind of stream."""
    events = [{"event_id": e.event_id, "version": e.version} for e in appended.events]
    content = {"operation_id": appended.stream_id, "version": appended.version, "events": events}
    return answer(AppendAnswer, content, status=201)


async def post_operation(request: web.Request) -> web.Response:
    """Open an operation with its first report."""
    actor = await authorise(request, FIELD_AND_ADMIN)
    body = parse_body(OpenOperationRequest, await read_json(request))
    appended = await open_operation(
        request.app[STORE], request.app[PRIVACY], context_of(request, actor), body
    )
    opened = {"operation_id": appended.stream_id, "version": appended.events[-1].version}
    return answer(OpenAnswer, opened, status=201)


async def post_events(request: web.Request) -> web.Response:
    """Append a batch of events to an operation."""
    actor = await authorise(request, RECORDERS)
    operation_id = operation_id_in(request)
    reason = break_glass_reason(request)
    body = parse_body(RecordEventsRequest, await read_json(request))
    glass = None
    if reason is not None and scoped(actor):
        state = await request.app[OPERATIONS].current(request.app[STORE], operation_id, None)
        glass = broken_glass(state, actor, reason)
        if glass is not None:  # logged before the append: a write that cannot be logged fails
            await log_read(request, actor, operation_id, Read.APPEND, break_glass=glass)
    appended = await record_events(
        request.app[STORE],
        request.app[PRIVACY],
        context_of(request, actor),
        operation_id,
        body,
        cache=request.app[OPERATIONS],
        break_glass=glass is not None,
    )
    return append_answer(appended)


async def get_operation(request: web.Request) -> web.Response:
    """An operation's status, survivors, partners and timeline; with `?as_of=`, as known then."""
    actor = await authorise(request, EVERYONE)
    operation_id = operation_id_in(request)
    reason = break_glass_reason(request)
    as_of = as_of_in(request)
    loaded = await load(request.app[STORE], operation_id, as_of=as_of)
    glass = None
    if scoped(actor):  # judged by the teams assigned now, also for a look into the past
        current = loaded.state
        if as_of is not None:
            current = await request.app[OPERATIONS].current(request.app[STORE], operation_id, None)
        glass = broken_glass(current, actor, reason)
    await log_read(request, actor, operation_id, Read.OPERATION, break_glass=glass)
    readable = await request.app[PRIVACY].readable(loaded.events, actor.role)
    view = operation_view(loaded, actor.role, readable)
    return answer(OperationAnswer, view, headers=PERSONAL_DATA_HEADERS)


async def get_events(request: web.Request) -> web.Response:
    """An operation's stream as stored."""
    actor = await authorise(request, EVENT_READERS)
    operation_id = operation_id_in(request)
    reason = break_glass_reason(request)
    events = await request.app[STORE].read_stream(operation_id)
    if not events:
        raise NotFound(f"operation {operation_id} does not exist")
    # A survivor's case or a prosecution is not read under an operation's path.
    refuse_other_kind(events[0], StreamKind.OPERATION, operation_id, reading=True)
    glass = None
    if scoped(actor):
        state = fold(events)
        assert state is not None  # noqa: S101  a stream with events folds to a state
        glass = broken_glass(state, actor, reason)
    await log_read(request, actor, operation_id, Read.EVENTS, break_glass=glass)
    readable = await request.app[PRIVACY].readable(events, actor.role)
    stored = [stored_event_view(e, readable[e.event_id]) for e in events]
    content = {"operation_id": str(operation_id), "events": stored}
    return answer(StoredEventsAnswer, content, headers=PERSONAL_DATA_HEADERS)


def setup_operation_routes(app: web.Application) -> None:
    """The operations API's routes."""
    app.router.add_post("/v1/operations", post_operation)
    app.router.add_post("/v1/operations/{operation_id}/events", post_events)
    app.router.add_get("/v1/operations/{operation_id}", get_operation)
    app.router.add_get("/v1/operations/{operation_id}/events", get_events)
