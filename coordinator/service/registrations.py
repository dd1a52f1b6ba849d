"""Survivor registrations: which operations registered whom, and the append that takes a slot.

A registration is a row of `survivor_registrations` (events/store/migrations/0012), written in
the same transaction as the registering event, under a slot that can be taken once (her first
registration, or one per re-trafficking recorded in her case). A rival that took the slot first
makes the append fail as a whole, with the rule it broke: never a read, then a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

import asyncpg

from coordinator.domain import Registration
from coordinator.errors import RuleBroken
from events.store.connection import Queryable
from events.store.envelope import Appended, NewEvent
from events.store.event_store import EventStore

_INSERT = """
INSERT INTO survivor_registrations (survivor_id, slot, operation_id, event_id)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[])
"""


async def registering_operations(
    pool: Queryable, survivor_ids: Iterable[UUID]
) -> dict[UUID, list[UUID]]:
    """The operations that registered each survivor, oldest first (none: not registered)."""
    ids = list(survivor_ids)
    rows = await pool.fetch(
        "SELECT survivor_id, operation_id FROM survivor_registrations "
        "WHERE survivor_id = ANY($1::uuid[]) ORDER BY registered_at, operation_id",
        ids,
    )
    found: dict[UUID, list[UUID]] = {survivor_id: [] for survivor_id in ids}
    for row in rows:
        found[row["survivor_id"]].append(row["operation_id"])
    return found


async def registered_by(pool: Queryable, operation_id: UUID) -> list[UUID]:
    """The survivors an operation registered."""
    rows = await pool.fetch(
        "SELECT survivor_id FROM survivor_registrations WHERE operation_id = $1 "
        "ORDER BY registered_at, survivor_id",
        operation_id,
    )
    return [row["survivor_id"] for row in rows]


async def append_registering(
    store: EventStore,
    stream_id: UUID,
    events: Sequence[NewEvent],
    *,
    expected_version: int,
    registrations: Sequence[Registration],
) -> Appended:
    """Append `events` and take `registrations` in one transaction, or neither."""
    if not registrations:
        return await store.append(stream_id, events, expected_version=expected_version)
    async with store.transaction() as (bound, connection):
        try:
            await connection.execute(
                _INSERT,
                [r.survivor_id for r in registrations],
                [r.slot for r in registrations],
                [r.operation_id for r in registrations],
                [r.event_id for r in registrations],
            )
        except asyncpg.UniqueViolationError as error:
            raise RuleBroken(
                "Another operation registered one of these survivors meanwhile; one person has "
                "one survivor_id, registered again only once her case records "
                "SurvivorRetrafficked naming the new operation.",
            ) from error
        return await bound.append(stream_id, events, expected_version=expected_version)
