"""The event store: append to an operation's stream, read it back, read the whole log in order.

An append is one round trip (events/store/appending.py). Readers of the whole log see only rows
whose writing transaction is older than every running one, ordered by (epoch, transaction id,
position), so an event that commits late with a low position is never skipped (invariant 3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from events.store.appending import StreamHeads, StreamWriter, stream_version
from events.store.connection import Queryable, create_pool, translate_errors
from events.store.envelope import START, Appended, Cursor, Logged, NewEvent, Recorded
from events.store.recent_log import RecentLog
from events.store.rows import RECORD_COLUMNS, records

# Readers of the whole log: only rows whose transaction is older than every running one (or of an
# older epoch), in (epoch, xid, position) order, served by events_global_order.
_READABLE = "(xid < pg_snapshot_xmin(pg_current_snapshot()) OR epoch < current_log_epoch())"
_READABLE_AFTER = f"""
WHERE (epoch, xid, position) > ($1, $2::xid8, $3) AND {_READABLE}
ORDER BY epoch, xid, position LIMIT $4
"""


class EventStore:
    """Append-only streams of events, one per rescue operation, on PostgreSQL."""

    def __init__(
        self,
        pool: Queryable,
        *,
        on_append: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._on_append = on_append
        self._clock = clock
        self._heads = StreamHeads(enabled=isinstance(pool, asyncpg.Pool))
        # Shared by the process's readers of the whole log (a store on one connection, inside a
        # transaction, reads for itself).
        self._recent = RecentLog() if isinstance(pool, asyncpg.Pool) else None
        self._writer = StreamWriter(pool, self._heads, on_append=on_append, clock=clock)

    @property
    def pool(self) -> Queryable:
        """What the store reads and writes through: a pool, or one connection (in a transaction)."""
        return self._pool

    async def append(
        self,
        stream_id: UUID,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
    ) -> Appended:
        """Append `events` to a stream atomically.

        With `expected_version` the append succeeds only if the stream is at that version
        (0 for a new stream), else it raises `VersionConflict`. Re-sending events already
        appended with the same content appends nothing and answers as the first time; an
        event id recorded with other content raises `DuplicateEventConflict`.
        """
        return await self._writer.append(stream_id, events, expected_version)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[tuple[EventStore, Queryable]]:
        """A store on one connection inside a transaction, and that connection, for an append
        that must commit together with rows of the caller's (or not at all). Its appends are
        announced once the transaction has committed."""
        if not isinstance(self._pool, asyncpg.Pool):
            raise TypeError("a store on one connection is in its caller's transaction already")
        async with self._pool.acquire() as connection, connection.transaction():
            yield EventStore(connection, clock=self._clock), connection
        if self._on_append is not None:
            self._on_append()

    async def stream_version(self, stream_id: UUID) -> int:
        """The stream's current version: the number of events in it (0 if it has none)."""
        return await stream_version(self._pool, stream_id)

    async def read_stream(
        self, stream_id: UUID, *, from_version: int = 1, limit: int | None = None
    ) -> list[Recorded]:
        """A stream's events in version order, from `from_version` on."""
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 "  # noqa: S608  fixed column list
                "ORDER BY version LIMIT $3",
                stream_id,
                from_version,
                limit,
            )
        events = records(rows)
        if events:
            self._heads.remember(stream_id, events[-1].version, events[-1].hash)
        return events

    async def find_events(self, event_ids: Sequence[UUID]) -> list[Recorded]:
        """The recorded events among `event_ids`, in any stream (to recognise a re-send)."""
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[]) "  # noqa: S608  fixed column list
                "ORDER BY stream_id, version",
                list(event_ids),
            )
        return records(rows)

    async def read_all(self, after: Cursor = START, *, limit: int = 500) -> list[Recorded]:
        """Up to `limit` events of the whole log after `after`, in global order.

        Only events whose transaction is older than every transaction still running are read;
        anything newer waits for the next read, so nothing is ever skipped. What another reader
        of this process read already comes from memory (events/store/recent_log.py): the same
        events, shared, so readers must not change them.
        """
        if self._recent is not None:
            return await self._recent.read(after, limit, self._read_all)
        return await self._read_all(after, limit)

    async def _read_all(self, after: Cursor, limit: int) -> list[Recorded]:
        with translate_errors():
            rows = await self._pool.fetch(
                f"SELECT {RECORD_COLUMNS} FROM events {_READABLE_AFTER}",  # noqa: S608  fixed text
                after.epoch,
                after.xid,
                after.position,
                limit,
            )
        return records(rows)

    async def read_all_hashes(self, after: Cursor = START, *, limit: int = 500) -> list[Logged]:
        """As `read_all`, but only each event's place and hash (what the Merkle log needs)."""
        with translate_errors():
            rows = await self._pool.fetch(
                "SELECT epoch, xid, position, stream_id, version, hash "  # noqa: S608  fixed text
                f"FROM events {_READABLE_AFTER}",
                after.epoch,
                after.xid,
                after.position,
                limit,
            )
        return [
            Logged(
                Cursor(row["epoch"], row["xid"], row["position"]),
                row["position"],
                row["stream_id"],
                row["version"],
                bytes(row["hash"]),
            )
            for row in rows
        ]

    async def has_unreadable(self, after: Cursor) -> bool:
        """Whether events past `after` are committed but held back by an older transaction."""
        # Asked of the last event in global order (events_global_order, read backwards), not as
        # EXISTS (... > after): the prepared statement's generic plan guessed that a third of the
        # log matches and scanned it whole, 40 ms at 100,000 events, at every idle read.
        with translate_errors():
            found = await self._pool.fetchval(
                "SELECT (epoch, xid, position) > ($1, $2::xid8, $3) FROM events "
                "ORDER BY epoch DESC, xid DESC, position DESC LIMIT 1",
                after.epoch,
                after.xid,
                after.position,
            )
        return bool(found)

    async def cursor_at(self, position: int) -> Cursor | None:
        """The cursor of the event at a global position (to resume from a position alone)."""
        with translate_errors():
            row = await self._pool.fetchrow(
                "SELECT epoch, xid, position FROM events WHERE position = $1", position
            )
        return None if row is None else Cursor(row["epoch"], row["xid"], row["position"])

    async def head(self) -> Cursor:
        """The cursor of the last readable event (START for an empty log)."""
        with translate_errors():
            row = await self._pool.fetchrow(
                f"SELECT epoch, xid, position FROM events WHERE {_READABLE} "  # noqa: S608  fixed text
                "ORDER BY epoch DESC, xid DESC, position DESC LIMIT 1"
            )
        return START if row is None else Cursor(row["epoch"], row["xid"], row["position"])

    async def reader_lag_seconds(self) -> float:
        """Age of the oldest running transaction that writes: how long readers may be held."""
        with translate_errors():
            age = await self._pool.fetchval(
                "SELECT coalesce(extract(epoch FROM max(now() - xact_start)), 0) "
                "FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
            )
        return float(age)


@asynccontextmanager
async def open_store(dsn: str, **pool_options: Any) -> AsyncIterator[EventStore]:
    """A store on its own pool, closed on exit (for scripts and tests)."""
    pool = await create_pool(dsn, **pool_options)
    try:
        yield EventStore(pool)
    finally:
        await pool.close()
