"""A subscription to the whole log: catch up from a cursor, then follow new events live.

It reads in global order through `EventStore.read_all` (or another reader of the store, such as
`read_all_hashes`), which never returns an event while an older transaction is still running.
When a read comes back empty although later events exist (committed behind a still-running
transaction), it retries with a short growing pause; otherwise it sleeps until woken by the
`LogSignal` or until `idle_timeout`, never in a tight loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol, TypeVar

from events.feed.signal import LogSignal
from events.store.envelope import START, Cursor, Recorded
from events.store.event_store import EventStore

_FIRST_PAUSE = 0.002
_LONGEST_PAUSE = 0.1


class InLog(Protocol):
    """Anything read from the log in global order: it knows its cursor."""

    @property
    def cursor(self) -> Cursor:
        """Its place in the global order."""
        ...


Item = TypeVar("Item", bound=InLog)


class Reader(Protocol[Item]):
    """A read of up to `limit` items of the log after a cursor, like `EventStore.read_all`."""

    def __call__(self, after: Cursor, *, limit: int) -> Awaitable[list[Item]]:
        """Read the next items."""
        ...


async def subscribe(
    store: EventStore,
    signal: LogSignal,
    after: Cursor = START,
    *,
    batch_size: int = 500,
    idle_timeout: float = 1.0,
) -> AsyncIterator[list[Recorded]]:
    """Yield batches of events after `after`, forever, in global order and without gaps."""
    async for batch in subscribe_with(
        store.read_all, store, signal, after, batch_size=batch_size, idle_timeout=idle_timeout
    ):
        yield batch


async def subscribe_with(
    read: Reader[Item],
    store: EventStore,
    signal: LogSignal,
    after: Cursor = START,
    *,
    batch_size: int = 500,
    idle_timeout: float = 1.0,
) -> AsyncIterator[list[Item]]:
    """As `subscribe`, reading with `read` (for example `store.read_all_hashes`)."""
    waker = signal.register()
    pause = 0.0
    try:
        while True:
            waker.clear()
            batch = await read(after, limit=batch_size)
            if batch:
                pause = 0.0
                after = batch[-1].cursor
                yield batch
                continue
            if await store.has_unreadable(after):
                pause = min(max(pause * 2, _FIRST_PAUSE), _LONGEST_PAUSE)
                await asyncio.sleep(pause)
                continue
            await waker.wait(idle_timeout)
    finally:
        signal.unregister(waker)
