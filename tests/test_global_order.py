"""Readers of the whole log never skip an event that commits late (invariant 3)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.feed.subscription import subscribe
from events.store.connection import create_pool
from events.store.envelope import START, Cursor, NewEvent, Recorded
from events.store.event_store import EventStore
from events.store.migrate import migrate
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.store


@pytest.fixture
async def empty_store(server_url: str) -> AsyncIterator[EventStore]:
    """A store on a database of its own, so the whole log holds only this test's events."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.close()
    pool = await create_pool(url, min_size=1, max_size=8)
    yield EventStore(pool)
    await pool.close()
    await drop_database(server_url, url)


def an_event(label: str) -> NewEvent:
    """A status note labelled so the test can tell events apart."""
    return NewEvent(
        event_id=uuid.uuid4(),
        type="StatusNoted",
        data={"note": label},
        occurred_at=datetime.now(UTC),
    )


def labels(events: list[Recorded]) -> list[str]:
    """The notes of `events`, in the order read."""
    return [event.data["note"] for event in events]


async def read_everything(store: EventStore, after: Cursor = START) -> list[Recorded]:
    """Read the whole readable log after `after`, a small page at a time."""
    found: list[Recorded] = []
    while batch := await store.read_all(after, limit=2):
        found.extend(batch)
        after = batch[-1].cursor
    return found


async def read_at_least(store: EventStore, count: int, after: Cursor = START) -> list[Recorded]:
    """Read until `count` events are readable: any transaction still open anywhere on the server
    (another test run, say) holds readers back until it ends, but never makes them skip."""
    deadline = asyncio.get_running_loop().time() + 20
    while len(found := await read_everything(store, after)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(found)} readable"
        await asyncio.sleep(0.05)
    return found


async def test_an_event_committed_late_with_a_lower_position_is_not_skipped(
    empty_store: EventStore,
) -> None:
    """A transaction that inserts first but commits last is read before the ones after it."""
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)
    async with pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        await EventStore(slow).append(uuid.uuid4(), [an_event("slow")])
        await empty_store.append(uuid.uuid4(), [an_event("fast")])

        seen = await read_everything(empty_store)
        assert labels(seen) == []  # "fast" waits: an older transaction is still running

        await transaction.commit()
    seen = await read_at_least(empty_store, 2)
    assert labels(seen) == ["slow", "fast"]
    assert seen[0].position < seen[1].position
    # Another reader is served the same from the run the first one read (recent_log.py), and a
    # store that keeps nothing (on one connection) reads the same from the database.
    assert await empty_store.read_all(START, limit=10) == seen
    async with pool.acquire() as connection:
        assert await EventStore(connection).read_all(START, limit=10) == seen


async def test_a_reader_that_read_before_the_late_commit_still_gets_it(
    empty_store: EventStore,
) -> None:
    """A cursor taken before the late commit resumes and finds the late event."""
    await empty_store.append(uuid.uuid4(), [an_event("before")])
    first = await read_at_least(empty_store, 1)
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)
    async with pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        await EventStore(slow).append(uuid.uuid4(), [an_event("slow")])
        await empty_store.append(uuid.uuid4(), [an_event("fast")])
        assert labels(await read_everything(empty_store, first[-1].cursor)) == []
        await transaction.commit()
    rest = await read_at_least(empty_store, 2, first[-1].cursor)
    assert labels(first) + labels(rest) == ["before", "slow", "fast"]


async def test_order_follows_transactions_not_positions(empty_store: EventStore) -> None:
    """When the older transaction inserts later, its event is read first, higher position or not."""
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)
    async with pool.acquire() as older, pool.acquire() as younger:
        older_tx = older.transaction()
        await older_tx.start()
        await older.fetchval("SELECT pg_current_xact_id()")  # takes its transaction id now
        younger_tx = younger.transaction()
        await younger_tx.start()
        await EventStore(younger).append(uuid.uuid4(), [an_event("younger")])
        await EventStore(older).append(uuid.uuid4(), [an_event("older")])
        await younger_tx.commit()
        assert labels(await read_everything(empty_store)) == []
        await older_tx.commit()
    seen = await read_at_least(empty_store, 2)
    assert labels(seen) == ["older", "younger"]
    assert seen[0].position > seen[1].position


async def test_an_event_whose_transaction_is_xmin_is_not_read_until_it_commits(
    empty_store: EventStore,
) -> None:
    """An event written by the oldest running transaction (xid = xmin) waits for its commit."""
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)
    async with pool.acquire() as writer:
        for _ in range(200):  # until no older transaction runs anywhere on the server
            transaction = writer.transaction()
            await transaction.start()
            await EventStore(writer).append(uuid.uuid4(), [an_event("at xmin")])
            xid = await writer.fetchval("SELECT pg_current_xact_id()::text::bigint")
            xmin = await pool.fetchval(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            )
            if xid == xmin:
                break
            await transaction.rollback()
            await asyncio.sleep(0.05)
        assert xid == xmin
        assert labels(await read_everything(empty_store)) == []
        await transaction.commit()
    assert labels(await read_at_least(empty_store, 1)) == ["at xmin"]


async def test_many_interleaved_writers_are_all_read_exactly_once(
    empty_store: EventStore,
) -> None:
    """Under concurrent appends with random commit delays a follower reads each event once."""
    signal = LogSignal()
    store = EventStore(empty_store.pool, on_append=signal.appended)
    expected = 200
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)

    async def writer(n: int) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await EventStore(connection).append(uuid.uuid4(), [an_event(f"e{n}")])
            await asyncio.sleep((n * 7919 % 13) / 1000)
        signal.appended()

    seen: list[str] = []

    async def follow() -> None:
        async for batch in subscribe(store, signal, idle_timeout=0.05):
            seen.extend(labels(batch))
            if len(seen) >= expected:
                return

    follower = asyncio.create_task(follow())
    await asyncio.gather(*(writer(n) for n in range(expected)))
    await asyncio.wait_for(follower, 30)
    assert sorted(seen) == sorted(f"e{n}" for n in range(expected))
    assert len(seen) == len(set(seen))
