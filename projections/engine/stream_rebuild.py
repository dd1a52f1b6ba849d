"""Rebuilding a projection that folds each operation on its own, by ranges of streams, in parallel.

Folding is most of a rebuild's time and runs in Python, one processor per process. Operations are
independent of each other, so the log's streams are cut into ranges (events/store/stream_ranges.py),
and the rebuilding process and `workers - 1` helper processes (projections/engine/rebuild_helper.py)
each take the next unclaimed range until none is left, folding its streams in version order. Helpers
send the rows they fold back; only the rebuilding process writes, all in its one transaction, so
readers see the old rows until it commits, and a helper that fails or dies fails the rebuild, which
then changes nothing.

Helpers are plain processes (`python -m projections.engine.rebuild_helper`) rather than a
`ProcessPoolExecutor`. The executor was tried: each of its helpers imports the caller's main
module again (a script without a `__main__` guard starts over in every helper), and in interleaved
runs of ops/bench_projections.py a two-process rebuild of 100,000 events took 15 to 25% longer.

Each row is an operation's state after its last event up to the rebuild's end, written with the
same "never back a version" upsert as the live runner: the rows are the live projection's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from events.store.connection import Connection
from events.store.envelope import Cursor, Recorded
from events.store.event_store import EventStore
from events.store.stream_ranges import StreamRange, read_range, stream_ranges
from projections.engine.frames import read_frame, write_frame

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
    """What a helper is told at its start: which projection, the ranges, and where the log ends."""

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

    helpers: list[asyncio.subprocess.Process] = []
    try:
        directing = []
        if factory is not None and workers > 1:
            work = Work(projection.name, factory, dsn, ranges, end, batch_size)
            helpers = [await _start_helper() for _ in range(workers - 1)]
            directing = [
                _direct(
                    helper, f"helper {number} of the rebuild of {work.name}", work, claims, pages
                )
                for number, helper in enumerate(helpers, start=1)
            ]
        async with asyncio.TaskGroup() as group:
            writing = group.create_task(write_pages())
            folding = [group.create_task(fold_here())]
            folding += [group.create_task(direct) for direct in directing]
            await asyncio.wait(folding)
            await pages.put(None)
            await writing
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    finally:
        for helper in helpers:
            with contextlib.suppress(ProcessLookupError):
                helper.kill()
            await helper.wait()
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


async def _start_helper() -> asyncio.subprocess.Process:
    # Its standard error is dropped, as a traceback can quote an event's data: what failed, and
    # where, comes back in a message. It gets this process's import path, on which the factory's
    # module may be (a test's, say).
    path = os.pathsep.join(entry or os.curdir for entry in sys.path)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projections.engine.rebuild_helper",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": path},
    )


async def _direct(
    helper: asyncio.subprocess.Process,
    who: str,
    work: Work,
    claims: Iterator[int],
    pages: asyncio.Queue[tuple[list[tuple[Any, ...]], int] | None],
) -> None:
    """Give one helper its work and ranges as it asks for them; queue the rows it sends back."""
    assert helper.stdin is not None  # noqa: S101  piped above
    assert helper.stdout is not None  # noqa: S101
    await write_frame(helper.stdin, work)
    while True:
        try:
            message = await read_frame(helper.stdout)
        except asyncio.IncompleteReadError:
            code = await helper.wait()
            raise HelperFailed(f"{who} ended (exit code {code}) before it finished") from None
        match message:
            case ("next",):
                index = next(claims, None)
                await write_frame(helper.stdin, ("range", index))
                if index is None:
                    break
            case ("rows", rows, count):
                await pages.put((rows, count))
            case ("failed", what):
                raise HelperFailed(f"{who} failed: {what}")
            case _:
                raise HelperFailed(f"{who} sent a message it should not: {message!r}")
    if code := await helper.wait():
        raise HelperFailed(f"{who} exited with {code}")
