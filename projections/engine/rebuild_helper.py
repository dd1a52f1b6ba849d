"""The helper processes of a parallel rebuild, as a `ProcessPoolExecutor` runs them.

Each helper starts once (`start_helper`, the executor's initializer): its own event loop, one
dedicated connection and the projection its factory builds. Then `fold_range_in_helper` folds one
range of streams at a time on them, as the rebuilding process hands ranges out, and returns the
rows; a connection per range cost a tenth of a two-process rebuild. A failure comes back as
`HelperFailed` naming only the kind of error and where it arose: its message, or a traceback,
could quote an event's data.
"""

from __future__ import annotations

import asyncio
import atexit
import traceback
from typing import Any

from events.feed.dedicated import open_dedicated
from events.store.event_store import EventStore
from events.verifier.findings import collector_paused
from projections.engine.stream_folding import FoldsEachStream, HelperFailed, Work, fold_ranges

Pages = list[tuple[list[tuple[Any, ...]], int]]


class _Helper:
    """This helper process's loop, connection and projection, made when the process starts."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.loop = asyncio.new_event_loop()
        self.connection = self.loop.run_until_complete(
            open_dedicated(work.dsn, "homeward-rebuild-helper")
        )
        atexit.register(self.close)
        self.store = EventStore(self.connection)
        projection = work.factory(self.store, work.name)
        if not isinstance(projection, FoldsEachStream):
            raise TypeError(f"projection {work.name} cannot be rebuilt by streams")
        self.projection: FoldsEachStream = projection

    def fold(self, index: int) -> Pages:
        """The pages of rows of range `index`, with each page's number of events."""
        return self.loop.run_until_complete(self._fold(index))

    async def _fold(self, index: int) -> Pages:
        work = self.work
        return [
            page
            async for page in fold_ranges(
                self.projection,
                self.store,
                iter([index]),
                ranges=work.ranges,
                end=work.end,
                batch_size=work.batch_size,
            )
        ]

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close(timeout=2))
        self.loop.close()


_helper: list[_Helper] = []
"""This process's helper, once `start_helper` made it (only ever set in a helper process)."""


def start_helper(work: Work) -> None:
    """The executor's initializer: connect and build the projection, once per helper process."""
    _helper.append(_Helper(work))


def fold_range_in_helper(index: int) -> Pages:
    """In a helper process: fold range `index`; its pages of rows."""
    helper = _helper[0]
    try:
        with collector_paused():  # millions of short-lived objects, no cycles
            return helper.fold(index)
    except Exception as error:  # noqa: BLE001  any error, reported without its message
        failed = f"a helper of the rebuild of {helper.work.name} failed: {_described(error)}"
        raise HelperFailed(failed) from None


def _described(error: BaseException) -> str:
    """The kind of error and where it arose, without its message: that could quote event data."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " < ".join(f"{frame.name} ({frame.filename}:{frame.lineno})" for frame in frames[::-1])
    return f"{type(error).__name__}" + (f" in {where}" if where else "")
