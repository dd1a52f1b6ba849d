"""Folding a projection by ranges of streams: what a rebuild's processes share.

A projection whose rows are each one operation's state (`FoldsEachStream`) can fold any range of
streams on its own. The rebuilding process and its helpers (projections/engine/rebuild_helper.py)
take ranges one at a time and fold them with `fold_ranges`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from events.store.stream_ranges import StreamRange, read_range


@runtime_checkable
class FoldsEachStream(Protocol):
    """A projection whose rows are each one operation's state: it can be rebuilt by streams."""

    name: str

    async def rows(self, events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        """Fold `events` (each stream's in version order): each touched operation's row."""

    async def write(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Store `rows`, keeping an operation's row of a later version where there is one."""


ProjectionFactory = Callable[[EventStore, str], Any]
"""Builds the projection of a given name on a store, in a helper process: a module-level
function, which the helper imports by name (keep its module light: the helper starts faster)."""


@dataclass(frozen=True, slots=True)
class Work:
    """What a helper is given with each range: the projection, the ranges, where the log ends."""

    name: str
    factory: ProjectionFactory
    dsn: str
    ranges: Sequence[StreamRange]
    end: Cursor
    batch_size: int


class HelperFailed(RuntimeError):
    """A helper process of a parallel rebuild failed or died; the rebuild changed nothing."""


async def fold_ranges(
    projection: FoldsEachStream,
    store: EventStore,
    claims: Iterator[int],
    *,
    ranges: Sequence[StreamRange],
    end: Cursor,
    batch_size: int,
) -> AsyncIterator[tuple[list[tuple[Any, ...]], int]]:
    """Take ranges from `claims` until none is left; per page of their events, rows and size."""
    for index in claims:
        after: Recorded | None = None
        part = ranges[index]
        while page := await read_range(store.pool, part, end, after=after, limit=batch_size):
            yield await projection.rows(page), len(page)
            after = page[-1]
