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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from events.store.connection import Connection
from events.store.envelope import Cursor
from events.store.event_store import EventStore
from events.store.stream_ranges import stream_ranges
from projections.engine.rebuild_helper import fold_range_in_helper, start_helper
from projections.engine.stream_folding import (
    FoldsEachStream,
    HelperFailed,
    ProjectionFactory,
    Work,
    fold_ranges,
)

# Ranges per process: small enough that the processes finish together (the last range is the
# only one left to fold), large enough that each is an index scan of many events.
_RANGES_PER_WORKER = 16
# Folded rows waiting to be written; a fuller queue holds the folding back.
_QUEUED_PAGES = 8


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
                folded = await loop.run_in_executor(executor, fold_range_in_helper, index)
            except BrokenProcessPool:
                raise HelperFailed(
                    f"a helper of the rebuild of {work.name} ended before it finished"
                ) from None
            for page in folded:
                await pages.put(page)

    helpers = workers - 1 if factory is not None and workers > 1 else 0
    # spawn, not fork: a helper starts from a fresh interpreter, not a copy of a running loop.
    executor = None
    if factory is not None and helpers:
        work = Work(projection.name, factory, dsn, ranges, end, batch_size)
        executor = ProcessPoolExecutor(
            helpers, mp_context=get_context("spawn"), initializer=start_helper, initargs=(work,)
        )
    try:
        async with asyncio.TaskGroup() as group:
            writing = group.create_task(write_pages())
            folding = [group.create_task(fold_here())]
            if executor is not None:
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
