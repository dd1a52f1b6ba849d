"""The latest run of the log as read in global order, kept so a process reads each event once.

Every projection follows the log on its own (its own leader lock, checkpoint and pace), and
without this each event would be read from the database and decoded once per projection: five
times in the service. A read of the whole log after cursor C returns events that are final: no
event can later appear between C and the last one returned (`EventStore.read_all` reads only
what every running transaction is newer than). So the events read after C stay true as one run
starting at C; the next read that starts at the run's end extends it, and a reader whose cursor
lies within the run is served what follows from memory, exactly what the database would give.

A reader behind the run (catching up) or ahead of it reads from the database as before. The run
keeps at most `capacity` events, dropping the oldest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from events.store.envelope import Cursor, Recorded

Read = Callable[[Cursor, int], Awaitable[list[Recorded]]]
"""A read of the database: up to a number of events after a cursor (`EventStore.read_all`'s)."""

TAIL_READ = 500
"""How many events a read of what follows the run asks for at least, whatever its first reader
needs: those it does not take stay in the run for the others."""


class RecentLog:
    """One gap-free run of the log's events, in global order, after a starting cursor."""

    def __init__(self, capacity: int = 2_000) -> None:
        self._capacity = capacity
        self._start: Cursor | None = None
        self._events: list[Recorded] = []
        # Where each cursor of the run is: the start at 0, each event's own after it.
        self._next: dict[Cursor, int] = {}
        # The read of what follows the run's end under way, if any.
        self._pending: tuple[Cursor, asyncio.Future[list[Recorded]]] | None = None

    def __len__(self) -> int:
        return len(self._events)

    @property
    def end(self) -> Cursor | None:
        """The cursor after which the run knows nothing yet (None before the first read)."""
        return self._events[-1].cursor if self._events else self._start

    async def read(self, after: Cursor, limit: int, database: Read) -> list[Recorded]:
        """Up to `limit` events after `after`, as `database` would give them: those the run
        holds, and the rest (if any) read from `database` after the run's end, extending it.

        Readers that reach the run's end together (every projection is woken by the same
        append) share one read of the database from there.
        """
        known = self.after(after, limit) or []
        if len(known) == limit:
            return known
        start = known[-1].cursor if known else after
        if start != self.end:
            read = await database(start, limit - len(known))
            self.extend(start, read)
            return known + read
        return (
            known + (await self._read_on(start, limit - len(known), database))[: limit - len(known)]
        )

    async def _read_on(self, end: Cursor, limit: int, database: Read) -> list[Recorded]:
        """What follows the run's end, read once for every reader waiting there. A reader
        joining a read under way takes what it gives: the events readable a moment ago, all
        of them unless that read's own limit cut them short (the reader then reads on)."""
        pending = self._pending
        if pending is None or pending[0] != end or pending[1].done():
            wanted = max(limit, TAIL_READ)
            pending = (end, asyncio.ensure_future(self._extended(end, wanted, database)))
            self._pending = pending
        return await asyncio.shield(pending[1])

    async def _extended(self, end: Cursor, limit: int, database: Read) -> list[Recorded]:
        read = await database(end, limit)
        self.extend(end, read)
        return read

    def after(self, cursor: Cursor, limit: int) -> list[Recorded] | None:
        """Up to `limit` events after `cursor`, or None if the run cannot tell (the cursor is
        outside it, or at its end)."""
        index = self._next.get(cursor)
        if index is None or index == len(self._events):
            return None
        return self._events[index : index + limit]

    def extend(self, after: Cursor, events: Sequence[Recorded]) -> None:
        """Take what a read of the database after `after` returned."""
        if not events:
            return
        end = self.end
        if end is None or after > end:
            # The first read, or one beyond the run (a reader ahead of it): a new run starts.
            self._start, self._events, self._next = after, [], {after: 0}
        elif after != end:
            return  # a reader behind the run, or one that read the same events as another
        for event in events:
            self._events.append(event)
            self._next[event.cursor] = len(self._events)
        if len(self._events) > self._capacity:
            self._drop_oldest(len(self._events) - self._capacity // 2)

    def _drop_oldest(self, count: int) -> None:
        self._start = self._events[count - 1].cursor
        self._events = self._events[count:]
        self._next = {self._start: 0}
        for index, event in enumerate(self._events, start=1):
            self._next[event.cursor] = index
