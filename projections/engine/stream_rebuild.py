"""Rebuilding a projection that folds each operation on its own, by ranges of streams, in parallel.

Folding is most of a rebuild's time and runs in Python, one processor per process. Operations are
independent of each other, so the log's streams are cut into ranges (events/store/stream_ranges.py),
and the rebuilding process and `workers - 1` helper processes (a `ProcessPoolExecutor`) each take
the next unclaimed range until none is left, folding its streams in version order. Helpers return
the rows they fold; only the rebuilding process writes, all in its one transaction, so readers see
the old rows until it commits, and a helper that fails or dies fails the rebuild, which then
changes nothing.

Each row is an operation's state after its last event up to the rebuild's end, written with the
same "never back a version" upsert as the live runner: the rows are the live projection's rows.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Protocol, runtime_checkable

from events.feed.dedicated import open_dedicated
from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from events.store.stream_ranges import StreamRange, read_range, stream_ranges
from events.verifier.findings import collector_paused

# Ranges per process: small enough that the processes finish together (the last range is the
# only one left to fold), large enough that each is an index scan of many events.
_RANGES_PER_WORKER = 16
# Folded rows waiting to be written; a fuller queue holds the folding back.
_QUEUED_PAGES = 8


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


def default_workers() -> int:
    """Processes for a rebuild: one per processor this process may use, at most four."""
    try:
        processors = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        processors = os.cpu_count() or 1
    return max(1, min(4, processors))


async def rebuild_by_streams(
    connection: Connection,
    projection: FoldsEachStream,
    store: EventStore,
    end: Cursor,
    *,
    dsn: str,
    workers: int,
    factory: ProjectionFactory | None,
    batch_size: int,
    progress: Callable[[int], None],
) -> int:
    """Fold every stream up to `end` and write the rows on `connection`; the events applied."""
    if workers > 1 and factory is None:
        raise ValueError("a rebuild by several processes needs the projection's factory")
    parts = workers * _RANGES_PER_WORKER if workers > 1 else 1
    ranges = await stream_ranges(connection, parts)
    claims = iter(range(len(ranges)))
    pages: asyncio.Queue[tuple[list[tuple[Any, ...]], int] | None] = asyncio.Queue(_QUEUED_PAGES)
    applied = 0

    async def write_pages() -> None:
        nonlocal applied
        while (page := await pages.get()) is not None:
            rows, count = page
            await projection.write(connection, rows)
            applied += count
            progress(applied)

    async def fold_here() -> None:
        async for page in fold_ranges(
            projection, store, claims, ranges=ranges, end=end, batch_size=batch_size
        ):
            await pages.put(page)

    async def fold_in_helpers(executor: ProcessPoolExecutor, work: Work) -> None:
        loop = asyncio.get_running_loop()
        while (index := next(claims, None)) is not None:
            try:
                folded = await loop.run_in_executor(executor, fold_range_in_helper, work, index)
            except BrokenProcessPool:
                raise HelperFailed(
                    f"a helper of the rebuild of {work.name} ended before it finished"
                ) from None
            for page in folded:
                await pages.put(page)

    helpers = workers - 1 if factory is not None and workers > 1 else 0
    # spawn, not fork: a helper starts from a fresh interpreter, not a copy of a running loop.
    executor = ProcessPoolExecutor(helpers, mp_context=get_context("spawn")) if helpers else None
    try:
        async with asyncio.TaskGroup() as group:
            writing = group.create_task(write_pages())
            folding = [group.create_task(fold_here())]
            if executor is not None and factory is not None:
                work = Work(projection.name, factory, dsn, ranges, end, batch_size)
                folding += [
                    group.create_task(fold_in_helpers(executor, work)) for _ in range(helpers)
                ]
            await asyncio.wait(folding)
            await pages.put(None)
            await writing
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    finally:
        if executor is not None:
            # Ranges not begun are dropped; one still being folded is waited for, off the loop.
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
    return applied


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


def fold_range_in_helper(work: Work, index: int) -> list[tuple[list[tuple[Any, ...]], int]]:
    """In a helper process: fold range `index` on a connection of its own; its pages of rows.

    A failure comes back as `HelperFailed` naming only the kind of error and where it arose:
    its message, or a traceback, could quote an event's data.
    """
    try:
        with collector_paused():  # millions of short-lived objects, no cycles
            return asyncio.run(_fold_range(work, index))
    except Exception as error:  # noqa: BLE001  any error, reported without its message
        raise HelperFailed(
            f"a helper of the rebuild of {work.name} failed: {_described(error)}"
        ) from None


async def _fold_range(work: Work, index: int) -> list[tuple[list[tuple[Any, ...]], int]]:
    connection = await open_dedicated(work.dsn, "homeward-rebuild-helper")
    try:
        store = EventStore(connection)
        projection = work.factory(store, work.name)
        if not isinstance(projection, FoldsEachStream):
            raise TypeError(f"projection {work.name} cannot be rebuilt by streams")
        return [
            page
            async for page in fold_ranges(
                projection,
                store,
                iter([index]),
                ranges=work.ranges,
                end=work.end,
                batch_size=work.batch_size,
            )
        ]
    finally:
        await connection.close()


def _described(error: BaseException) -> str:
    """The kind of error and where it arose, without its message: that could quote event data."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " < ".join(f"{frame.name} ({frame.filename}:{frame.lineno})" for frame in frames[::-1])
    return f"{type(error).__name__}" + (f" in {where}" if where else "")
