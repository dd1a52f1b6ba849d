"""`?as_of=TIME` on the reads: an operation, a survivor's case and a prosecution as the
organisation knew them at that moment (events recorded up to then, `version` the last of them)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from coordinator.domain.actors import Role
from tests.api import Caller, a_survivor, event, to_approval


async def json_of(caller: Caller, path: str, status: int = 200) -> Any:
    """The JSON answer of a GET, expecting `status`."""
    response = await caller.get(path)
    assert response.status == status, await response.text()
    return await response.json()


async def recorded_at(caller: Caller, operation: str) -> list[datetime]:
    """When each event of an operation was recorded, by version."""
    stored = await json_of(caller, f"/v1/operations/{operation}/events")
    return [datetime.fromisoformat(e["recorded_at"]) for e in stored["events"]]


def at(moment: datetime) -> str:
    """`moment` as a query value, its `+` escaped."""
    return quote(moment.isoformat(), safe="")


async def test_an_operation_as_of_a_moment_shows_only_what_was_recorded_by_then(
    callers: dict[Role, Caller],
) -> None:
    """The plan recorded later is not in the record as of the moment before it."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await field.open()
    await field.record(operation, *to_approval()[:2])
    await field.record(operation, *to_approval()[2:])
    times = await recorded_at(field, operation)
    now = await json_of(leadership, f"/v1/operations/{operation}")
    assert now["version"] == 6
    then = await json_of(leadership, f"/v1/operations/{operation}?as_of={at(times[2])}")
    assert then["version"] == 3
    assert [entry["type"] for entry in then["timeline"]][-1] == "LeadRecorded"
    assert then["country_confirmed"] is False
    assert now["country_confirmed"] is True
    just_before = times[2] - timedelta(microseconds=1)
    assert (await json_of(field, f"/v1/operations/{operation}?as_of={at(just_before)}"))[
        "version"
    ] == 1
    before = times[0] - timedelta(seconds=1)
    await json_of(field, f"/v1/operations/{operation}?as_of={at(before)}", status=404)


async def test_a_zone_sent_with_an_unescaped_plus_still_reads(field: Caller) -> None:
    """`+07:00` typed into a browser arrives as a space; it is still read as the zone."""
    operation = await field.open()
    late = "2999-01-01T00:00:00+07:00"
    seen = await json_of(field, f"/v1/operations/{operation}?as_of={late}")
    assert seen["version"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2026-10-14T10:00:00",  # no zone
        "2026-13-01T00:00:00Z",
        "2026-10-14",
        "",
        "9" * 100,
        "0001-01-01T00:00:00+14:00",  # no UTC form
    ],
)
async def test_a_time_that_is_not_iso_8601_with_a_zone_is_a_400(
    callers: dict[Role, Caller], bad: str
) -> None:
    """Each of the three reads refuses the same way."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    operation = await field.open()
    for caller, path in (
        (field, f"/v1/operations/{operation}"),
        (field, f"/v1/survivors/{uuid.uuid4()}"),
        (legal, f"/v1/prosecutions/{uuid.uuid4()}"),
    ):
        answer = await json_of(caller, f"{path}?as_of={quote(bad, safe='')}", status=400)
        assert answer["error"] == "bad_request"


async def test_a_survivors_case_as_of_a_moment_holds_her_and_her_operations_events_by_then(
    callers: dict[Role, Caller],
) -> None:
    """Before her rescue she has no case; after it, later services and returns are not known."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await leadership.record(operation, event("RescueApproved"))
    girl = a_survivor(found_in_country="VN")
    sid = girl["survivor_id"]
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    rescued = (await recorded_at(field, operation))[-1]
    await field.record(operation, event("SurvivorReturned", survivor_ids=[sid], destination="home"))
    case = f"/v1/survivors/{sid}"
    response = await field.post(
        f"{case}/events", {"events": [event("SupportProvided", service="counselling")]}
    )
    assert response.status == 201, await response.text()
    now = await json_of(field, case)
    assert [s["service"] for s in now["services"]] == ["counselling"]
    then = await json_of(field, f"{case}?as_of={at(rescued)}")
    assert then["services"] == []
    assert then["version"] == 0
    assert then["status"] != now["status"]
    assert "SurvivorReturned" not in {entry["type"] for entry in then["timeline"]}
    assert then["personal"]["name"] == "Survivor Name"
    before = rescued - timedelta(microseconds=1)
    await json_of(field, f"{case}?as_of={at(before)}", status=404)


async def test_a_prosecution_as_of_a_moment_is_its_events_recorded_by_then(legal: Caller) -> None:
    """A defendant charged later is not in the prosecution as it stood before."""
    response = await legal.post(
        "/v1/prosecutions",
        {"data": {"case_number": "12/2026/HSST", "court": "Provincial People's Court"}},
    )
    assert response.status == 201, await response.text()
    prosecution = (await response.json())["prosecution_id"]
    opened = await json_of(legal, f"/v1/prosecutions/{prosecution}")
    opened_at = datetime.fromisoformat(opened["timeline"][0]["recorded_at"])
    charged = event(
        "DefendantCharged",
        defendant_id=str(uuid.uuid4()),
        role="recruiter",
        charges=[{"article": "150"}],
    )
    response = await legal.post(f"/v1/prosecutions/{prosecution}/events", {"events": [charged]})
    assert response.status == 201, await response.text()
    assert len((await json_of(legal, f"/v1/prosecutions/{prosecution}"))["defendants"]) == 1
    then = await json_of(legal, f"/v1/prosecutions/{prosecution}?as_of={at(opened_at)}")
    assert then["version"] == 1
    assert then["defendants"] == []
    before = opened_at - timedelta(microseconds=1)
    await json_of(legal, f"/v1/prosecutions/{prosecution}?as_of={at(before)}", status=404)
