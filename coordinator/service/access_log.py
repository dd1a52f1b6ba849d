"""Recording and reading the access log (invariant 8): who read which operation, what and when.

Each read of an operation's details, events or audit trail appends one hash-chained entry
(evidence/access_chain.py) before the answer is sent, so a read that could not be logged is not
answered. Entries never hold the token, only its name and role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from coordinator.domain.actors import Actor
from events.store.connection import Queryable, translate_errors
from events.verifier.chain import timestamp
from evidence.access_chain import body_hash


class Read(StrEnum):
    """What was read: of an operation, a survivor's case or a prosecution."""

    OPERATION = "operation"
    EVENTS = "events"
    AUDIT_TRAIL = "audit_trail"
    SURVIVOR = "survivor"
    PROSECUTION = "prosecution"


async def record_read(
    pool: Queryable,
    actor: Actor,
    operation_id: UUID,
    what: Read,
    request_id: str,
    *,
    page_format: str = "json",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Append one entry to the access log and return its number."""
    # The database keeps microseconds, so the time hashed here is the time stored.
    accessed_at = clock()
    body = body_hash(
        accessed_at=accessed_at,
        actor_name=actor.name,
        actor_role=actor.role.value,
        operation_id=operation_id,
        what=what.value,
        page_format=page_format,
        request_id=request_id,
    )
    with translate_errors():
        entry = await pool.fetchval(
            "SELECT record_access($1, $2, $3, $4, $5, $6, $7, $8)",
            accessed_at,
            actor.name,
            actor.role.value,
            operation_id,
            what.value,
            page_format,
            request_id,
            body,
        )
    return int(entry)


_COLUMNS = """
    entry, accessed_at, actor_name, actor_role, operation_id, what, format, request_id,
    prev_hash, hash
"""


async def read_access_log(
    pool: Queryable, *, operation_id: UUID | None = None, after: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """Up to `limit` entries after entry `after`, in order, of one operation or of all."""
    with translate_errors():
        if operation_id is None:
            rows = await pool.fetch(
                f"SELECT {_COLUMNS} FROM access_log WHERE entry > $1 ORDER BY entry LIMIT $2",  # noqa: S608  fixed column list
                after,
                limit,
            )
        else:
            rows = await pool.fetch(
                f"SELECT {_COLUMNS} FROM access_log "  # noqa: S608  fixed column list
                "WHERE operation_id = $1 AND entry > $2 ORDER BY entry LIMIT $3",
                operation_id,
                after,
                limit,
            )
    return [dict(row) for row in rows]


def entry_view(row: dict[str, Any]) -> dict[str, Any]:
    """One entry as JSON: times in the hashed form, hashes in hex."""
    return {
        "entry": row["entry"],
        "accessed_at": timestamp(row["accessed_at"]),
        "actor_name": row["actor_name"],
        "actor_role": row["actor_role"],
        "operation_id": str(row["operation_id"]),
        "what": row["what"],
        "format": row["format"],
        "request_id": row["request_id"],
        "prev_hash": bytes(row["prev_hash"]).hex(),
        "hash": bytes(row["hash"]).hex(),
    }
