"""Group commit: one-event appends that arrive together are written by one statement.

Under load many field teams append at once, each one event to its own operation. Written one
statement each, every append pays a round trip, a statement and a commit (a flush of the
write-ahead log). Here such an append (the store's fast path, its chain already computed) joins
a queue; while one write is in flight the queue fills, and the next write takes the whole queue
in one INSERT: one round trip, one transaction, one commit. A lone append is written at once,
as before; nothing waits for a timer.

The INSERT skips a row that a unique constraint refuses (ON CONFLICT DO NOTHING) rather than
failing its neighbours: the append of a skipped row was not written, and the store decides it
again on its careful path (a re-send, an id taken with other content, or a version conflict).
A group is one transaction, so its rows commit all together or not at all; an error that fails
the statement (the database gone) fails every append of the group, and none is acknowledged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from events.store import unnest

# The events table's columns, in the order of a row handed to `GroupCommit.insert`.
COLUMNS = (
    "event_id, stream_id, version, type, schema_version, data, metadata, occurred_at, "
    "recorded_at, content_hash, prev_hash, hash"
)
_INSERT_GROUP = f"""
INSERT INTO events ({COLUMNS})
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::text[], $5::integer[],
                     $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::timestamptz[],
                     $10::bytea[], $11::bytea[], $12::bytea[])
ON CONFLICT DO NOTHING
RETURNING event_id, version, position, hash
"""  # noqa: S608  the column list is our constant
_WIDTH = 12
# A bound on one statement's size; a longer queue is written by the following statements.
MAX_GROUP = 500


@dataclass(frozen=True, slots=True)
class Written:
    """Where a written event landed."""

    event_id: UUID
    version: int
    position: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class _Pending:
    row: tuple[Any, ...]
    done: asyncio.Future[Written | None]


class GroupCommit:
    """Writes queued event rows of one pool, a statement per group."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0
        self.rows = 0

    async def insert(self, row: tuple[Any, ...]) -> Written | None:
        """Write one event row (columns as `COLUMNS`) with whatever else is queued.

        Returns where it landed, or None when a unique constraint refused it (nothing written).
        Raises the driver's error when the group's statement failed.
        """
        if len(row) != _WIDTH:
            raise ValueError(f"an event row has {_WIDTH} columns, not {len(row)}")
        loop = asyncio.get_running_loop()
        pending = _Pending(row, loop.create_future())
        self._queue.append(pending)
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        # Shielded: a caller that gives up (its client went away) does not stop the group.
        return await asyncio.shield(pending.done)

    async def _write(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                try:
                    columns = unnest.columns(p.row for p in group)
                    rows = await self._pool.fetch(_INSERT_GROUP, *columns)
                except Exception as error:  # noqa: BLE001  every waiter gets the error instead
                    for pending in group:
                        if not pending.done.done():
                            pending.done.set_exception(error)
                    continue
                except asyncio.CancelledError:  # the loop is closing: nobody is answered
                    for pending in group + self._queue:
                        pending.done.cancel()
                    self._queue = []
                    raise
                self.groups += 1
                self.rows += len(rows)
                written = {
                    row["event_id"]: Written(
                        row["event_id"], row["version"], row["position"], bytes(row["hash"])
                    )
                    for row in rows
                }
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_result(written.get(pending.row[0]))
        finally:
            self._writer = None
