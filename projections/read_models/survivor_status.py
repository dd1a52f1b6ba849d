"""Survivors by status: one row per registered survivor for `GET /v1/survivors?status=`.

No personal data: her pseudonymous id, her status, the operations that registered her and when
her case last changed. Her status is her case's (coordinator/domain/case.py), folded in log
order from her case stream (its id is hers) and every operation event that names her; the
rules live in `coordinator/`, which hands a `CaseFolder` in at its composition root.

Recently seen survivors' cases are kept in a bounded cache. On a miss her history is read from
the store up to the event being applied: her case stream and the streams of the operations that
registered her (from `survivor_registrations`, or found by the events that registered her). A
correction of an event that concerns her folds her history again, whole, with it in effect.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from events.catalogue import EventType
from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from events.store.rows import RECORD_COLUMNS, records


class CaseFolder(Protocol):
    """A survivor's case fold (`evolve_case`, `fold_case`) over stored events, and her row."""

    def concerns(self, event: Recorded) -> tuple[UUID, ...]:
        """The survivors whose case `event` may change (for a correction, ask of its original)."""

    def event(self, recorded: Recorded) -> Any:
        """A stored event as the fold reads it (made once for every survivor it concerns)."""

    def fold(self, state: Any, survivor_id: UUID, event: Any) -> Any:
        """Her case after `event` (from `event()`); `state` None for a case not seen before."""

    def fold_history(self, survivor_id: UUID, events: Sequence[Recorded]) -> Any:
        """Her case from the events that concern her, with every correction in effect."""

    def row(self, state: Any) -> tuple[str | None, tuple[UUID, ...], Any]:
        """Her status (None if unregistered), the operations that registered her, and when her
        case last changed."""


# Every event of her case and of the operations that registered her, up to an event, in log
# order. The operations come from the registrations table and, for records it may not cover,
# from the registering events themselves (events_rescued_survivors and
# events_recovered_survivors serve those).
_HISTORY = f"""
WITH operations AS (
    SELECT operation_id FROM survivor_registrations WHERE survivor_id = $1
    UNION
    SELECT stream_id FROM events
     WHERE type = 'RescueExecuted' AND (data -> 'survivors') @> $2::jsonb
    UNION
    SELECT stream_id FROM events
     WHERE type = 'SurvivorRecovered' AND (data -> 'survivors') @> $2::jsonb
)
SELECT {RECORD_COLUMNS} FROM events
 WHERE (stream_id = $1 OR stream_id IN (SELECT operation_id FROM operations))
   AND (epoch, xid, position) <= ($3, $4::xid8, $5)
 ORDER BY epoch, xid, position
"""  # noqa: S608  fixed column list

# Her operations travel as one array literal each ('{id,id}'): unnest flattens an array of
# arrays.
_UPSERT = """
INSERT INTO survivor_status (survivor_id, status, operations, updated_at, last_position)
SELECT survivor_id, status, operations::uuid[], updated_at, last_position
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
       AS row (survivor_id, status, operations, updated_at, last_position)
ON CONFLICT (survivor_id) DO UPDATE
   SET status = EXCLUDED.status, operations = EXCLUDED.operations,
       updated_at = EXCLUDED.updated_at, last_position = EXCLUDED.last_position
"""


class SurvivorStatusProjection:
    """Keeps `survivor_status` current."""

    name = "survivor_status"

    def __init__(self, folder: CaseFolder, store: EventStore, *, cache_size: int = 5_000) -> None:
        self._folder = folder
        self._store = store
        self._capacity = cache_size
        self._cases: OrderedDict[UUID, Any] = OrderedDict()
        # After a reset, until the cache first drops a case, a survivor it does not hold has no
        # history yet: she is folded from nothing, without a read.
        self._complete = False

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Fold each event into the cases it concerns; write each touched survivor's row."""
        originals = await self._originals(events)
        touched: dict[UUID, tuple[Any, int]] = {}
        for event in events:
            if event.type == EventType.EVENT_CORRECTED:
                original = originals.get(str(event.data.get("corrects_event_id")))
                for survivor_id in () if original is None else self._folder.concerns(original):
                    touched[survivor_id] = (await self._reload(survivor_id, event), event.position)
                continue
            concerned = self._folder.concerns(event)
            if not concerned:
                continue
            read = self._folder.event(event)
            for survivor_id in concerned:
                if survivor_id in self._cases or self._complete:
                    state = self._folder.fold(self._cases.get(survivor_id), survivor_id, read)
                    self._remember(survivor_id, state)
                else:
                    state = await self._reload(survivor_id, event)
                touched[survivor_id] = (state, event.position)
        rows = []
        for survivor_id, (state, position) in touched.items():
            status, operations, updated_at = self._folder.row(state)
            if status is not None:
                listed = "{" + ",".join(str(operation) for operation in operations) + "}"
                rows.append((survivor_id, status, listed, updated_at, position))
        if rows:
            await connection.execute(_UPSERT, *unnest.columns(rows))

    async def _originals(self, events: Sequence[Recorded]) -> dict[str, Recorded]:
        """The events corrected in `events`, by id as text (one read per batch, if any)."""
        wanted = [
            UUID(str(event.data["corrects_event_id"]))
            for event in events
            if event.type == EventType.EVENT_CORRECTED and "corrects_event_id" in event.data
        ]
        if not wanted:
            return {}
        return {str(event.event_id): event for event in await self._store.find_events(wanted)}

    async def _reload(self, survivor_id: UUID, until: Recorded) -> Any:
        """Her case from her history up to and including `until`, read from the store."""
        cursor: Cursor = until.cursor
        rows = await self._store.pool.fetch(
            _HISTORY,
            survivor_id,
            [{"survivor_id": str(survivor_id)}],
            cursor.epoch,
            cursor.xid,
            cursor.position,
        )
        state = self._folder.fold_history(survivor_id, self._hers(survivor_id, records(rows)))
        self._remember(survivor_id, state)
        return state

    def _hers(self, survivor_id: UUID, events: Sequence[Recorded]) -> list[Recorded]:
        """The events of `events` that concern her (as the live fold would have met them), and
        the corrections of those."""
        hers: list[Recorded] = []
        ids: set[str] = set()
        for event in events:
            if survivor_id in self._folder.concerns(event) or (
                event.type == EventType.EVENT_CORRECTED
                and str(event.data.get("corrects_event_id")) in ids
            ):
                hers.append(event)
                ids.add(str(event.event_id))
        return hers

    def _remember(self, survivor_id: UUID, state: Any) -> None:
        self._cases[survivor_id] = state
        self._cases.move_to_end(survivor_id)
        if len(self._cases) > self._capacity:
            self._cases.popitem(last=False)
            self._complete = False

    async def reset(self, connection: Connection) -> None:
        """Empty the table for a rebuild from the start of the log."""
        await connection.execute("DELETE FROM survivor_status")
        self._cases.clear()
        self._complete = True

    def forget(self) -> None:
        """Drop cached cases after a rolled-back batch (or before leading)."""
        self._cases.clear()
        self._complete = False


async def survivor_rows(
    connection: Connection, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Registered survivors, most recently changed first, optionally of one status; no
    personal data."""
    rows = await connection.fetch(
        "SELECT survivor_id, status, operations, updated_at FROM survivor_status "
        "WHERE ($1::text IS NULL OR status = $1) ORDER BY updated_at DESC, survivor_id LIMIT $2",
        status,
        limit,
    )
    return [
        {
            "survivor_id": str(row["survivor_id"]),
            "status": row["status"],
            "operations": [str(operation) for operation in row["operations"]],
            "updated_at": row["updated_at"].isoformat(),
        }
        for row in rows
    ]
