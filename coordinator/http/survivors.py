"""Handlers of the survivors' cases: record on her case, read it, list survivors by status.

Need-to-know reaches her case: a field token of a team is served it only when its team is
assigned to an operation that registered her, or when it breaks the glass (`X-Break-Glass`).
"""

from __future__ import annotations

import uuid

from aiohttp import web

from coordinator.domain import SurvivorStatus
from coordinator.domain.actors import Actor, Role
from coordinator.domain.need_to_know import NotAssigned, assigned, scoped
from coordinator.errors import InvalidInput, NotFound
from coordinator.http.access import EVENT_READERS, authorise, break_glass_reason
from coordinator.http.answers import AppendAnswer, answer
from coordinator.http.app_keys import OPERATIONS, POOL, PRIVACY, STORE
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.case_answers import SurvivorCaseAnswer, SurvivorsAnswer
from coordinator.http.openapi import RouteDoc
from coordinator.http.operations import (
    PERSONAL_DATA_HEADERS,
    append_answer,
    as_of_in,
    context_of,
)
from coordinator.http.read_log import log_read
from coordinator.service.access_log import Read
from coordinator.service.case_recording import load_registered_case, record_case_events
from coordinator.service.case_views import case_view
from coordinator.service.commands import RecordEventsRequest
from coordinator.service.registrations import registering_operations
from projections.read_models.survivor_status import survivor_rows

CASE_RECORDERS = frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})
MAX_ROWS = 500


def survivor_id_in(request: web.Request) -> uuid.UUID:
    """The survivor id of the path, or NotFound: ids that are not UUIDs name nobody."""
    try:
        return uuid.UUID(request.match_info["survivor_id"])
    except ValueError as error:
        raise NotFound("no survivor has that id (survivor ids are UUIDs)") from error


async def case_glass(
    request: web.Request, actor: Actor, survivor_id: uuid.UUID, reason: str | None
) -> str | None:
    """The reason when `actor` breaks the glass to reach her case (None when a team of an
    operation that registered her is the actor's, or it is not scoped), or `NotAssigned`."""
    if not scoped(actor):
        return None
    registered_by = (await registering_operations(request.app[POOL], [survivor_id]))[survivor_id]
    for operation_id in registered_by:
        state = await request.app[OPERATIONS].current(request.app[STORE], operation_id, None)
        if assigned(state, actor):
            return None
    if reason is None and registered_by:
        raise NotAssigned(
            f"team {actor.team} is not assigned to an operation that registered survivor "
            f"{survivor_id}; send X-Break-Glass: REASON in an emergency (logged and reviewed)."
        )
    return reason if registered_by else None  # no case yet: the handler answers 404


async def post_case_events(request: web.Request) -> web.Response:
    """Append a batch of events to a survivor's case."""
    actor = await authorise(request, CASE_RECORDERS)
    survivor_id = survivor_id_in(request)
    reason = break_glass_reason(request)
    body = parse_body(RecordEventsRequest, await read_json(request))
    glass = await case_glass(request, actor, survivor_id, reason)
    if glass is not None:  # logged before the append: a write that cannot be logged fails
        await log_read(request, actor, survivor_id, Read.APPEND, break_glass=glass)
    appended = await record_case_events(
        request.app[STORE], request.app[PRIVACY], context_of(request, actor), survivor_id, body
    )
    return append_answer(appended)


async def get_case(request: web.Request) -> web.Response:
    """A survivor's case: status, operations, services, consents and timeline; with `?as_of=`,
    as known then."""
    actor = await authorise(request, EVENT_READERS)
    survivor_id = survivor_id_in(request)
    reason = break_glass_reason(request)
    loaded = await load_registered_case(request.app[STORE], survivor_id, as_of=as_of_in(request))
    glass = await case_glass(request, actor, survivor_id, reason)
    await log_read(request, actor, survivor_id, Read.SURVIVOR, break_glass=glass)
    readable = await request.app[PRIVACY].readable(loaded.stored, actor.role)
    view = case_view(loaded, actor.role, readable)
    return answer(SurvivorCaseAnswer, view, headers=PERSONAL_DATA_HEADERS)


async def list_survivors(request: web.Request) -> web.Response:
    """Survivors by status, without personal data."""
    await authorise(request, EVENT_READERS)
    status = request.query.get("status")
    statuses = [s.value for s in SurvivorStatus]
    if status is not None and status not in statuses:
        raise InvalidInput(f"status must be one of {', '.join(statuses)}")
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError as error:
        raise InvalidInput("limit is a whole number") from error
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit is between 1 and {MAX_ROWS}")
    async with request.app[POOL].acquire() as connection:
        rows = await survivor_rows(connection, status, limit)
    return answer(SurvivorsAnswer, {"survivors": rows})


def setup_survivor_routes(app: web.Application) -> None:
    """The survivors' cases' routes."""
    app.router.add_get("/v1/survivors", list_survivors)
    app.router.add_post("/v1/survivors/{survivor_id}/events", post_case_events)
    app.router.add_get("/v1/survivors/{survivor_id}", get_case)


SURVIVOR_ROUTE_DOCS = (
    RouteDoc(
        "GET", "/v1/survivors", "Survivors by status, no personal data; ?status=, ?limit=.",
        EVENT_READERS, response_model=SurvivorsAnswer, tag="survivors",
    ),
    RouteDoc(
        "POST", "/v1/survivors/{survivor_id}/events",
        "Append a batch of events to a survivor's case (services, consent, contact, "
        "re-trafficking, independence).",
        CASE_RECORDERS, RecordEventsRequest, AppendAnswer, statuses=(404, 409), success=201,
        tag="survivors",
        description="Field and admin record her life after the rescue; legal records consents. "
        "Her case exists once an operation registered her (404 before). `operation_id` in the "
        "answer is her survivor id.",
        request_example={
            "events": [
                {"type": "SupportProvided", "data": {"service": "vocational_training"}},
                {
                    "type": "ConsentRecorded",
                    "data": {
                        "purpose": "aftercare",
                        "recipient": "Shelter",
                        "given_by": "survivor",
                    },
                },
            ]
        },
    ),
    RouteDoc(
        "GET", "/v1/survivors/{survivor_id}",
        "A survivor's case across every operation that found her.",
        EVENT_READERS, response_model=SurvivorCaseAnswer, statuses=(400, 404),
        tag="survivors",
        description="Leadership may not read it (403). `?as_of=TIME` (ISO 8601 with its zone) "
        "answers her case as the organisation knew it then: her events and her operations' "
        "events recorded up to `TIME` (404 if no operation had registered her yet).",
    ),
)  # fmt: skip
