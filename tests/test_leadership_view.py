"""What leadership may not see: staff names, each survivor's details, and counts small enough
to single out a girl ("<5")."""

from __future__ import annotations

from typing import Any

from coordinator.domain.actors import Role
from tests.api import Caller, a_survivor, event, to_approval
from tests.test_http_projections import eventually

# A day no other test records a rescue on, so the window holds only this module's rescues.
QUIET_DAY = "2003-02-01"


async def rescued(callers: dict[Role, Caller], *survivors: dict[str, Any], on: str) -> str:
    """An operation whose rescue on the day `on` freed `survivors`."""
    field = callers[Role.FIELD]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    rescue = event("RescueExecuted", outcome="success", survivors=list(survivors))
    await field.record(operation, {**rescue, "occurred_at": f"{on}T08:00:00+07:00"})
    return operation


async def test_leadership_sees_no_staff_names_nor_survivors_details(
    callers: dict[Role, Caller],
) -> None:
    """The same operation read by the field team and by leadership: names and details only for
    the former; stage, statuses and timeline's shape for both."""
    girl = a_survivor(age_at_rescue=15, home_province="Lao Cai", ethnic_group="Dao")
    operation = await rescued(callers, girl, on="2026-01-05")
    field_view = await (await callers[Role.FIELD].get(f"/v1/operations/{operation}")).json()
    seen = await (await callers[Role.LEADERSHIP].get(f"/v1/operations/{operation}")).json()
    assert field_view["lead_investigator"] == "Investigator A"
    assert field_view["planned_by"] is not None
    assert field_view["approved_by"] is not None
    for staff in ("lead_investigator", "planned_by", "approved_by"):
        assert seen[staff] is None, staff
    assert {entry["recorded_by"] for entry in seen["timeline"]} == {None}
    assert [e["type"] for e in seen["timeline"]] == [e["type"] for e in field_view["timeline"]]
    (survivor,) = seen["survivors"]
    for detail in ("gender", "age_at_rescue", "home_province", "form", "ethnic_group"):
        assert survivor[detail] is None, detail
    assert (survivor["status"], survivor["found_in_country"]) == ("abroad", "CN")
    assert field_view["survivors"][0]["home_province"] == "Lao Cai"

    async def listed() -> bool:
        body = await (await callers[Role.LEADERSHIP].get("/v1/operations?limit=500")).json()
        return any(
            row["operation_id"] == operation and row["survivors"] for row in body["operations"]
        )

    await eventually(listed)
    listing = await (await callers[Role.LEADERSHIP].get("/v1/operations?limit=500")).json()
    row = next(r for r in listing["operations"] if r["operation_id"] == operation)
    assert row["survivors"][0].get("gender") is None
    assert row["survivors"][0].get("age_at_rescue") is None


async def test_counts_from_one_to_four_are_shown_to_leadership_as_under_five(
    callers: dict[Role, Caller],
) -> None:
    """One girl rescued on a quiet day: leadership sees "<5" for every count of that window,
    zero stays 0, admin sees 1; five girls are shown as 5."""
    await rescued(callers, a_survivor(age_at_rescue=16), on=QUIET_DAY)
    window = f"/v1/stats/impact?from={QUIET_DAY}&to=2003-02-02"
    admin, leadership = callers[Role.ADMIN], callers[Role.LEADERSHIP]

    async def counted() -> bool:
        body = await (await admin.get(window)).json()
        return bool(body["people_rescued"] == 1)

    await eventually(counted)
    exact = await (await admin.get(window)).json()
    shown = await (await leadership.get(window)).json()
    assert (exact["people_rescued"], exact["minors"], exact["by_gender"]) == (1, 1, {"female": 1})
    assert (shown["people_rescued"], shown["minors"], shown["by_gender"]) == (
        "<5",
        "<5",
        {"female": "<5"},
    )
    assert shown["people_recovered"] == 0  # zero stays 0
    assert "1" not in {str(value) for value in shown["by_country"].values()}
    five_day = "2003-03-01"
    await rescued(callers, *[a_survivor() for _ in range(5)], on=five_day)
    five_window = f"/v1/stats/impact?from={five_day}&to=2003-03-02"

    async def five_counted() -> bool:
        body = await (await leadership.get(five_window)).json()
        return bool(body["people_rescued"] == 5)

    await eventually(five_counted)
    assert (await (await leadership.get(five_window)).json())["by_gender"] == {"female": 5}
