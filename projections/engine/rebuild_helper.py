"""A helper process of a parallel rebuild (projections/engine/stream_rebuild.py), which starts it as
`python -m projections.engine.rebuild_helper`; it is not run by hand.

It reads its `Work` from standard input, then asks for a range of streams at a time, folds their
events with the projection its factory builds, and sends the rows back on standard output, until
no range is left. Anything else written to standard output goes to standard error instead, so
that it cannot break the messages. If the rebuilding process goes away, its pipes close and this
process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from typing import BinaryIO

from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.verifier.findings import collector_paused
from projections.engine.frames import receive, send
from projections.engine.stream_rebuild import FoldsEachStream, Work, fold_ranges


def main() -> int:
    """Help with one rebuild; 0 once no range is left, 1 after reporting a failure."""
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        work: Work = receive(requests)
        asyncio.run(_help(work, requests, answers))
    except BaseException as error:  # noqa: BLE001  reported to the rebuilding process
        with contextlib.suppress(OSError):  # if the rebuilding process is gone, nobody is told
            send(answers, ("failed", _described(error)))
        return 1
    return 0


async def _help(work: Work, requests: BinaryIO, answers: BinaryIO) -> None:
    pool = await create_pool(work.dsn, min_size=1, max_size=2)
    try:
        store = EventStore(pool)
        projection = work.factory(store, work.name)
        if not isinstance(projection, FoldsEachStream):
            raise TypeError(f"projection {work.name} cannot be rebuilt by streams")
        claims = _ranges_given(requests, answers)
        with collector_paused():  # millions of short-lived objects, no cycles
            async for rows, count in fold_ranges(
                projection,
                store,
                claims,
                ranges=work.ranges,
                end=work.end,
                batch_size=work.batch_size,
            ):
                send(answers, ("rows", rows, count))
    finally:
        await pool.close()


def _ranges_given(requests: BinaryIO, answers: BinaryIO) -> Iterator[int]:
    """Ask for the next range each time; the rebuilding process answers None when none is left."""
    while True:
        send(answers, ("next",))
        _, index = receive(requests)
        if index is None:
            return
        yield index


def _described(error: BaseException) -> str:
    """The kind of error and where it arose, without its message: that could quote event data."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " < ".join(f"{frame.name} ({frame.filename}:{frame.lineno})" for frame in frames[::-1])
    return f"{type(error).__name__}" + (f" in {where}" if where else "")


if __name__ == "__main__":
    sys.exit(main())
