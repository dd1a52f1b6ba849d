"""Group commit: concurrent one-event appends share statements, and each is still judged alone."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from events.store.envelope import Appended
from events.store.errors import VersionConflict
from events.store.event_store import EventStore
from events.store.group_commit import GroupCommit
from events.verifier.chain import GENESIS
from tests.test_store import an_event

pytestmark = pytest.mark.store


def grouping(store: EventStore) -> GroupCommit:
    """The store's group writer (only a store on a pool has one)."""
    group = store._writer.group  # what the store did, not what it answers
    assert group is not None
    return group


async def test_concurrent_appends_share_statements_and_all_land_chained(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    streams = [uuid.uuid4() for _ in range(60)]
    group = grouping(store)
    groups_before, rows_before = group.groups, group.rows
    appended = await asyncio.gather(
        *(
            store.append(stream, [an_event(n)], expected_version=0)
            for n, stream in enumerate(streams)
        )
    )
    assert [a.version for a in appended] == [1] * 60
    assert group.rows - rows_before == 60
    assert group.groups - groups_before < 60  # some shared a statement
    rows = await pool.fetch(
        "SELECT stream_id, version, prev_hash, hash, position FROM events "
        "WHERE stream_id = ANY($1::uuid[])",
        streams,
    )
    assert {row["stream_id"] for row in rows} == set(streams)
    answered = {a.stream_id: a.events[0] for a in appended}
    for row in rows:
        assert bytes(row["prev_hash"]) == GENESIS
        assert bytes(row["hash"]) == answered[row["stream_id"]].hash
        assert row["position"] == answered[row["stream_id"]].position
    # The chain goes on from the hashes the group wrote.
    follow = await store.append(streams[0], [an_event()], expected_version=1)
    stored = await store.read_stream(streams[0])
    assert follow.version == 2
    assert stored[1].prev_hash == stored[0].hash


async def test_a_conflict_in_a_group_fails_only_its_own_append(store: EventStore) -> None:
    contested = uuid.uuid4()
    others = [uuid.uuid4() for _ in range(20)]
    await store.append(contested, [an_event()], expected_version=0)
    results = await asyncio.gather(
        *(store.append(contested, [an_event(n)], expected_version=1) for n in range(8)),
        *(store.append(stream, [an_event()], expected_version=0) for stream in others),
        return_exceptions=True,
    )
    contest, rest = results[:8], results[8:]
    losers = [r for r in contest if not isinstance(r, Appended)]
    assert len(losers) == 7
    assert all(isinstance(r, VersionConflict) and r.actual == 2 for r in losers)
    assert all(isinstance(r, Appended) and r.version == 1 for r in rest)
    assert await store.stream_version(contested) == 2


async def test_a_resend_in_a_group_answers_as_the_first_time(store: EventStore) -> None:
    stream = uuid.uuid4()
    first = an_event()
    original = await store.append(stream, [first], expected_version=0)
    fresh = [uuid.uuid4() for _ in range(10)]
    results = await asyncio.gather(
        store.append(stream, [first], expected_version=0),
        *(store.append(other, [an_event()], expected_version=0) for other in fresh),
    )
    resent = results[0]
    assert resent.duplicate
    assert resent.events == original.events
    assert all(r.version == 1 and not r.duplicate for r in results[1:])
    assert await store.stream_version(stream) == 1
