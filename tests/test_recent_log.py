"""The process's readers of the whole log share one read of it, and read exactly what the
database holds (events/store/recent_log.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.store.envelope import START, Cursor, Recorded
from events.store.errors import StoreUnavailable
from events.store.event_store import EventStore
from events.store.recent_log import RecentLog
from tests.test_global_order import an_event, empty_store, labels, read_at_least

__all__ = ["empty_store"]  # the fixture, shared with the global-order tests

pytestmark = pytest.mark.store


async def test_a_second_reader_is_served_what_the_first_read_without_the_database(
    empty_store: EventStore,
) -> None:
    """Once one reader has read the log, another reading from any cursor within it gets the
    same events, in the same order, with the database out of reach."""
    for index in range(12):
        await empty_store.append(uuid.uuid4(), [an_event(f"e{index}"), an_event(f"f{index}")])
    first = await read_at_least(empty_store, 24)
    assert labels(first) == [label for i in range(12) for label in (f"e{i}", f"f{i}")]
    pool = empty_store.pool
    assert isinstance(pool, asyncpg.Pool)
    await pool.close()
    # Every read below would fail with the pool closed, unless served from memory.
    cursors = [START] + [event.cursor for event in first[:-1]]
    for start, cursor in enumerate(cursors):
        limit = min(5, len(first) - start)
        assert await empty_store.read_all(cursor, limit=limit) == first[start : start + limit]
    with pytest.raises(StoreUnavailable):
        # Beyond the run's end only the database can tell what follows.
        await empty_store.read_all(first[-3].cursor, limit=5)


async def test_a_store_inside_a_transaction_keeps_no_run(empty_store: EventStore) -> None:
    """A store on one connection reads for itself: what it reads is not shared."""
    await empty_store.append(uuid.uuid4(), [an_event("one")])
    await read_at_least(empty_store, 1)
    async with empty_store.transaction() as (inside, _connection):
        assert inside._recent is None


# The run alone, against a model of the database: a log whose readable end moves on.

_T = datetime(2026, 1, 1, tzinfo=UTC)


def _event(position: int) -> Recorded:
    return Recorded(
        event_id=uuid.UUID(int=position),
        stream_id=uuid.UUID(int=position),
        version=1,
        position=position,
        cursor=Cursor(1, position, position),
        type="StatusNoted",
        schema_version=1,
        data={"note": str(position)},
        metadata={},
        occurred_at=_T,
        recorded_at=_T,
        content_hash=b"",
        prev_hash=b"",
        hash=b"",
    )


_LOG = [_event(position) for position in range(1, 61)]


def _database(after: Cursor, limit: int, readable: int) -> list[Recorded]:
    """What a read of the database gives: the events after `after` among the first `readable`."""
    return [event for event in _LOG[:readable] if event.cursor > after][:limit]


steps = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 9), st.integers(0, 8)), min_size=1, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, capacity=st.integers(2, 12))
def test_readers_through_the_run_read_what_the_database_gives(
    steps: list[tuple[int, int, int]], capacity: int
) -> None:
    """Four readers at their own pace, limits and a readable end that moves on: each read
    through the run equals the database's read at that moment, whatever the run held."""
    run = RecentLog(capacity=capacity)
    cursors = [START] * 4
    readable = 0

    async def database(after: Cursor, limit: int) -> list[Recorded]:
        return _database(after, limit, readable)

    for reader, limit, newly_readable in steps:
        readable = min(len(_LOG), readable + newly_readable)
        after = cursors[reader]
        expected = _database(after, limit, readable)
        got = asyncio.run(run.read(after, limit, database))
        assert got == expected
        assert len(run) <= capacity
        if got:
            cursors[reader] = got[-1].cursor


def test_a_reader_ahead_of_the_run_starts_a_new_one() -> None:
    """A read beyond the run's end begins a run there; one behind it is not taken."""
    run = RecentLog()
    run.extend(START, _LOG[:3])
    run.extend(_LOG[9].cursor, _LOG[10:12])
    assert run.after(_LOG[9].cursor, 5) == _LOG[10:12]
    assert run.after(START, 5) is None
    run.extend(START, _LOG[:2])  # behind: ignored
    assert run.end == _LOG[11].cursor


def test_readers_at_the_run_s_end_share_one_read_of_the_database() -> None:
    """Readers woken together at the end of the run (every projection, after one append) wait
    for one read of the database, and each gets what its own read would have given."""

    async def scenario() -> None:
        run = RecentLog()
        reads: list[Cursor] = []
        answer = asyncio.Event()
        answer.set()

        async def database(after: Cursor, limit: int) -> list[Recorded]:
            reads.append(after)
            await answer.wait()
            return _database(after, limit, readable=10)

        assert await run.read(START, 3, database) == _LOG[:3]
        answer.clear()
        readers = [run.read(_LOG[2].cursor, 5, database) for _ in range(4)]
        readers.append(run.read(START, 10, database))
        waiting = asyncio.gather(*readers)
        await asyncio.sleep(0)
        answer.set()
        assert await waiting == [_LOG[3:8]] * 4 + [_LOG[:10]]
        assert reads == [START, _LOG[2].cursor]

    asyncio.run(scenario())
