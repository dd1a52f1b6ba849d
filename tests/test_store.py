"""The event store against a real PostgreSQL: appends, conflicts, idempotency, hash chain."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from events.store.envelope import NewEvent
from events.store.errors import DuplicateEventConflict, InvalidEventData, VersionConflict
from events.store.event_store import EventStore
from events.verifier.chain import GENESIS, body_hash, link_hash

pytestmark = pytest.mark.store


def an_event(n: int = 0, **data: object) -> NewEvent:
    """A small status note with a fresh id."""
    return NewEvent(
        event_id=uuid.uuid4(),
        type="StatusNoted",
        data={"note": f"note {n}", **data},
        occurred_at=datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        metadata={"recorded_by": "tester", "role": "field", "request_id": "r-1"},
    )


async def test_append_numbers_versions_from_one(store: EventStore) -> None:
    """A new stream's events get versions 1, 2, 3 and read back in that order."""
    stream = uuid.uuid4()
    appended = await store.append(stream, [an_event(1), an_event(2)], expected_version=0)
    again = await store.append(stream, [an_event(3)], expected_version=2)
    events = await store.read_stream(stream)
    assert [e.version for e in appended.events] == [1, 2]
    assert again.version == 3
    assert [e.data["note"] for e in events] == ["note 1", "note 2", "note 3"]


async def test_stale_expected_version_is_a_conflict(store: EventStore) -> None:
    """An append expecting an old version fails with the actual version and changes nothing."""
    stream = uuid.uuid4()
    await store.append(stream, [an_event(), an_event()])
    with pytest.raises(VersionConflict) as raised:
        await store.append(stream, [an_event()], expected_version=1)
    assert raised.value.actual == 2
    assert await store.stream_version(stream) == 2


async def test_exactly_one_of_racing_writers_wins(store: EventStore) -> None:
    """Of 16 writers appending at the same expected version, exactly one succeeds."""
    stream = uuid.uuid4()
    await store.append(stream, [an_event()])
    results = await asyncio.gather(
        *(store.append(stream, [an_event(n)], expected_version=1) for n in range(16)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, VersionConflict)]
    assert len(winners) == 1
    assert len(losers) == 15
    assert await store.stream_version(stream) == 2


async def test_racing_writers_without_expected_version_all_land(store: EventStore) -> None:
    """Writers that state no expected version are retried, each getting its own version."""
    stream = uuid.uuid4()
    await asyncio.gather(*(store.append(stream, [an_event(n)]) for n in range(12)))
    events = await store.read_stream(stream)
    assert [e.version for e in events] == list(range(1, 13))


async def test_resending_a_batch_appends_nothing_and_answers_the_same(store: EventStore) -> None:
    """Re-sending the same event ids with the same content is answered as the first time."""
    stream = uuid.uuid4()
    batch = [an_event(1), an_event(2)]
    first = await store.append(stream, batch, expected_version=0)
    second = await store.append(stream, batch, expected_version=0)
    assert second.duplicate
    assert [e.version for e in second.events] == [e.version for e in first.events]
    assert [e.position for e in second.events] == [e.position for e in first.events]
    assert await store.stream_version(stream) == 2


async def test_same_event_id_with_other_content_is_a_conflict(store: EventStore) -> None:
    """An event id already recorded with other data is refused, and nothing is appended."""
    stream = uuid.uuid4()
    original = an_event(1)
    await store.append(stream, [original])
    changed = NewEvent(
        event_id=original.event_id,
        type=original.type,
        data={"note": "something else"},
        occurred_at=original.occurred_at,
    )
    with pytest.raises(DuplicateEventConflict):
        await store.append(stream, [changed])
    assert await store.stream_version(stream) == 1


async def test_event_id_of_another_stream_is_a_conflict(store: EventStore) -> None:
    """An event id belongs to one stream: reusing it elsewhere is refused."""
    event = an_event()
    await store.append(uuid.uuid4(), [event])
    with pytest.raises(DuplicateEventConflict):
        await store.append(uuid.uuid4(), [event])


async def test_concurrent_resends_append_once(store: EventStore) -> None:
    """The same batch sent by several connections at once lands once; all get the same answer."""
    stream = uuid.uuid4()
    batch = [an_event(1), an_event(2)]
    results = await asyncio.gather(*(store.append(stream, batch) for _ in range(8)))
    assert {tuple(e.position for e in r.events) for r in results} == {
        tuple(e.position for e in results[0].events)
    }
    assert await store.stream_version(stream) == 2


async def test_a_partial_resend_is_a_conflict(store: EventStore) -> None:
    """A batch mixing recorded and new event ids is refused whole."""
    stream = uuid.uuid4()
    recorded = an_event(1)
    await store.append(stream, [recorded])
    with pytest.raises(DuplicateEventConflict):
        await store.append(stream, [recorded, an_event(2)])
    assert await store.stream_version(stream) == 1


async def test_hash_chain_links_each_event_to_the_previous(store: EventStore) -> None:
    """Each stored hash is the link of its recomputed body hash to the previous event's hash."""
    stream = uuid.uuid4()
    await store.append(stream, [an_event(1), an_event(2, place="Lào Cai")])
    await store.append(stream, [an_event(3, amount=1.5)])
    previous = GENESIS
    for event in await store.read_stream(stream):
        body = body_hash(
            event_id=event.event_id,
            stream_id=event.stream_id,
            event_type=event.type,
            schema_version=event.schema_version,
            data=event.data,
            metadata=event.metadata,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
        )
        assert event.prev_hash == previous
        assert event.hash == link_hash(body, previous, event.version)
        previous = event.hash


async def test_a_failed_batch_appends_none_of_its_events(store: EventStore) -> None:
    """A batch whose second event cannot be stored leaves the stream untouched."""
    stream = uuid.uuid4()
    with pytest.raises(InvalidEventData):
        await store.append(stream, [an_event(1), an_event(2, bad="nul\x00byte")])
    assert await store.stream_version(stream) == 0


@pytest.mark.parametrize("value", [2**60, float("nan"), float("inf")])
async def test_numbers_json_cannot_keep_are_refused(store: EventStore, value: object) -> None:
    """Numbers that would not read back as hashed are refused before anything is stored."""
    stream = uuid.uuid4()
    with pytest.raises(InvalidEventData):
        await store.append(stream, [an_event(1, amount=value)])
    assert await store.stream_version(stream) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{}'::jsonb",
        "DELETE FROM events",
        "TRUNCATE events",
        "UPDATE log_epochs SET reason = 'x'",
    ],
)
async def test_the_database_refuses_to_change_the_log(
    store: EventStore, pool: asyncpg.Pool, statement: str
) -> None:
    """UPDATE, DELETE and TRUNCATE on the log fail in the database itself."""
    await store.append(uuid.uuid4(), [an_event()])
    before = await pool.fetchval("SELECT count(*) FROM events")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await pool.execute(statement)
    assert await pool.fetchval("SELECT count(*) FROM events") == before
