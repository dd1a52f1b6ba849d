"""The leadership board: one row per open operation, without personal data, pushed live.

Rows of closed operations are kept with `open = false`, so that a client resuming its stream
learns they left the board. Each row remembers the cursor of the last event that changed it;
the live stream's event id is that event's global position. Flags that depend on how long
something has lasted (no update, dormant, review overdue, a survivor abroad) are judged when the
row is read, from the times the row keeps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from events.store import unnest
from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from projections.read_models.operation_summary import Folded, Folder, FoldingCache, OperationSummary

BOARD_CHANNEL = "homeward_board"
STALE_AFTER = timedelta(days=7)
DORMANT_AFTER = timedelta(days=90)
REVIEW_DUE_WITHIN = timedelta(hours=72)
ABROAD_TOO_LONG = timedelta(days=30)
# PostgreSQL refuses NOTIFY payloads from 8000 bytes on.
_MAX_PAYLOAD = 7_000

COLUMNS = """
    operation_id, open, stage, stage_since, version, country, survivors, awaiting_approval,
    opened_at, updated_at, last_epoch, last_xid, last_position, reference, survivors_by_status,
    awaiting_review_since, abroad_since
"""

# One statement for a batch's rows; announcing, it answers those it changed.
_WRITE = f"""
INSERT INTO board ({COLUMNS})
SELECT * FROM unnest($1::uuid[], $2::boolean[], $3::text[], $4::timestamptz[], $5::integer[],
                     $6::text[], $7::integer[], $8::boolean[], $9::timestamptz[],
                     $10::timestamptz[], $11::integer[], $12::xid8[], $13::bigint[],
                     $14::text[], $15::jsonb[], $16::timestamptz[], $17::timestamptz[])
ON CONFLICT (operation_id) DO UPDATE
   SET open = EXCLUDED.open, stage = EXCLUDED.stage, stage_since = EXCLUDED.stage_since,
       version = EXCLUDED.version, country = EXCLUDED.country, survivors = EXCLUDED.survivors,
       awaiting_approval = EXCLUDED.awaiting_approval, updated_at = EXCLUDED.updated_at,
       last_epoch = EXCLUDED.last_epoch, last_xid = EXCLUDED.last_xid,
       last_position = EXCLUDED.last_position, reference = EXCLUDED.reference,
       survivors_by_status = EXCLUDED.survivors_by_status,
       awaiting_review_since = EXCLUDED.awaiting_review_since,
       abroad_since = EXCLUDED.abroad_since
 WHERE board.version < EXCLUDED.version
"""  # noqa: S608  fixed columns
_UPSERT = f"{_WRITE}RETURNING {COLUMNS}"


def board_flags(row: Any, now: datetime) -> list[str]:
    """The names of the flags a stored row carries at `now`."""
    flags = []
    if row["awaiting_approval"]:
        flags.append("awaiting_approval")
    if row["open"] and now - row["updated_at"] > STALE_AFTER:
        flags.append("no_update_7_days")
    review_since = row["awaiting_review_since"]
    if review_since is not None:
        flags.append("awaiting_review")
        if now - review_since > REVIEW_DUE_WITHIN:
            flags.append("review_overdue")
    abroad_since = row["abroad_since"]
    if row["open"] and abroad_since is not None and now - abroad_since > ABROAD_TOO_LONG:
        flags.append("survivor_abroad_30_days")
    return flags


def board_row(row: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """A stored board row as the API shows it, with its flags; `dormant` when an open
    operation has had no update for 90 days."""
    now = now or datetime.now(UTC)
    return {
        "operation_id": str(row["operation_id"]),
        "open": row["open"],
        "stage": row["stage"],
        "stage_since": row["stage_since"].isoformat(),
        "seconds_in_stage": max(int((now - row["stage_since"]).total_seconds()), 0),
        "version": row["version"],
        "country": row["country"],
        "survivors": row["survivors"],
        "survivors_by_status": row["survivors_by_status"],
        "reference": row["reference"],
        "opened_at": row["opened_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "dormant": row["open"] and now - row["updated_at"] > DORMANT_AFTER,
        "flags": board_flags(row, now),
        "position": row["last_position"],
    }


def _values(summary: OperationSummary, folded: Folded, cursor: Cursor) -> tuple[Any, ...]:
    return (
        summary.operation_id,
        summary.is_open,
        summary.stage,
        folded.stage_since,
        summary.version,
        summary.country,
        len(summary.survivors),
        summary.awaiting_approval,
        summary.opened_at,
        summary.updated_at,
        cursor.epoch,
        cursor.xid,
        cursor.position,
        summary.reference,
        dict(sorted(summary.survivors_by_status.items())),
        summary.awaiting_review_since,
        summary.abroad_since,
    )


def notification_payloads(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The changed rows as NOTIFY payloads, each under PostgreSQL's size limit."""
    payloads: list[str] = []
    chunk: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        text = json.dumps(row)
        if chunk and size + len(text) > _MAX_PAYLOAD:
            payloads.append(json.dumps(chunk))
            chunk, size = [], 0
        chunk.append(row)
        size += len(text) + 1
    if chunk:
        payloads.append(json.dumps(chunk))
    return payloads


class BoardProjection:
    """Keeps `board` current and announces every changed row on `BOARD_CHANNEL` at commit."""

    name = "board"

    def __init__(
        self, folder: Folder, store: EventStore, *, announce: bool = True, cache_size: int = 5_000
    ) -> None:
        self._cache = FoldingCache(folder, store, capacity=cache_size)
        # A rebuild announces nothing: its rows are not news, and it commits once at the end.
        self._announce = announce

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Fold each event; write and announce each touched operation's latest row."""
        rows = await self.rows(events)
        if not self._announce:
            await self.write(connection, rows)
            return
        if not rows:
            return
        written = await connection.fetch(_UPSERT, *unnest.columns(rows))
        written.sort(key=lambda row: (row["last_epoch"], row["last_xid"], row["last_position"]))
        payloads = notification_payloads([board_row(row) for row in written])
        if payloads:
            # Sent at commit, so listeners only ever hear of rows that are stored.
            await connection.execute(
                "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
                BOARD_CHANNEL,
                payloads,
            )

    async def rows(self, events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        """Fold each event: the row of each touched operation after its last event here."""
        latest = await self._cache.latest(events)
        return [
            _values(self._cache.summary(folded), folded, event.cursor)
            for folded, event in latest.values()
        ]

    async def write(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Store rows from `rows`, without announcing them (a row never goes back a version)."""
        if rows:
            await connection.execute(_WRITE, *unnest.columns(rows))

    async def reset(self, connection: Connection) -> None:
        """Empty the board for a rebuild."""
        await connection.execute("DELETE FROM board")
        self._cache.forget()

    def forget(self) -> None:
        """Drop cached states after a rolled-back batch."""
        self._cache.forget()


async def board_rows_after(connection: Connection, cursor: Cursor | None) -> list[dict[str, Any]]:
    """Rows changed after `cursor` (all open rows when None), in the order they changed."""
    if cursor is None:
        rows = await connection.fetch(
            f"SELECT {COLUMNS} FROM board WHERE open "  # noqa: S608  fixed columns
            "ORDER BY last_epoch, last_xid, last_position"
        )
    else:
        rows = await connection.fetch(
            f"SELECT {COLUMNS} FROM board "  # noqa: S608  fixed columns
            "WHERE (last_epoch, last_xid, last_position) > ($1, $2::xid8, $3) "
            "ORDER BY last_epoch, last_xid, last_position",
            cursor.epoch,
            cursor.xid,
            cursor.position,
        )
    return [board_row(row) for row in rows]
