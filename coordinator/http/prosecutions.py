"""Handlers of prosecutions: open one, record on it, read it, and its audit trail."""

from __future__ import annotations

import uuid

from aiohttp import web

from coordinator.domain.actors import Role
from coordinator.errors import NotFound
from coordinator.http.access import LEGAL_AND_ADMIN, authorise
from coordinator.http.answers import AppendAnswer, answer
from coordinator.http.app_keys import PRIVACY, STORE
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.case_answers import ProsecutionAnswer, ProsecutionOpenAnswer
from coordinator.http.openapi import RouteDoc
from coordinator.http.operations import (
    PERSONAL_DATA_HEADERS,
    append_answer,
    as_of_in,
    context_of,
)
from coordinator.http.read_log import log_read
from coordinator.service.access_log import Read
from coordinator.service.case_views import prosecution_view
from coordinator.service.commands import OpenProsecutionRequest, RecordEventsRequest
from coordinator.service.prosecution_recording import (
    load_prosecution,
    open_prosecution_stream,
    record_prosecution_events,
)

PROSECUTION_READERS = frozenset({Role.LEGAL, Role.ADMIN, Role.LEADERSHIP})


def prosecution_id_in(request: web.Request) -> uuid.UUID:
    """The prosecution id of the path, or NotFound."""
    try:
        return uuid.UUID(request.match_info["prosecution_id"])
    except ValueError as error:
        raise NotFound("no prosecution has that id (prosecution ids are UUIDs)") from error


async def post_prosecution(request: web.Request) -> web.Response:
    """Open a prosecution."""
    actor = await authorise(request, LEGAL_AND_ADMIN)
    body = parse_body(OpenProsecutionRequest, await read_json(request))
    appended = await open_prosecution_stream(
        request.app[STORE], request.app[PRIVACY], context_of(request, actor), body
    )
    opened = {"prosecution_id": str(appended.stream_id), "version": appended.events[-1].version}
    return answer(ProsecutionOpenAnswer, opened, status=201)


async def post_prosecution_events(request: web.Request) -> web.Response:
    """Append a batch of events to a prosecution."""
    actor = await authorise(request, LEGAL_AND_ADMIN)
    prosecution_id = prosecution_id_in(request)
    body = parse_body(RecordEventsRequest, await read_json(request))
    appended = await record_prosecution_events(
        request.app[STORE], request.app[PRIVACY], context_of(request, actor), prosecution_id, body
    )
    return append_answer(appended)


async def get_prosecution(request: web.Request) -> web.Response:
    """A prosecution; leadership sees it without personal data; with `?as_of=`, as known then."""
    actor = await authorise(request, PROSECUTION_READERS)
    prosecution_id = prosecution_id_in(request)
    loaded = await load_prosecution(request.app[STORE], prosecution_id, as_of=as_of_in(request))
    await log_read(request, actor, prosecution_id, Read.PROSECUTION)
    readable = await request.app[PRIVACY].readable(loaded.events, actor.role)
    view = prosecution_view(loaded, actor.role, readable)
    return answer(ProsecutionAnswer, view, headers=PERSONAL_DATA_HEADERS)


def setup_prosecution_routes(app: web.Application) -> None:
    """The prosecutions' routes."""
    app.router.add_post("/v1/prosecutions", post_prosecution)
    app.router.add_post("/v1/prosecutions/{prosecution_id}/events", post_prosecution_events)
    app.router.add_get("/v1/prosecutions/{prosecution_id}", get_prosecution)


PROSECUTION_ROUTE_DOCS = (
    RouteDoc(
        "POST", "/v1/prosecutions",
        "Open a prosecution (ProsecutionOpened) linked to operations and survivors.",
        LEGAL_AND_ADMIN, OpenProsecutionRequest, ProsecutionOpenAnswer, statuses=(409,),
        success=201, tag="prosecutions",
        request_example={
            "data": {
                "case_number": "12/2026/HSST",
                "court": "Provincial People's Court",
                "province": "Lao Cai",
                "operation_ids": [],
                "survivor_ids": [],
            }
        },
    ),
    RouteDoc(
        "POST", "/v1/prosecutions/{prosecution_id}/events",
        "Append a batch to a prosecution: charges, hearings, testimony, evidence, verdicts.",
        LEGAL_AND_ADMIN, RecordEventsRequest, AppendAnswer, statuses=(404, 409), success=201,
        tag="prosecutions",
        description="`operation_id` in the answer is the prosecution's id.",
    ),
    RouteDoc(
        "GET", "/v1/prosecutions/{prosecution_id}", "A prosecution, its defendants and timeline.",
        PROSECUTION_READERS, response_model=ProsecutionAnswer, statuses=(400, 404),
        tag="prosecutions",
        description="Leadership sees no personal data. `?as_of=TIME` (ISO 8601 with its zone) "
        "answers it as the organisation knew it then: the events recorded up to `TIME`, "
        "`version` the last of them (404 if it was not opened yet).",
    ),
)  # fmt: skip
