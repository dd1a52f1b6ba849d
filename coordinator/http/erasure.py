"""`DELETE /v1/survivors/{survivor_id}/personal-data`: erase a survivor's personal data (admin).

Her case records `PersonalDataErased`, then her data key and the keys of the missing person she
is are destroyed: every read from then on shows her personal data as erased, nothing else in the
record changes, and every hash (and so the audit bundle) still verifies, since they cover the
sealed form.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from coordinator.errors import NotFound
from coordinator.http.access import ADMIN_ONLY, authorise
from coordinator.http.app_keys import OPERATIONS, POOL, PRIVACY, REQUEST_ID, STORE
from coordinator.http.bodies import parse_body, read_json
from coordinator.http.openapi import RouteDoc
from coordinator.service.case_recording import erase_survivor_data
from coordinator.service.proposing import RequestContext
from coordinator.service.registrations import registering_operations


class ErasureRequest(BaseModel):
    """Why the personal data is erased (the survivor's request, a retention limit...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=2000)


class ErasureAnswer(BaseModel):
    """The survivor, the operation that first registered her, and her case's version after the
    erasure."""

    survivor_id: uuid.UUID
    operation_id: uuid.UUID
    version: int
    erased: bool


async def erase_personal_data(request: web.Request) -> web.Response:
    """Erase a survivor's personal data for good."""
    actor = await authorise(request, ADMIN_ONLY)
    try:
        survivor_id = uuid.UUID(request.match_info["survivor_id"])
    except ValueError as error:
        raise NotFound("no survivor has that id (survivor ids are UUIDs)") from error
    body = parse_body(ErasureRequest, await read_json(request))
    operations = (await registering_operations(request.app[POOL], [survivor_id]))[survivor_id]
    if not operations:
        raise NotFound(f"no operation registered survivor {survivor_id}")
    request_id = request[REQUEST_ID]
    appended = await erase_survivor_data(
        request.app[STORE],
        request.app[PRIVACY],
        RequestContext(actor, request_id, request_id),
        survivor_id=survivor_id,
        reason=body.reason,
    )
    for operation_id in operations:
        request.app[OPERATIONS].forget(operation_id)
    version = (
        appended.version
        if appended is not None
        else await request.app[STORE].stream_version(survivor_id)
    )
    operation_id = operations[0]
    answer = ErasureAnswer(
        survivor_id=survivor_id, operation_id=operation_id, version=version, erased=True
    )
    return web.json_response(answer.model_dump(mode="json"))


ERASURE_ROUTE_DOC = RouteDoc(
    "DELETE",
    "/v1/survivors/{survivor_id}/personal-data",
    "Erase a survivor's personal data: destroys their data key; hashes still verify.",
    ADMIN_ONLY,
    request_model=ErasureRequest,
    response_model=ErasureAnswer,
    statuses=(404,),
    tag="privacy",
    request_example={"reason": "the survivor asked for her data to be erased"},
)
