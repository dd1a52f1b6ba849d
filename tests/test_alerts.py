"""Alerts: each rule before and after its threshold on a clock the test controls, acknowledged,
and a new episode after an acknowledgement; the thresholds from settings; who may read them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.http.alerts import ALERT_CLOCK
from coordinator.http.app import create_app
from coordinator.service.alerts import Clock
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from projections.read_models.alert_rules import (
    Alert,
    AlertKind,
    CaseFacts,
    JourneyFacts,
    OperationFacts,
    ProsecutionFacts,
    Thresholds,
    judge_alerts,
)
from tests.api import Caller, Client, a_case_report, a_survivor, event, to_approval
from tests.test_http_projections import eventually

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
HANDOFF = {
    "from_party": {"agency": "Yunnan Public Security", "country": "CN"},
    "to_party": {"agency": "Border Guard Lao Cai", "country": "VN"},
}


class TestClock(Clock):
    """A clock the test sets."""

    __test__ = False

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        """The time the test set."""
        return self.at


@pytest.fixture(scope="module")
def app_settings(database_url: str) -> Settings:
    """Investigations may go two days without an update; every other stage the default seven."""
    return Settings(database_url=database_url, alert_no_update_days_by_stage={"investigating": 2})


@pytest.fixture(scope="module")
def clock() -> TestClock:
    """The clock alerts are judged by in this module."""
    return TestClock()


@pytest.fixture(scope="module")
async def client(app_settings: Settings, clock: TestClock) -> AsyncIterator[Client]:
    """The real app, judging alerts by the test's clock."""
    assert app_settings.database_url is not None
    app = create_app(app_settings, app_settings.database_url)
    app[ALERT_CLOCK] = clock
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture(scope="module")
async def callers(client: Client, pool: asyncpg.Pool) -> dict[Role, Caller]:
    """One caller per role, each with a freshly created token."""
    return {
        role: Caller(client, await create_token(pool, f"{role.value}-{uuid.uuid4().hex[:6]}", role))
        for role in Role
    }


def at(moment: datetime, recorded: dict[str, Any]) -> dict[str, Any]:
    """`recorded` as it happened at `moment`."""
    return {**recorded, "occurred_at": moment.isoformat()}


async def opened_at(field: Caller, moment: datetime, **report: Any) -> str:
    """An operation reported at `moment`."""
    body = {"data": a_case_report(**report), "occurred_at": moment.isoformat()}
    response = await field.post("/v1/operations", body)
    assert response.status == 201, await response.text()
    return str((await response.json())["operation_id"])


async def rescued_at(callers: dict[Role, Caller], moment: datetime, girl: dict[str, Any]) -> str:
    """An operation whose approved rescue freed `girl` in China at `moment`."""
    field = callers[Role.FIELD]
    operation = await opened_at(field, moment)
    await field.record(operation, *(at(moment, step) for step in to_approval()))
    await callers[Role.LEADERSHIP].record(operation, at(moment, event("RescueApproved")))
    rescue = event("RescueExecuted", outcome="success", survivors=[girl])
    await field.record(operation, at(moment, rescue))
    return operation


async def alerts_of(
    caller: Caller, clock: TestClock, moment: datetime, operation: str
) -> list[dict[str, Any]]:
    """The alerts standing at `moment` that concern `operation`."""
    clock.at = moment
    response = await caller.get("/v1/alerts")
    assert response.status == 200, await response.text()
    return [a for a in (await response.json())["alerts"] if a["operation_id"] == operation]


async def awaited(
    caller: Caller,
    clock: TestClock,
    moment: datetime,
    operation: str,
    kind: str,
    since: datetime | None = None,
) -> dict[str, Any]:
    """The alert of `kind` on `operation` at `moment` (standing since `since`, if given), once
    the projection has caught up."""
    found: list[dict[str, Any]] = []

    async def standing() -> bool:
        alerts = await alerts_of(caller, clock, moment, operation)
        found[:] = [
            a
            for a in alerts
            if a["kind"] == kind and (since is None or a["since"] == since.isoformat())
        ]
        return bool(found)

    await eventually(standing)
    return found[0]


def kinds(alerts: list[dict[str, Any]]) -> set[str]:
    """The kinds among `alerts`."""
    return {alert["kind"] for alert in alerts}


async def test_an_operation_silent_longer_than_its_stage_allows_is_alerted_once_per_episode(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """No update for seven days is `no_update` since the last update; an acknowledgement sticks
    to that episode (and is no update itself); a later update and silence is a new alert."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    operation = await opened_at(field, T0)
    alert = await awaited(
        leadership, clock, T0 + timedelta(days=7, hours=1), operation, "no_update"
    )
    assert alert["since"] == T0.isoformat()
    assert alert["acknowledged"] is False
    assert "survivor_id" not in alert
    assert await alerts_of(leadership, clock, T0 + timedelta(days=6, hours=23), operation) == []

    clock.at = T0 + timedelta(days=7, hours=1)  # the alert stands when it is acknowledged
    path = f"/v1/alerts/{alert['alert_id']}/acknowledgement"
    response = await leadership.post(path, {"note": "called the team"})
    assert response.status == 201, await response.text()
    acknowledged = await response.json()
    assert acknowledged["operation_id"] == operation
    again = await leadership.post(path, {"note": "called the team"})  # a double click
    assert again.status == 201
    assert await again.json() == acknowledged  # answered as the first time, nothing recorded
    other_note = await leadership.post(path, {"note": "something else"})
    assert other_note.status == 409
    later = T0 + timedelta(days=8)

    async def seen() -> bool:
        alerts = await alerts_of(leadership, clock, later, operation)
        return [a["acknowledged"] for a in alerts] == [True]

    await eventually(seen)
    (still,) = await alerts_of(leadership, clock, later, operation)
    assert still["alert_id"] == alert["alert_id"]

    noted = T0 + timedelta(days=9)
    await field.record(operation, at(noted, event("StatusNoted", note="family called again")))
    fresh = await awaited(
        leadership, clock, noted + timedelta(days=8), operation, "no_update", since=noted
    )
    assert fresh["since"] == noted.isoformat()
    assert fresh["alert_id"] != alert["alert_id"]
    assert fresh["acknowledged"] is False


async def test_the_silence_allowed_is_set_per_stage(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """`alert_no_update_days_by_stage` lets an investigation go two days, not seven."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    operation = await opened_at(field, T0)
    opened = event("InvestigationOpened", lead_investigator="Investigator A")
    await field.record(operation, at(T0, opened))
    await awaited(leadership, clock, T0 + timedelta(days=2, hours=1), operation, "no_update")
    assert await alerts_of(leadership, clock, T0 + timedelta(days=1), operation) == []


async def test_an_emergency_rescue_awaiting_review_over_24_hours_is_overdue(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """`review_overdue` 24 hours after an emergency rescue (the setting's default), until
    leadership reviews it."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    operation = await opened_at(field, T0)
    rescue = event(
        "RescueExecuted",
        outcome="success",
        survivors=[a_survivor(found_in_country="VN")],
        emergency=True,
        emergency_reason="a child called crying from a locked room",
    )
    await field.record(operation, at(T0, rescue))
    alert = await awaited(leadership, clock, T0 + timedelta(hours=25), operation, "review_overdue")
    assert alert["since"] == T0.isoformat()
    early = await alerts_of(leadership, clock, T0 + timedelta(hours=23), operation)
    assert "review_overdue" not in kinds(early)
    reviewed = event("RescueReviewed", decision="endorsed")
    await leadership.record(operation, at(T0 + timedelta(hours=26), reviewed))

    async def gone() -> bool:
        late = await alerts_of(leadership, clock, T0 + timedelta(hours=27), operation)
        return "review_overdue" not in kinds(late)

    await eventually(gone)


async def test_a_survivor_abroad_over_30_days_then_in_transit_over_72_hours(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """She is `survivor_abroad_30_days` after thirty days abroad; once handed over,
    `in_transit_72_hours` from the handoff; her return ends both."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    girl = a_survivor()
    sid = girl["survivor_id"]
    operation = await rescued_at(callers, T0, girl)
    abroad = await awaited(
        leadership, clock, T0 + timedelta(days=30, hours=1), operation, "survivor_abroad_30_days"
    )
    assert abroad["survivor_id"] == sid
    assert abroad["since"] == T0.isoformat()
    early = await alerts_of(leadership, clock, T0 + timedelta(days=29), operation)
    assert "survivor_abroad_30_days" not in kinds(early)

    handed = T0 + timedelta(days=31)
    await field.record(
        operation, at(handed, event("CustodyTransferred", survivor_ids=[sid], **HANDOFF))
    )
    transit = await awaited(
        leadership, clock, handed + timedelta(hours=73), operation, "in_transit_72_hours"
    )
    assert transit["since"] == handed.isoformat()
    assert transit["survivor_id"] == sid
    early = await alerts_of(leadership, clock, handed + timedelta(hours=71), operation)
    assert kinds(early) & {"in_transit_72_hours", "survivor_abroad_30_days"} == set()

    home = handed + timedelta(hours=80)
    returned = event("SurvivorReturned", survivor_ids=[sid], destination="home")
    await field.record(operation, at(home, returned))

    async def arrived() -> bool:
        late = await alerts_of(leadership, clock, home + timedelta(hours=1), operation)
        return "in_transit_72_hours" not in kinds(late)

    await eventually(arrived)


async def test_a_survivor_in_aftercare_without_a_service_for_90_days(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """`aftercare_gap_90_days` from her last service; a new service on her case starts a new
    episode, acknowledged apart from the first."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    girl = a_survivor(found_in_country="VN")
    sid = girl["survivor_id"]
    operation = await rescued_at(callers, T0, girl)
    home = T0 + timedelta(days=1)
    served = T0 + timedelta(days=2)
    await field.record(
        operation,
        at(home, event("SurvivorReturned", survivor_ids=[sid], destination="home")),
        at(served, event("SupportProvided", survivor_id=sid, service="counselling")),
    )
    gap = await awaited(
        leadership, clock, served + timedelta(days=91), operation, "aftercare_gap_90_days"
    )
    assert gap["since"] == served.isoformat()
    assert gap["survivor_id"] == sid
    early = await alerts_of(leadership, clock, served + timedelta(days=89), operation)
    assert "aftercare_gap_90_days" not in kinds(early)
    clock.at = served + timedelta(days=91)
    acknowledged = await leadership.post(f"/v1/alerts/{gap['alert_id']}/acknowledgement", {})
    assert acknowledged.status == 201, await acknowledged.text()

    again = served + timedelta(days=100)
    service = at(again, event("SupportProvided", service="vocational_training"))
    response = await field.post(f"/v1/survivors/{sid}/events", {"events": [service]})
    assert response.status == 201, await response.text()

    async def new_episode() -> bool:
        alerts = await alerts_of(leadership, clock, again + timedelta(days=91), operation)
        gaps = [a for a in alerts if a["kind"] == "aftercare_gap_90_days"]
        return [(a["since"], a["acknowledged"]) for a in gaps] == [(again.isoformat(), False)]

    await eventually(new_episode)


async def test_a_prosecution_naming_her_without_her_consent_needs_it(
    callers: dict[Role, Caller], clock: TestClock
) -> None:
    """`consent_needed` from the prosecution's opening until a consent for the prosecution
    stands; withdrawn, it is needed again (a new episode)."""
    leadership, legal = callers[Role.LEADERSHIP], callers[Role.LEGAL]
    girl = a_survivor(age_at_rescue=19)
    sid = girl["survivor_id"]
    operation = await rescued_at(callers, T0, girl)
    opening = {
        "data": {
            "case_number": f"{uuid.uuid4().hex[:6]}/2024/HSST",
            "court": "Lao Cai Provincial People's Court",
            "operation_ids": [operation],
            "survivor_ids": [sid],
        },
        "occurred_at": (T0 + timedelta(days=3)).isoformat(),
    }
    response = await legal.post("/v1/prosecutions", opening)
    assert response.status == 201, await response.text()
    needed = await awaited(leadership, clock, T0 + timedelta(days=4), operation, "consent_needed")
    assert needed["survivor_id"] == sid
    assert needed["since"] == (T0 + timedelta(days=3)).isoformat()

    consent = event(
        "ConsentRecorded", purpose="prosecution", recipient="Procuracy", given_by="survivor"
    )
    case = f"/v1/survivors/{sid}/events"
    assert (await legal.post(case, {"events": [at(T0 + timedelta(days=5), consent)]})).status == 201

    async def given() -> bool:
        alerts = await alerts_of(leadership, clock, T0 + timedelta(days=6), operation)
        return "consent_needed" not in kinds(alerts)

    await eventually(given)
    withdrawn_at = T0 + timedelta(days=7)
    withdrawal = event("ConsentWithdrawn", purpose="prosecution", recipient="Procuracy")
    assert (await legal.post(case, {"events": [at(withdrawn_at, withdrawal)]})).status == 201
    again = await awaited(
        leadership, clock, T0 + timedelta(days=8), operation, "consent_needed", since=withdrawn_at
    )
    assert again["since"] == withdrawn_at.isoformat()
    assert again["alert_id"] != needed["alert_id"]


@pytest.mark.parametrize("role", [Role.FIELD, Role.LEGAL])
async def test_only_leadership_and_admins_read_and_acknowledge_alerts(
    callers: dict[Role, Caller], role: Role
) -> None:
    """The field and legal teams are refused (403); admins read them."""
    caller = callers[role]
    assert (await caller.get("/v1/alerts")).status == 403
    path = f"/v1/alerts/{uuid.uuid4()}/acknowledgement"
    assert (await caller.post(path, {})).status == 403
    assert (await callers[Role.ADMIN].get("/v1/alerts")).status == 200


async def test_acknowledging_an_alert_that_does_not_stand_is_not_found(
    callers: dict[Role, Caller],
) -> None:
    """An unknown alert id, or one that is not a UUID, is 404; an unknown field is 422."""
    admin = callers[Role.ADMIN]
    assert (await admin.post(f"/v1/alerts/{uuid.uuid4()}/acknowledgement", {})).status == 404
    assert (await admin.post("/v1/alerts/seen/acknowledgement", {})).status == 404
    refused = await admin.post(f"/v1/alerts/{uuid.uuid4()}/acknowledgement", {"who": "me"})
    assert refused.status == 422


# --- The rules as pure functions --------------------------------------------------------------

OPERATION = uuid.UUID(int=1)
SURVIVOR = uuid.UUID(int=2)
PROSECUTION = uuid.UUID(int=3)
LIMITS = Thresholds(no_update_by_stage={"aftercare": timedelta(days=30)})


def judged(
    *,
    operation: OperationFacts | None = None,
    journey: JourneyFacts | None = None,
    case: CaseFacts | None = None,
    named: ProsecutionFacts | None = None,
    after: timedelta,
) -> set[AlertKind]:
    """The kinds of alert standing `after` T0."""
    alerts = judge_alerts(
        [
            operation
            or OperationFacts(OPERATION, open=True, stage="rescued", last_update=T0 + after)
        ],
        [] if journey is None else [journey],
        {} if case is None else {SURVIVOR: case},
        [] if named is None else [named],
        T0 + after,
        LIMITS,
    )
    return {alert.kind for alert in alerts}


def in_status(status: str) -> JourneyFacts:
    """Her journey, in `status` since T0."""
    return JourneyFacts(OPERATION, SURVIVOR, status, T0, T0)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("facts", "before", "after", "kind"),
    [
        (
            {"operation": OperationFacts(OPERATION, open=True, stage="reported", last_update=T0)},
            7,
            7.01,
            "no_update",
        ),
        (
            {"operation": OperationFacts(OPERATION, open=True, stage="aftercare", last_update=T0)},
            30,
            30.01,
            "no_update",
        ),
        ({"journey": in_status("abroad")}, 30, 30.01, "survivor_abroad_30_days"),
        ({"journey": in_status("in_transit")}, 3, 3.01, "in_transit_72_hours"),
        (
            {
                "operation": OperationFacts(
                    OPERATION,
                    open=True,
                    stage="rescued",
                    last_update=T0 + timedelta(days=999),
                    awaiting_review_since=T0,
                )
            },
            1,
            1.01,
            "review_overdue",
        ),
        (
            {"journey": in_status("in_aftercare"), "case": CaseFacts(SURVIVOR, T0)},
            90,
            90.01,
            "aftercare_gap_90_days",
        ),
    ],
)
def test_each_rule_stands_only_after_its_threshold(
    facts: dict[str, Any], before: float, after: float, kind: str
) -> None:
    """Each time-based alert stands just after its threshold, and not at it."""
    assert kind not in judged(**facts, after=timedelta(days=before))
    assert kind in judged(**facts, after=timedelta(days=after))


@pytest.mark.unit
@pytest.mark.parametrize("hold", ["lost_contact", "declined_support", "independent"])
def test_her_case_s_hold_silences_her_journey_s_alerts(hold: str) -> None:
    """A survivor out of contact, declining help or independent is expected no service."""
    facts = {"journey": in_status("in_aftercare"), "case": CaseFacts(SURVIVOR, T0, hold)}
    assert judged(**facts, after=timedelta(days=200)) == set()


@pytest.mark.unit
def test_abroad_and_in_transit_are_judged_while_the_operation_is_open() -> None:
    """A closed operation's survivor abroad is not alerted; no update is not either."""
    closed = OperationFacts(OPERATION, open=False, stage="closed", last_update=T0)
    assert judged(operation=closed, journey=in_status("abroad"), after=timedelta(days=99)) == set()


@pytest.mark.unit
def test_consent_is_needed_until_it_stands() -> None:
    """An open prosecution naming her without a standing consent needs it, immediately."""
    named = ProsecutionFacts(PROSECUTION, SURVIVOR, (OPERATION,), T0, open=True)
    assert AlertKind.CONSENT_NEEDED in judged(named=named, after=timedelta(0))
    consented = ProsecutionFacts(
        PROSECUTION, SURVIVOR, (OPERATION,), T0, open=True, consent_standing=True
    )
    assert AlertKind.CONSENT_NEEDED not in judged(named=consented, after=timedelta(0))
    closed = ProsecutionFacts(PROSECUTION, SURVIVOR, (OPERATION,), T0, open=False)
    assert AlertKind.CONSENT_NEEDED not in judged(named=closed, after=timedelta(0))


@pytest.mark.unit
def test_an_alert_id_is_stable_for_its_episode_and_new_for_the_next() -> None:
    """The same kind, ids and start give the same id; another start gives another."""
    first = Alert(AlertKind.NO_UPDATE, OPERATION, None, T0)
    same = Alert(AlertKind.NO_UPDATE, OPERATION, None, T0.astimezone())
    later = Alert(AlertKind.NO_UPDATE, OPERATION, None, T0 + timedelta(seconds=1))
    assert first.alert_id == same.alert_id
    assert first.alert_id != later.alert_id
    assert Alert(AlertKind.REVIEW_OVERDUE, OPERATION, None, T0).alert_id != first.alert_id
