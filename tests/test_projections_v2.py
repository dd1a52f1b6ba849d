"""Domain v2 read models: board flags and survivors' statuses, corrections in effect, impact
counted by person, prosecutions, the survivors list, and a rebuild ending identical.

Events are appended with the store directly (as the service would record them) and the
projections are brought up to the log's end as their runners do (`apply_batch` from the
checkpoint), so each test reads exactly what one batch after another left. The last test goes
through the running app, whose runners take over from there.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.projection_folder import CaseFolder
from coordinator.service.projection_set import build_projections, rebuilt_projection
from events.catalogue import EVENT_TYPES, parse_event
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from projections.engine.positions import load_checkpoint
from projections.engine.rebuild import rebuild
from projections.engine.runner import Projection, apply_batch
from projections.read_models.board import COLUMNS, board_row
from projections.read_models.impact_figures import impact_figures
from projections.read_models.operation_status import operation_rows
from projections.read_models.survivor_status import SurvivorStatusProjection, survivor_rows
from tests.api import Caller

NOW = datetime.now(UTC)


def days_ago(days: float) -> datetime:
    """A moment `days` before the module started."""
    return NOW - timedelta(days=days)


def new(event_type: str, at: datetime, **data: Any) -> NewEvent:
    """An event to append, its payload checked against the catalogue first."""
    version = EVENT_TYPES[event_type].schema_version
    parse_event(event_type, version, data)
    return NewEvent(
        event_id=uuid.uuid4(),
        type=event_type,
        data=data,
        occurred_at=at,
        schema_version=version,
        metadata={"recorded_by": "Tester", "role": "field"},
    )


def a_survivor(**overrides: Any) -> dict[str, Any]:
    """A girl of 16 found in a brothel in China (no personal data: the store keeps it as is)."""
    survivor: dict[str, Any] = {
        "survivor_id": str(uuid.uuid4()),
        "gender": "female",
        "age_at_rescue": 16,
        "exploitation": "sexual",
        "form": "brothel",
        "found_in_country": "CN",
    }
    survivor.update(overrides)
    return survivor


def rescue(
    at: datetime, survivors: list[dict[str, Any]], *, outcome: str = "success", **more: Any
) -> NewEvent:
    """A rescue freeing `survivors`."""
    return new("RescueExecuted", at, outcome=outcome, survivors=survivors, **more)


def to_rescue(at: datetime, *, reference: str | None = None) -> list[NewEvent]:
    """An operation from its report to an approved plan, every event at `at`."""
    report: dict[str, Any] = {"channel": "family", "suspected_country": "CN"}
    if reference is not None:
        report["reference"] = reference
    return [
        new("CaseReported", at, **report),
        new("InvestigationOpened", at, lead_investigator="Investigator A"),
        new("RescuePlanned", at, planned_for=at.isoformat(), risk="high"),
        new("RescueApproved", at),
    ]


def correction(original: NewEvent, at: datetime, **corrected: Any) -> NewEvent:
    """A correction replacing the named top-level keys of `original`."""
    return new(
        "EventCorrected",
        at,
        corrects_event_id=str(original.event_id),
        reason="recorded wrongly",
        corrected_data=corrected,
    )


@pytest.fixture(scope="module")
def projections(store: EventStore) -> list[Projection]:
    """The service's projections, kept current by `project` as their runners would."""
    return build_projections(store, live=False)


async def project(pool: asyncpg.Pool, store: EventStore, projections: list[Projection]) -> None:
    """Apply the log's new events to every projection, batch by batch from its checkpoint."""
    async with pool.acquire() as connection:
        for projection in projections:
            cursor = await load_checkpoint(connection, projection.name)
            while batch := await store.read_all(cursor, limit=7):
                await apply_batch(connection, projection, batch)
                cursor = batch[-1].cursor


async def record(store: EventStore, stream_id: UUID, *events: NewEvent) -> None:
    """Append `events` to a stream, after what it holds."""
    await store.append(stream_id, list(events))


async def board(pool: asyncpg.Pool, operation_id: UUID) -> dict[str, Any]:
    """The operation's board row as the API shows it."""
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM board WHERE operation_id = $1",
        operation_id,
    )
    assert row is not None
    return board_row(row)


async def figures(pool: asyncpg.Pool, start: datetime, end: datetime) -> dict[str, Any]:
    """The impact figures for [start, end)."""
    async with pool.acquire() as connection:
        return await impact_figures(connection, start, end)


async def test_board_rows_show_reference_survivors_by_status_and_least_advanced_stage(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Two survivors abroad, one handed over: the board counts each status and shows `rescued`."""
    operation = uuid.uuid4()
    first, second = a_survivor(), a_survivor()
    handoff = new(
        "CustodyTransferred",
        days_ago(0.5),
        survivor_ids=[first["survivor_id"]],
        from_party={"agency": "Yunnan Public Security", "country": "CN"},
        to_party={"agency": "Lao Cai Border Guard", "country": "VN"},
    )
    await record(
        store,
        operation,
        *to_rescue(days_ago(1), reference="BD-2020-037"),
        rescue(days_ago(1), [first, second]),
        handoff,
    )
    await project(pool, store, projections)

    row = await board(pool, operation)
    assert row["reference"] == "BD-2020-037"
    assert row["survivors_by_status"] == {"abroad": 1, "in_transit": 1}
    assert row["stage"] == "rescued"
    assert row["dormant"] is False
    assert row["flags"] == []
    async with pool.acquire() as connection:
        (listed,) = await operation_rows(
            connection, stage=None, country=None, reference="BD-2020-037", limit=10
        )
    assert listed["operation_id"] == operation
    assert listed["summary"]["survivors_by_status"] == {"abroad": 1, "in_transit": 1}


async def test_a_plan_awaiting_approval_keeps_its_flag(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """A plan waiting for leadership is flagged `awaiting_approval`, with no survivor yet."""
    operation = uuid.uuid4()
    await record(store, operation, *to_rescue(days_ago(1))[:3])
    await project(pool, store, projections)

    row = await board(pool, operation)
    assert row["stage"] == "planning"
    assert row["flags"] == ["awaiting_approval"]


async def test_an_emergency_rescue_awaits_review_and_is_overdue_after_72_hours(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Unreviewed for four days: awaiting_review and review_overdue; one hour: only the first;
    once reviewed: neither."""
    late, recent = uuid.uuid4(), uuid.uuid4()
    for operation, at in ((late, days_ago(4)), (recent, NOW - timedelta(hours=1))):
        await record(
            store,
            operation,
            new("CaseReported", at, channel="hotline"),
            new("InvestigationOpened", at, lead_investigator="Investigator A"),
            rescue(
                at,
                [a_survivor(found_in_country="VN")],
                emergency=True,
                emergency_reason="she called for help from a locked room",
            ),
        )
    await project(pool, store, projections)

    assert {"awaiting_review", "review_overdue"} <= set((await board(pool, late))["flags"])
    recent_flags = (await board(pool, recent))["flags"]
    assert "awaiting_review" in recent_flags
    assert "review_overdue" not in recent_flags

    await record(store, late, new("RescueReviewed", NOW, decision="endorsed"))
    await project(pool, store, projections)
    flags = (await board(pool, late))["flags"]
    assert "awaiting_review" not in flags
    assert "review_overdue" not in flags


async def test_a_survivor_still_abroad_after_30_days_is_flagged(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Found in China 31 days ago and not yet handed over: flagged; found at home: not."""
    abroad, at_home = uuid.uuid4(), uuid.uuid4()
    await record(store, abroad, *to_rescue(days_ago(31)), rescue(days_ago(31), [a_survivor()]))
    await record(
        store,
        at_home,
        *to_rescue(days_ago(31)),
        rescue(days_ago(31), [a_survivor(found_in_country="VN")]),
    )
    await project(pool, store, projections)

    assert "survivor_abroad_30_days" in (await board(pool, abroad))["flags"]
    home_row = await board(pool, at_home)
    assert "survivor_abroad_30_days" not in home_row["flags"]
    assert home_row["survivors_by_status"] == {"in_transit": 1}
    assert home_row["stage"] == "in_transit"


async def test_an_operation_without_update_for_90_days_is_dormant(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """No update for 100 days: dormant (and not updated for 7 days); 8 days: only the latter."""
    dormant, quiet = uuid.uuid4(), uuid.uuid4()
    await record(store, dormant, new("CaseReported", days_ago(100), channel="family"))
    await record(store, quiet, new("CaseReported", days_ago(8), channel="family"))
    await project(pool, store, projections)

    dormant_row, quiet_row = await board(pool, dormant), await board(pool, quiet)
    assert dormant_row["dormant"] is True
    assert "no_update_7_days" in dormant_row["flags"]
    assert quiet_row["dormant"] is False
    assert "no_update_7_days" in quiet_row["flags"]


async def test_corrections_change_the_board_row_and_the_figures(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Correcting the reference and where she was found changes the row, her status and the
    figures; correcting the outcome to partial keeps her counted."""
    operation = uuid.uuid4()
    at = datetime(2019, 3, 5, tzinfo=UTC)
    survivor = a_survivor(found_in_country="CN", age_at_rescue=17)
    events = to_rescue(at, reference="BD-2019-001")
    rescued = rescue(at, [survivor])
    await record(store, operation, *events, rescued)
    await project(pool, store, projections)
    period = (datetime(2019, 3, 1, tzinfo=UTC), datetime(2019, 4, 1, tzinfo=UTC))
    before = await figures(pool, *period)
    assert before["by_country"] == {"CN": 1}
    assert (await board(pool, operation))["survivors_by_status"] == {"abroad": 1}

    found_at_home = {**survivor, "found_in_country": "VN", "age_at_rescue": 18}
    await record(
        store,
        operation,
        correction(events[0], at, reference="BD-2019-002"),
        correction(rescued, at, outcome="partial", survivors=[found_at_home]),
    )
    await project(pool, store, projections)

    row = await board(pool, operation)
    assert row["reference"] == "BD-2019-002"
    assert row["survivors_by_status"] == {"in_transit": 1}
    after = await figures(pool, *period)
    assert after["by_country"] == {"VN": 1}
    assert after["people_rescued"] == 1
    assert after["rescues"] == 1
    assert after["minors"] == 0
    async with pool.acquire() as connection:
        (listed,) = await operation_rows(
            connection, stage=None, country=None, reference="BD-2019-002", limit=10
        )
    assert listed["operation_id"] == operation


async def test_a_person_rescued_twice_counts_once_as_her_first_rescue_described_her(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Rescued in two operations: one person (aged 15 at the first), two rescues, two
    operations; a person recovered and another also rescued count once each in recoveries."""
    first_at, second_at = datetime(2018, 5, 1, tzinfo=UTC), datetime(2018, 5, 20, tzinfo=UTC)
    survivor = a_survivor(age_at_rescue=15, found_in_country="CN", ethnic_group="Hmong")
    again = {**survivor, "age_at_rescue": 19, "found_in_country": "LA"}
    recovered = a_survivor(found_in_country="VN")
    both = a_survivor(found_in_country="TH", age_at_rescue=22)
    first_operation, second_operation = uuid.uuid4(), uuid.uuid4()
    await record(
        store,
        first_operation,
        *to_rescue(first_at),
        rescue(first_at, [survivor], outcome="partial"),
        new("SurvivorRecovered", first_at, how="escaped", survivors=[recovered, both]),
    )
    await record(
        store,
        second_operation,
        *to_rescue(second_at),
        rescue(second_at, [again, both]),
    )
    await project(pool, store, projections)

    counted = await figures(
        pool, datetime(2018, 5, 1, tzinfo=UTC), datetime(2018, 6, 1, tzinfo=UTC)
    )
    assert counted["people_rescued"] == 2
    assert counted["rescues"] == 2
    assert counted["operations"] == 2
    assert counted["people_recovered"] == 2
    assert counted["minors"] == 1
    assert counted["by_country"] == {"CN": 1, "TH": 1}
    assert counted["by_ethnic_group"] == {"Hmong": 1, "unknown": 1}
    # Her first rescue places her in a period; the second does not count her again.
    later = await figures(pool, datetime(2018, 5, 10, tzinfo=UTC), datetime(2018, 6, 1, tzinfo=UTC))
    assert later["people_rescued"] == 1
    assert later["rescues"] == 1


async def test_services_on_cases_and_on_operations_are_counted(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """A service on her case (no survivor_id) and one on the operation both count for her."""
    at = datetime(2017, 2, 1, tzinfo=UTC)
    survivor = a_survivor()
    operation, survivor_id = uuid.uuid4(), UUID(survivor["survivor_id"])
    await record(
        store,
        operation,
        *to_rescue(at),
        rescue(at, [survivor]),
        new("SupportProvided", at, survivor_id=str(survivor_id), service="healthcare"),
    )
    await record(store, survivor_id, new("SupportProvided", at, service="healthcare"))
    await project(pool, store, projections)

    counted = await figures(pool, at, at + timedelta(days=1))
    assert counted["services"] == {"healthcare": {"times": 2, "survivors": 1}}


async def test_prosecution_figures_count_openings_and_standing_convictions(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Two defendants convicted once a verdict is corrected; an appeal's new verdict stands."""
    at = datetime(2016, 7, 1, tzinfo=UTC)
    prosecution, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    acquitted = new("VerdictReached", at, defendant_id=str(second), verdict="acquitted")
    await record(
        store,
        prosecution,
        new("ProsecutionOpened", at, case_number="HS-2016-01", court="Lao Cai People's Court"),
        *(
            new(
                "DefendantCharged",
                at,
                defendant_id=str(defendant),
                role="recruiter",
                charges=[{"article": "150"}],
            )
            for defendant in (first, second)
        ),
        new("VerdictReached", at, defendant_id=str(first), verdict="convicted"),
        acquitted,
    )
    await project(pool, store, projections)
    period = (at, at + timedelta(days=30))
    assert (await figures(pool, *period))["prosecutions"] == {
        "opened": 1,
        "defendants_convicted": 1,
    }

    await record(store, prosecution, correction(acquitted, at, verdict="convicted"))
    await project(pool, store, projections)
    assert (await figures(pool, *period))["prosecutions"]["defendants_convicted"] == 2

    later = at + timedelta(days=2)
    await record(
        store,
        prosecution,
        new("AppealFiled", later, defendant_id=str(first), by="defence"),
        new("VerdictReached", later, defendant_id=str(first), verdict="acquitted"),
    )
    await project(pool, store, projections)
    assert (await figures(pool, *period))["prosecutions"]["defendants_convicted"] == 1


async def test_the_survivors_list_follows_her_case_and_the_operations_that_name_her(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection]
) -> None:
    """Abroad once rescued, lost contact from her case, and (folded again from the store by a
    projection that never saw her) in transit once her registration is corrected."""
    at = days_ago(3)
    survivor = a_survivor()
    operation, survivor_id = uuid.uuid4(), UUID(survivor["survivor_id"])
    rescued = rescue(at, [survivor])
    await record(store, operation, *to_rescue(at), rescued)
    await project(pool, store, projections)

    async def status_of(wanted: str | None) -> dict[str, Any] | None:
        async with pool.acquire() as connection:
            rows = await survivor_rows(connection, wanted, 500)
        return next((row for row in rows if row["survivor_id"] == str(survivor_id)), None)

    listed = await status_of("abroad")
    assert listed is not None
    assert listed["operations"] == [str(operation)]
    assert "gender" not in listed

    await record(store, survivor_id, new("ContactLost", days_ago(2)))
    await project(pool, store, projections)
    assert await status_of("lost_contact") is not None
    assert await status_of("abroad") is None

    cold = [p for p in projections if p.name != "survivor_status"]
    cold.append(SurvivorStatusProjection(CaseFolder(), store))
    await record(
        store,
        survivor_id,
        new("ContactRestored", days_ago(1)),
    )
    await record(
        store,
        operation,
        correction(rescued, days_ago(1), survivors=[{**survivor, "found_in_country": "VN"}]),
    )
    await project(pool, store, cold)
    listed = await status_of(None)
    assert listed is not None
    assert listed["status"] == "in_transit"


TABLES = {
    "board": "SELECT * FROM board ORDER BY operation_id",
    "operation_status": "SELECT * FROM operation_status ORDER BY operation_id",
    "impact": "SELECT * FROM impact_survivors ORDER BY event_id, survivor_id",
    "impact_services": "SELECT * FROM impact_services ORDER BY event_id",
    "impact_prosecutions": "SELECT * FROM impact_prosecutions ORDER BY prosecution_id",
    "impact_verdicts": "SELECT * FROM impact_verdicts ORDER BY event_id",
    "survivor_status": "SELECT * FROM survivor_status ORDER BY survivor_id",
}
CHECKPOINTS = (
    "SELECT name, epoch, xid, position, events_applied FROM projection_checkpoints ORDER BY name"
)


async def test_a_rebuild_ends_identical_to_the_projections_kept_live(
    pool: asyncpg.Pool, store: EventStore, projections: list[Projection], database_url: str
) -> None:
    """Every projection rebuilt from the log (the board by two processes) has the same rows
    and checkpoint as the one kept batch by batch, corrections and all."""
    await project(pool, store, projections)
    live = {name: [dict(r) for r in await pool.fetch(sql)] for name, sql in TABLES.items()}
    live_checkpoints = await pool.fetch(CHECKPOINTS)
    head = await pool.fetchval("SELECT count(*) FROM events")

    for projection in build_projections(store, live=False):
        applied = await rebuild(
            projection, store, database_url, batch_size=5, workers=2, factory=rebuilt_projection
        )
        assert applied == head

    rebuilt = {name: [dict(r) for r in await pool.fetch(sql)] for name, sql in TABLES.items()}
    assert rebuilt == live
    assert await pool.fetch(CHECKPOINTS) == live_checkpoints
    assert all(live.values())


async def test_the_http_reads_serve_the_new_fields(callers: dict[Role, Caller]) -> None:
    """Through the running app: `?reference=` finds the operation, its board row carries the
    new fields, and the impact figures the new counts (each answer checked by its model)."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    reference = f"BD-{uuid.uuid4().hex[:8]}"
    operation = await field.open(reference=reference)

    async def on_board_and_listed() -> dict[str, Any] | None:
        response = await leadership.get(f"/v1/operations?reference={reference}")
        listed = [row["operation_id"] for row in (await response.json())["operations"]]
        rows = (await (await leadership.get("/v1/board")).json())["operations"]
        row = next((row for row in rows if row["operation_id"] == operation), None)
        return row if listed == [operation] else None

    deadline = asyncio.get_running_loop().time() + 15
    while (row := await on_board_and_listed()) is None:
        assert asyncio.get_running_loop().time() < deadline, "the projections did not catch up"
        await asyncio.sleep(0.05)

    assert row["reference"] == reference
    assert row["survivors_by_status"] == {}
    assert row["dormant"] is False
    impact = await (await leadership.get("/v1/stats/impact")).json()
    assert {"people_recovered", "rescues", "prosecutions", "by_ethnic_group"} <= set(impact)
    assert set(impact["prosecutions"]) == {"opened", "defendants_convicted"}
