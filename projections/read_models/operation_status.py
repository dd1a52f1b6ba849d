"""Operation status: one row per operation for `GET /v1/operations` (filters: stage, country,
reference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Recorded
from events.store.event_store import EventStore
from projections.read_models.operation_summary import Folded, Folder, FoldingCache, OperationSummary

# One statement for a batch's rows (one per operation: a batch's latest state of each).
_UPSERT = """
INSERT INTO operation_status
    (operation_id, stage, version, country, opened_at, updated_at, recorded_at, summary,
     reference)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::timestamptz[],
                     $6::timestamptz[], $7::timestamptz[], $8::jsonb[], $9::text[])
ON CONFLICT (operation_id) DO UPDATE
   SET stage = EXCLUDED.stage, version = EXCLUDED.version, country = EXCLUDED.country,
       updated_at = EXCLUDED.updated_at, recorded_at = EXCLUDED.recorded_at,
       summary = EXCLUDED.summary, reference = EXCLUDED.reference
 WHERE operation_status.version < EXCLUDED.version
"""


def _row(summary: OperationSummary, folded: Folded, recorded_at: Any) -> tuple[Any, ...]:
    return (
        summary.operation_id,
        summary.stage,
        summary.version,
        summary.country,
        summary.opened_at,
        summary.updated_at,
        recorded_at,
        {
            "survivors": list(summary.survivors),
            "survivors_by_status": dict(sorted(summary.survivors_by_status.items())),
            "partners": list(summary.partners),
            "phase": summary.phase,
            "awaiting_approval": summary.awaiting_approval,
            "awaiting_review": summary.awaiting_review_since is not None,
            "stage_since": folded.stage_since.isoformat(),
        },
        summary.reference,
    )


class OperationStatusProjection:
    """Keeps `operation_status` current."""

    name = "operation_status"

    def __init__(self, folder: Folder, store: EventStore, *, cache_size: int = 5_000) -> None:
        self._cache = FoldingCache(folder, store, capacity=cache_size)

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Fold each event; write each touched operation's latest row once per batch."""
        await self.write(connection, await self.rows(events))

    async def rows(self, events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        """Fold each event: the row of each touched operation after its last event here."""
        latest = await self._cache.latest(events)
        return [
            _row(self._cache.summary(folded), folded, event.recorded_at)
            for folded, event in latest.values()
        ]

    async def write(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Store rows from `rows` (a row never goes back a version)."""
        if rows:
            await connection.execute(_UPSERT, *unnest.columns(rows))

    async def reset(self, connection: Connection) -> None:
        """Empty the table for a rebuild."""
        await connection.execute("DELETE FROM operation_status")
        self._cache.forget()

    def forget(self) -> None:
        """Drop cached states after a rolled-back batch."""
        self._cache.forget()


async def operation_rows(
    connection: Connection,
    *,
    stage: str | None,
    country: str | None,
    reference: str | None,
    limit: int,
) -> list[Any]:
    """Stored rows, most recently updated first, optionally of one stage, country and
    reference (operation_status_stage, _country and _reference serve the filters)."""
    return await connection.fetch(
        "SELECT operation_id, stage, version, country, reference, opened_at, updated_at, summary "
        "FROM operation_status "
        "WHERE ($1::text IS NULL OR stage = $1) AND ($2::text IS NULL OR country = $2) "
        "AND ($3::text IS NULL OR reference = $3) "
        "ORDER BY updated_at DESC LIMIT $4",
        stage,
        country,
        reference,
        limit,
    )
