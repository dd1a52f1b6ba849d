"""`GET /v1/prosecutions/{id}/audit-trail`: one bundle with the prosecution and every operation and
survivor's case it links, up to one signed checkpoint, verified offline like an operation's.

Events of a survivor's case are not evidence, except her re-trafficking: services, notes,
consents and erasures appear as stubs (type, version, times and hashes, no data), so the chain
still verifies and counselling never reaches the defence. A service recorded on an operation
(version 1 clients) is a stub too.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from coordinator.http.access import LEGAL_AND_ADMIN, authorise
from coordinator.http.app_keys import POOL, SETTINGS, STORE
from coordinator.http.audit import NO_STORE, as_of_in, exported
from coordinator.http.audit_log import AUDIT_LOG
from coordinator.http.openapi import RouteDoc
from coordinator.http.prosecutions import prosecution_id_in
from coordinator.http.read_log import log_read
from coordinator.service.access_log import Read
from coordinator.service.prosecution_recording import load_prosecution
from events.catalogue import EventType, StreamKind
from evidence import export as exporter

EVIDENCE_OF_A_CASE = frozenset({EventType.SURVIVOR_RETRAFFICKED})
"""The events of a survivor's case that a prosecution bundle carries whole."""


async def get_prosecution_trail(request: web.Request) -> web.Response:
    """The prosecution's bundle with its linked operations and survivors' cases."""
    actor = await authorise(request, LEGAL_AND_ADMIN)
    prosecution_id = prosecution_id_in(request)
    as_of = as_of_in(request)
    loaded = await load_prosecution(request.app[STORE], prosecution_id)
    state = loaded.state
    kinds: dict[uuid.UUID, str] = {prosecution_id: StreamKind.PROSECUTION.value}
    kinds.update(dict.fromkeys(state.operation_ids, StreamKind.OPERATION.value))
    kinds.update(dict.fromkeys(state.survivor_ids, StreamKind.SURVIVOR_CASE.value))

    def stub(event_type: str, stream_id: uuid.UUID) -> bool:
        if event_type == EventType.SUPPORT_PROVIDED:
            return True
        return kinds.get(stream_id) == StreamKind.SURVIVOR_CASE.value and (
            event_type not in EVIDENCE_OF_A_CASE
        )

    bundle = await exported(
        prosecution_id,
        exporter.export_streams_bundle(
            request.app[POOL],
            request.app[AUDIT_LOG].integrator,
            list(kinds),
            primary=prosecution_id,
            stub=stub,
            kinds=kinds,
            wait_seconds=request.app[SETTINGS].audit_wait_seconds,
            as_of=as_of,
        ),
    )
    await log_read(request, actor, prosecution_id, Read.AUDIT_TRAIL)
    return web.json_response(bundle, headers=NO_STORE)


PROSECUTION_TRAIL_DOC = RouteDoc(
    "GET", "/v1/prosecutions/{prosecution_id}/audit-trail",
    "The prosecution's bundle: its stream and every linked operation and survivor's case.",
    LEGAL_AND_ADMIN, statuses=(400, 404, 409), tag="audit",
    description="A `homeward-streams-bundle/2` document: each stream's events with their hash "
    "chain, an inclusion proof of each into one signed checkpoint, each stream's signed head, "
    "and a manifest signed at export over all of it. Events of a survivor's case other than "
    "her re-trafficking are stubs (no data). `?as_of=TIME` (ISO 8601 with a zone): the events "
    "recorded up to TIME, in the latest checkpoint signed by then (404 if it does not cover "
    "them). `coordinator audit verify FILE --keys KEYS` checks it offline.",
)  # fmt: skip


def setup_prosecution_trail(app: web.Application) -> None:
    """The prosecution trail's route."""
    app.router.add_get("/v1/prosecutions/{prosecution_id}/audit-trail", get_prosecution_trail)
