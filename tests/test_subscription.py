"""Subscriptions catch up from a cursor, then follow new events, woken across processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest

from events.feed.signal import LogSignal
from events.feed.subscription import subscribe
from events.store.envelope import Cursor, NewEvent, Recorded
from events.store.event_store import EventStore

pytestmark = pytest.mark.store


def a_note(stream: uuid.UUID, n: int) -> NewEvent:
    """A status note numbered `n`."""
    return NewEvent(
        event_id=uuid.uuid4(),
        type="StatusNoted",
        data={"note": f"{stream}-{n}"},
        occurred_at=datetime.now(UTC),
    )


async def collect(
    store: EventStore, signal: LogSignal, stream: uuid.UUID, count: int, idle_timeout: float
) -> list[Recorded]:
    """Follow the log until `count` events of `stream` were seen."""
    seen: list[Recorded] = []
    async for batch in subscribe(store, signal, idle_timeout=idle_timeout):
        seen.extend(event for event in batch if event.stream_id == stream)
        if len(seen) >= count:
            return seen
    raise AssertionError("the subscription ended")


async def test_subscription_catches_up_then_follows_live(
    store: EventStore, signal: LogSignal
) -> None:
    """Events from before the subscription and events appended during it arrive in order."""
    stream = uuid.uuid4()
    await store.append(stream, [a_note(stream, 0), a_note(stream, 1)])
    follower = asyncio.create_task(collect(store, signal, stream, 5, idle_timeout=30))
    await asyncio.sleep(0.1)
    for n in range(2, 5):
        await store.append(stream, [a_note(stream, n)])
    seen = await asyncio.wait_for(follower, 10)
    assert [event.version for event in seen] == [1, 2, 3, 4, 5]


async def test_another_process_append_wakes_the_subscriber_by_notify(
    store: EventStore, signal: LogSignal, database_url: str
) -> None:
    """An append through another process's signal wakes a reader long before its idle timeout."""
    other_signal = LogSignal()
    other_signal.start(database_url)
    other_process = EventStore(store.pool, on_append=other_signal.appended)
    stream = uuid.uuid4()
    try:
        for _ in range(100):
            if other_signal.connected and signal.connected:
                break
            await asyncio.sleep(0.05)
        follower = asyncio.create_task(collect(store, signal, stream, 1, idle_timeout=60))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await other_process.append(stream, [a_note(stream, 0)])
        await asyncio.wait_for(follower, 10)
        assert time.monotonic() - started < 5  # woken by NOTIFY, not the 60 s timeout
    finally:
        await other_signal.stop()


async def test_a_cursor_can_be_found_from_a_position_alone(store: EventStore) -> None:
    """A client that kept only a global position resumes from the exact same place."""
    stream = uuid.uuid4()
    appended = await store.append(stream, [a_note(stream, 0), a_note(stream, 1)])
    cursor = await store.cursor_at(appended.events[0].position)
    assert isinstance(cursor, Cursor)
    for _ in range(400):  # readable once no older transaction runs anywhere on the server
        after = await store.read_all(cursor, limit=1000)
        if any(e.stream_id == stream for e in after):
            break
        await asyncio.sleep(0.05)
    assert [e.event_id for e in after if e.stream_id == stream] == [appended.events[1].event_id]
    assert await store.cursor_at(-1) is None
