"""Every read of an operation's details, events or audit trail is logged before it is answered."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from coordinator.domain.actors import Actor
from coordinator.http.app_keys import POOL, REQUEST_ID
from coordinator.service.access_log import Read, record_read


async def log_read(
    request: web.Request,
    actor: Actor,
    operation_id: UUID,
    what: Read,
    page_format: str = "json",
) -> None:
    """Append the read to the access log (invariant 8); if that fails, the read fails too."""
    await record_read(
        request.app[POOL],
        actor,
        operation_id,
        what,
        request[REQUEST_ID],
        page_format=page_format,
    )
