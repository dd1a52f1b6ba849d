"""The projection runner: exactly-once application, one leader, crashes, late commits, rebuild."""

from __future__ import annotations

import asyncio
import os
import signal as signals
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from events.store.migrate import migrate
from projections.engine.rebuild import ProjectionBusy, rebuild
from projections.engine.runner import ProjectionRunner
from tests.counting_projection import SCHEMA, CountingProjection
from tests.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fresh(server_url: str) -> AsyncIterator[tuple[str, EventStore, LogSignal]]:
    """A database of its own with the counting projection's tables, a store and a signal."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.execute(SCHEMA)
    await connection.close()
    pool = await create_pool(url, min_size=1, max_size=10)
    signal = LogSignal()
    signal.start(url)
    yield url, EventStore(pool, on_append=signal.appended), signal
    await signal.stop()
    await pool.close()
    await drop_database(server_url, url)


async def append_notes(store: EventStore, count: int) -> None:
    """Append `count` notes, one per stream."""
    for n in range(count):
        event = NewEvent(uuid.uuid4(), "StatusNoted", {"note": f"n{n}"}, datetime.now(UTC))
        await store.append(uuid.uuid4(), [event])


async def counted(url: str) -> tuple[int, int, int]:
    """(events counted once, events counted more than once, running total)."""
    connection = await asyncpg.connect(url)
    try:
        once = await connection.fetchval("SELECT count(*) FROM counted_events WHERE applied = 1")
        more = await connection.fetchval("SELECT count(*) FROM counted_events WHERE applied > 1")
        total = await connection.fetchval("SELECT total FROM counted_total")
        return int(once), int(more), int(total)
    finally:
        await connection.close()


async def wait_until(predicate: object, seconds: float = 20) -> None:
    """Poll an async predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def _readable(store: EventStore, count: int) -> bool:
    return len(await store.read_all(limit=count + 1)) >= count


async def _leads(runner: ProjectionRunner) -> bool:
    return runner.leading


async def test_a_runner_catches_up_then_follows_live(
    fresh: tuple[str, EventStore, LogSignal],
) -> None:
    """Events from before and after the runner started are each applied once."""
    url, store, signal = fresh
    await append_notes(store, 30)
    runner = ProjectionRunner(CountingProjection(), store, signal, url, batch_size=8)
    task = asyncio.create_task(runner.run())
    try:
        await append_notes(store, 20)

        async def all_counted() -> bool:
            return (await counted(url))[2] == 50

        await wait_until(all_counted)
        assert await counted(url) == (50, 0, 50)
    finally:
        task.cancel()


async def test_two_runners_never_both_advance_and_the_second_takes_over(
    fresh: tuple[str, EventStore, LogSignal],
) -> None:
    """Only one of two runners leads; when it stops, the other carries on without repeats."""
    url, store, signal = fresh
    first = ProjectionRunner(CountingProjection(), store, signal, url, batch_size=5)
    second = ProjectionRunner(CountingProjection(), store, signal, url, batch_size=5)
    first_task = asyncio.create_task(first.run())
    await wait_until(lambda: _leads(first))
    second_task = asyncio.create_task(second.run())
    await append_notes(store, 20)
    await asyncio.sleep(0.5)
    assert first.leading
    assert not second.leading
    first_task.cancel()
    await asyncio.gather(first_task, return_exceptions=True)
    await append_notes(store, 20)

    async def all_counted() -> bool:
        return (await counted(url))[2] == 40

    await wait_until(all_counted)
    assert second.leading
    assert await counted(url) == (40, 0, 40)
    second_task.cancel()


async def test_a_process_killed_mid_batch_neither_loses_nor_repeats(
    fresh: tuple[str, EventStore, LogSignal],
) -> None:
    """SIGKILL while a batch is half applied: the next leader applies every event exactly once."""
    url, store, signal = fresh
    await append_notes(store, 25)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.counting_projection",
        url,
        "30",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        line = b""
        while line.strip() != b"PAUSED":  # rows of a 7-event batch written, not committed
            line = await asyncio.wait_for(child.stdout.readline(), 30)
            assert line, "the projection process ended before pausing"
        child.send_signal(signals.SIGKILL)
        await asyncio.wait_for(child.wait(), 10)
    finally:
        if child.returncode is None:
            child.kill()
    assert (await counted(url))[2] == 0
    runner = ProjectionRunner(CountingProjection(), store, signal, url, batch_size=7)
    task = asyncio.create_task(runner.run())
    try:

        async def all_counted() -> bool:
            return (await counted(url))[2] >= 25

        await wait_until(all_counted)
        assert await counted(url) == (25, 0, 25)
    finally:
        task.cancel()


async def test_events_committed_out_of_order_are_all_projected(
    fresh: tuple[str, EventStore, LogSignal],
) -> None:
    """Writers whose commits interleave out of position order are each projected once."""
    url, store, signal = fresh
    runner = ProjectionRunner(CountingProjection(), store, signal, url, batch_size=3)
    task = asyncio.create_task(runner.run())
    pool = store.pool
    assert isinstance(pool, asyncpg.Pool)

    async def slow_writer(n: int) -> None:
        async with pool.acquire() as connection, connection.transaction():
            event = NewEvent(uuid.uuid4(), "StatusNoted", {"note": f"w{n}"}, datetime.now(UTC))
            await EventStore(connection).append(uuid.uuid4(), [event])
            await asyncio.sleep((n % 5) * 0.03)
        signal.appended()

    try:
        await asyncio.gather(*(slow_writer(n) for n in range(60)))

        async def all_counted() -> bool:
            return (await counted(url))[2] >= 60

        await wait_until(all_counted)
        assert await counted(url) == (60, 0, 60)
    finally:
        task.cancel()


async def test_rebuild_is_refused_while_a_runner_leads(
    fresh: tuple[str, EventStore, LogSignal],
) -> None:
    """A rebuild does not fight a running service for the projection."""
    url, store, signal = fresh
    runner = ProjectionRunner(CountingProjection(), store, signal, url)
    task = asyncio.create_task(runner.run())
    try:
        await wait_until(lambda: _leads(runner))
        with pytest.raises(ProjectionBusy):
            await rebuild(CountingProjection(), store, url)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_rebuild_counts_every_event_once(fresh: tuple[str, EventStore, LogSignal]) -> None:
    """A rebuild from the start of the log ends with each event applied exactly once."""
    url, store, _signal = fresh
    await append_notes(store, 45)
    # A rebuild reads what is readable: wait until no transaction elsewhere on the server
    # holds these events back (other test runs may share it).
    await wait_until(lambda: _readable(store, 45))
    applied = await rebuild(CountingProjection(), store, url, batch_size=10)
    assert applied == 45
    assert await counted(url) == (45, 0, 45)
    await rebuild(CountingProjection(), store, url, batch_size=10)
    assert await counted(url) == (45, 0, 45)
