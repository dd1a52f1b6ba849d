"""The projection runner: catch up from the checkpoint, then follow the log, one leader at a time.

Each projection is advanced by exactly one process: the one holding its session advisory lock on
a dedicated connection. That connection also writes the projection's rows and checkpoint, in one
transaction per batch (invariant 4), so when a process dies its lock is released and its
unfinished batch rolled back together, and another process takes over from the checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import asyncpg
import structlog

from events.feed.dedicated import Leadership, keep_dedicated, lock_key
from events.feed.signal import LogSignal
from events.feed.subscription import subscribe
from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from projections.engine.positions import load_checkpoint, save_checkpoint

log = structlog.get_logger(__name__)

_RETRY_SECONDS = 1.0


class Projection(Protocol):
    """A read model: a name, and how to apply a batch of events and to start again."""

    name: str

    async def apply(self, connection: Connection, events: Sequence[Recorded]) -> None:
        """Apply `events` (in global order) with idempotent writes on `connection`."""

    async def reset(self, connection: Connection) -> None:
        """Remove every row, before a rebuild from the start of the log."""

    def forget(self) -> None:
        """Drop in-memory state after a batch failed (its writes were rolled back)."""


def projection_lock(name: str) -> int:
    """The advisory lock that makes one process the leader of projection `name`."""
    return lock_key(f"homeward-projection:{name}")


async def apply_batch(
    connection: Connection, projection: Projection, events: Sequence[Recorded]
) -> None:
    """Apply a batch and move the checkpoint in one transaction."""
    try:
        async with connection.transaction():
            await projection.apply(connection, events)
            await save_checkpoint(connection, projection.name, events[-1].cursor, len(events))
    except BaseException:
        projection.forget()
        raise


class ProjectionRunner:
    """Keeps one projection current while this process is its leader."""

    def __init__(
        self,
        projection: Projection,
        store: EventStore,
        signal: LogSignal,
        dsn: str,
        *,
        batch_size: int = 500,
        gather_seconds: float = 0.0,
        on_committed: Callable[[Sequence[Recorded]], Awaitable[None]] | None = None,
    ) -> None:
        self.projection = projection
        self._store = store
        self._signal = signal
        self._dsn = dsn
        self._batch_size = batch_size
        # A projection nobody watches live may wait this long after a batch, so that under a
        # steady stream of appends it applies several per transaction instead of one each,
        # leaving the processor to the board, which is watched live.
        self._gather_seconds = gather_seconds
        self._on_committed = on_committed
        self.leading = False
        self.cursor: Cursor | None = None

    async def run(self) -> None:
        """Run forever: wait to lead, then project; start again after any failure."""
        await keep_dedicated(
            self._dsn,
            self._project,
            name="projection",
            leadership=Leadership(projection_lock(self.projection.name)),
            retry_seconds=_RETRY_SECONDS,
            projection=self.projection.name,
        )

    async def _project(self, connection: asyncpg.Connection) -> None:
        """As the leader: catch up from the checkpoint, then follow the log."""
        self.leading = True
        try:
            log.info("projection_leading", projection=self.projection.name)
            self.projection.forget()
            self.cursor = await load_checkpoint(connection, self.projection.name)
            async for batch in subscribe(
                self._store, self._signal, self.cursor, batch_size=self._batch_size
            ):
                await apply_batch(connection, self.projection, batch)
                self.cursor = batch[-1].cursor
                if self._on_committed is not None:
                    await self._on_committed(batch)
                if self._gather_seconds and len(batch) < self._batch_size:
                    await asyncio.sleep(self._gather_seconds)
        finally:
            self.leading = False
