"""Recording and reading the access log (invariant 8): who read which operation, what and when.

Each read of an operation's details, events or audit trail appends one hash-chained entry
(evidence/access_chain.py) before the answer is sent, so a read that could not be logged is not
answered. Entries never hold the token, only its name and role.

A break-the-glass request (a field team reading or recording an operation it is not assigned
to, coordinator/domain/need_to_know.py) is logged the same way, with `what` ending in
"(break-glass)", and, in the same transaction, in `break_glass_reads` with the reason it gave:
the chain's fields are unchanged, so every entry, old or new, verifies as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

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
    APPEND = "append"
    """Not a read: a break-the-glass append to an operation or a survivor's case."""


BREAK_GLASS_MARK = " (break-glass)"
"""The end of the access log's `what` for a request that broke the glass."""

MIN_REASON, MAX_REASON = 10, 500
"""A break-the-glass reason is 10 to 500 printable characters."""


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
    entry, _ = await _record(
        pool,
        actor,
        operation_id,
        what.value,
        request_id,
        page_format=page_format,
        accessed_at=clock(),
    )
    return entry


async def _record(
    pool: Queryable,
    actor: Actor,
    operation_id: UUID,
    what: str,
    request_id: str,
    *,
    page_format: str,
    accessed_at: datetime,
) -> tuple[int, datetime]:
    # The database keeps microseconds, so the time hashed here is the time stored.
    body = body_hash(
        accessed_at=accessed_at,
        actor_name=actor.name,
        actor_role=actor.role.value,
        operation_id=operation_id,
        what=what,
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
            what,
            page_format,
            request_id,
            body,
        )
    return int(entry), accessed_at


async def record_break_glass(
    pool: asyncpg.Pool,
    actor: Actor,
    operation_id: UUID,
    what: Read,
    request_id: str,
    *,
    reason: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Log a break-the-glass request in the access log and in `break_glass_reads`, together,
    and return its access-log entry."""
    with translate_errors():
        async with pool.acquire() as connection, connection.transaction():
            entry, accessed_at = await _record(
                connection,
                actor,
                operation_id,
                what.value + BREAK_GLASS_MARK,
                request_id,
                page_format="json",
                accessed_at=clock(),
            )
            await connection.execute(
                "INSERT INTO break_glass_reads (access_entry, accessed_at, actor_name, "
                "actor_team, operation_id, what, reason, request_id) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                entry,
                accessed_at,
                actor.name,
                actor.team or "",
                operation_id,
                what.value,
                reason,
                request_id,
            )
    return entry


async def read_break_glass(
    pool: Queryable, *, after: int = 0, limit: int = 500
) -> list[dict[str, Any]]:
    """Up to `limit` break-the-glass requests after access-log entry `after`, oldest first."""
    with translate_errors():
        rows = await pool.fetch(
            "SELECT access_entry, accessed_at, actor_name, actor_team, operation_id, what, "
            "reason, request_id FROM break_glass_reads WHERE access_entry > $1 "
            "ORDER BY access_entry LIMIT $2",
            after,
            limit,
        )
    return [
        {
            "entry": row["access_entry"],
            "accessed_at": timestamp(row["accessed_at"]),
            "actor_name": row["actor_name"],
            "team": row["actor_team"],
            "operation_id": str(row["operation_id"]),
            "what": row["what"],
            "reason": row["reason"],
            "request_id": row["request_id"],
        }
        for row in rows
    ]


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
