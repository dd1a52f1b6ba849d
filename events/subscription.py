"""A subscription to the whole log: catch up from a cursor, then follow new events live.

It reads in global order through `EventStore.read_all`, which never returns an event while an
older transaction is still running. When a read comes back empty although later events exist
(committed behind a still-running transaction), it retries with a short growing pause; otherwise
it sleeps until woken by the `LogSignal` or until `idle_timeout`, never in a tight loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from events.envelope import START, Cursor, Recorded
from events.signal import LogSignal
from events.store import EventStore

_FIRST_PAUSE = 0.002
_LONGEST_PAUSE = 0.1


async def subscribe(
    store: EventStore,
    signal: LogSignal,
    after: Cursor = START,
    *,
    batch_size: int = 500,
    idle_timeout: float = 1.0,
) -> AsyncIterator[list[Recorded]]:
    """Yield batches of events after `after`, forever, in global order and without gaps."""
    waker = signal.register()
    pause = 0.0
    try:
        while True:
            waker.clear()
            batch = await store.read_all(after, limit=batch_size)
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
