"""Every read of an operation's details, events or audit trail is logged before it is answered;
a request that breaks the glass is logged with its reason and a log line flags it to admins."""

from __future__ import annotations

from uuid import UUID

import structlog
from aiohttp import web

from coordinator.domain.actors import Actor
from coordinator.http.app_keys import POOL, REQUEST_ID
from coordinator.service.access_log import Read, record_break_glass, record_read

log = structlog.get_logger(__name__)


async def log_read(
    request: web.Request,
    actor: Actor,
    operation_id: UUID,
    what: Read,
    page_format: str = "json",
    *,
    break_glass: str | None = None,
) -> None:
    """Append the read to the access log (invariant 8); if that fails, the read fails too. With
    `break_glass` (the reason), it is logged and listed as breaking the glass."""
    if break_glass is not None:
        entry = await record_break_glass(
            request.app[POOL],
            actor,
            operation_id,
            what,
            request[REQUEST_ID],
            reason=break_glass,
        )
        # No reason in the line: it may name people; admins read it at /v1/audit/break-glass.
        log.warning(
            "break_glass",
            actor=actor.name,
            team=actor.team,
            operation_id=str(operation_id),
            what=what.value,
            access_entry=entry,
        )
        return
    await record_read(
        request.app[POOL],
        actor,
        operation_id,
        what,
        request[REQUEST_ID],
        page_format=page_format,
    )
