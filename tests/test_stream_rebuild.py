"""Rebuilding by ranges of streams, in several processes: the same rows, or no change at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from coordinator.service.projection_set import rebuilt_projection
from events.store.envelope import NewEvent, Recorded
from events.store.event_store import EventStore
from events.store.stream_ranges import read_range, stream_ranges
from projections.engine.rebuild import rebuild
from projections.engine.stream_rebuild import HelperFailed
from tests import rebuild_faults
from tests.commands import run_coordinator

WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
META = {"recorded_by": "field-team-lao-cai", "role": "field"}
TABLES = {
    "board": "SELECT * FROM board ORDER BY operation_id",
    "operation_status": "SELECT * FROM operation_status ORDER BY operation_id",
}


def _event(kind: str, **data: Any) -> NewEvent:
    return NewEvent(uuid.uuid4(), kind, data, WHEN, metadata=META)


def _rescue(number: int) -> list[NewEvent]:
    """An operation that goes further the higher its number: so the rows differ."""
    survivor = str(uuid.uuid4())
    events = [
        _event("CaseReported", channel="family", suspected_country="CN"),
        _event("InvestigationOpened", lead_investigator="Investigator Hoa"),
        _event("PartnerEngaged", agency="Border Guard", agency_type="border_guard", country="VN"),
        _event("RescuePlanned", planned_for=WHEN.isoformat(), risk="high"),
        _event("RescueApproved", note="go"),
        _event(
            "RescueExecuted",
            outcome="success",
            survivors=[
                {
                    "survivor_id": survivor,
                    "gender": "female",
                    "age_at_rescue": 15 + number % 5,
                    "exploitation": "sexual",
                    "form": "brothel",
                    "found_in_country": "CN",
                    "home_province": "Ha Giang",
                }
            ],
        ),
        _event("SurvivorReturned", survivor_ids=[survivor], destination="shelter"),
        _event("FamilyReunited", survivor_id=survivor),
    ]
    return events[: 1 + number % len(events)]


@pytest.fixture(scope="module")
async def log(store: EventStore) -> int:
    """Forty operations, ids in order (not random), and one stream that is not an operation's."""
    for number in range(40):
        # Sequential ids: ranges must be cut where the streams are, not evenly over all ids.
        operation = uuid.UUID(int=(7 << 64) + number)
        await store.append(operation, _rescue(number), expected_version=0)
    await store.append(uuid.uuid4(), [_event("StatusNoted", note="not an operation")])
    return int(await store.pool.fetchval("SELECT count(*) FROM events"))


async def _snapshot(pool: asyncpg.Pool, name: str) -> tuple[list[dict[str, Any]], Any]:
    rows = [dict(row) for row in await pool.fetch(TABLES[name])]
    checkpoint = await pool.fetchrow(
        "SELECT epoch, xid, position, events_applied FROM projection_checkpoints WHERE name = $1",
        name,
    )
    return rows, None if checkpoint is None else dict(checkpoint)


async def test_ranges_hold_every_event_once(pool: asyncpg.Pool, log: int) -> None:
    """However many ranges, read page by page they give each event of the log exactly once."""
    async with pool.acquire() as connection:
        end = await EventStore(pool).head()
        for parts in (1, 3, 7):
            ranges = await stream_ranges(connection, parts)
            assert 1 < len(ranges) <= parts or parts == 1
            seen: list[Recorded] = []
            for part in ranges:
                after = None
                while page := await read_range(pool, part, end, after=after, limit=4):
                    assert all(part.first <= event.stream_id for event in page)
                    assert part.until is None or all(e.stream_id < part.until for e in page)
                    seen += page
                    after = page[-1]
            assert len(seen) == log
            assert len({event.event_id for event in seen}) == log


class Slowed:
    """A projection that folds slowly here, so that the helper processes take most ranges."""

    def __init__(self, projection: Any) -> None:
        self._projection = projection
        self.name = projection.name
        self.folded = 0

    async def rows(self, events: Sequence[Recorded]) -> list[tuple[Any, ...]]:
        await asyncio.sleep(0.2)
        self.folded += len(events)
        rows: list[tuple[Any, ...]] = await self._projection.rows(events)
        return rows

    async def write(self, connection: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        await self._projection.write(connection, rows)

    async def apply(self, connection: Any, events: Sequence[Recorded]) -> None:
        await self._projection.apply(connection, events)

    async def reset(self, connection: Any) -> None:
        await self._projection.reset(connection)

    def forget(self) -> None:
        self._projection.forget()


def _slowed(store: EventStore, name: str) -> Slowed:
    return Slowed(rebuilt_projection(store, name))


@pytest.mark.parametrize("name", ["board", "operation_status"])
async def test_a_rebuild_by_several_processes_writes_what_one_writes(
    store: EventStore, pool: asyncpg.Pool, database_url: str, log: int, name: str
) -> None:
    """Three processes folding ranges end with the rows and checkpoint of one process alone."""
    assert await rebuild(rebuilt_projection(store, name), store, database_url, batch_size=7) == log
    alone = await _snapshot(pool, name)
    here = _slowed(store, name)
    assert (
        await rebuild(
            here, store, database_url, batch_size=3, workers=3, factory=rebuilt_projection
        )
        == log
    )
    assert here.folded < log  # the helpers folded the rest
    together = await _snapshot(pool, name)
    assert together == alone
    assert len(alone[0]) == 40
    assert alone[1] is not None
    assert alone[1]["events_applied"] == log


@pytest.mark.usefixtures("log")
@pytest.mark.parametrize(
    ("factory", "named"),
    [(rebuild_faults.failing, "failed: ValueError in "), (rebuild_faults.dying, "exit code 7")],
    ids=["fails", "dies"],
)
async def test_a_helper_that_fails_or_dies_fails_the_rebuild_which_changes_nothing(
    store: EventStore, pool: asyncpg.Pool, database_url: str, factory: Any, named: str
) -> None:
    """The rebuild is refused and the old rows stay; an error's text (event data) stays out."""
    await rebuild(rebuilt_projection(store, "board"), store, database_url)
    before = await _snapshot(pool, "board")
    with pytest.raises(HelperFailed) as refused:
        await rebuild(
            _slowed(store, "board"), store, database_url, batch_size=3, workers=2, factory=factory
        )
    assert named in str(refused.value)
    assert rebuild_faults.PERSONAL not in str(refused.value)
    assert "cannot fold" not in str(refused.value)
    assert await _snapshot(pool, "board") == before


async def test_the_command_rebuilds_every_projection_with_helpers(
    store: EventStore, pool: asyncpg.Pool, database_url: str, log: int
) -> None:
    """`coordinator projections rebuild --workers 2` ends with the rows one process writes."""
    await rebuild(rebuilt_projection(store, "operation_status"), store, database_url)
    alone = await _snapshot(pool, "operation_status")
    await pool.execute("DELETE FROM operation_status")
    status, out, err = await run_coordinator(
        database_url, "projections", "rebuild", "--workers", "2"
    )
    assert status == 0, err
    for name in ("board", "impact", "operation_status"):
        assert f"{name}: {log} events applied" in out
    assert await _snapshot(pool, "operation_status") == alone


async def test_the_command_refuses_no_processes(database_url: str) -> None:
    """`--workers 0` is refused before anything is touched."""
    status, _, err = await run_coordinator(database_url, "projections", "rebuild", "--workers", "0")
    assert status == 2
    assert "from 1 to 64" in err
