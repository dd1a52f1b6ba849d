"""Rescues as they really happen, through HTTP as a field team, a lawyer and a director would.

Each test is one situation of the seeds that the single straight line of version 1 could not
record: an emergency rescue, an escape, a return without a handoff, a second attempt, care before
the return, years of aftercare, a survivor who declines help or is trafficked again, a
prosecution spanning operations, a correction that takes effect, and the board that no longer
hides the girl still abroad.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from coordinator.domain.actors import Role
from events.verifier.bundle_checks import verify_bundle
from tests.api import Caller, a_case_report, a_survivor, event, to_approval
from tests.test_http_projections import eventually

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HANDOFF = {
    "from_party": {"agency": "Yunnan Public Security", "country": "CN"},
    "to_party": {"agency": "Border Guard Lao Cai", "country": "VN"},
}


async def json_of(caller: Caller, path: str, status: int = 200) -> Any:
    """The JSON answer of `path`, expecting `status`."""
    response = await caller.get(path)
    assert response.status == status, await response.text()
    return await response.json()


async def refused(caller: Caller, path: str, body: Any, status: int = 422) -> str:
    """The error sentence of a refused POST, expecting `status`."""
    response = await caller.post(path, body)
    assert response.status == status, await response.text()
    detail: str = (await response.json())["detail"]
    return detail


async def investigating(field: Caller, **report: Any) -> str:
    """An operation whose investigation is open."""
    operation = await field.open(**report)
    await field.record(operation, event("InvestigationOpened", lead_investigator="Investigator A"))
    return operation


async def approved(callers: dict[Role, Caller], **report: Any) -> str:
    """An operation whose rescue plan leadership approved."""
    operation = await callers[Role.FIELD].open(**report)
    await callers[Role.FIELD].record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    return operation


async def settled_figures(caller: Caller) -> dict[str, Any]:
    """The impact figures once the projection has caught up with the log."""
    previous: dict[str, Any] = {}

    async def steady() -> bool:
        nonlocal previous
        figures = await json_of(caller, "/v1/stats/impact")
        settled = figures == previous
        previous = figures
        if not settled:
            await asyncio.sleep(0.3)
        return settled

    await eventually(steady)
    return previous


def survivors_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An operation's survivors by id."""
    return {s["survivor_id"]: s for s in view["survivors"]}


async def board_row(caller: Caller, operation: str, **expected: Any) -> dict[str, Any]:
    """The operation's board row once it shows `expected`."""
    found: dict[str, Any] = {}

    async def shown() -> bool:
        rows = (await json_of(caller, "/v1/board"))["operations"]
        row = next((r for r in rows if r["operation_id"] == operation), None)
        if row is None or any(row.get(k) != v for k, v in expected.items()):
            return False
        found.update(row)
        return True

    await eventually(shown)
    return found


async def test_an_emergency_rescue_needs_no_approval_and_awaits_leadership_s_review(
    callers: dict[Role, Caller],
) -> None:
    """Seed 001: "we cannot ignore a child crying for help". The team acts at once; leadership
    reviews after the fact, and only leadership may."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await investigating(field)
    girl = a_survivor()
    no_reason = event("RescueExecuted", outcome="success", survivors=[girl], emergency=True)
    assert "emergency_reason" in await refused(
        field, f"/v1/operations/{operation}/events", {"events": [no_reason]}
    )
    plain = event("RescueExecuted", outcome="success", survivors=[girl])
    assert "once the rescue is approved" in await refused(
        field, f"/v1/operations/{operation}/events", {"events": [plain]}
    )
    await field.record(
        operation,
        event(
            "RescueExecuted",
            outcome="success",
            survivors=[girl],
            emergency=True,
            emergency_reason="a child called crying from a locked room",
        ),
    )
    view = await json_of(field, f"/v1/operations/{operation}")
    assert view["awaiting_review"] is True
    assert view["stage"] == "rescued"
    row = await board_row(leadership, operation, version=view["version"])
    assert "awaiting_review" in row["flags"]
    review = event("RescueReviewed", decision="endorsed", note="right call")
    assert (
        await field.post(f"/v1/operations/{operation}/events", {"events": [review]})
    ).status == 403
    await leadership.record(operation, review)
    assert (await json_of(field, f"/v1/operations/{operation}"))["awaiting_review"] is False
    again = await refused(leadership, f"/v1/operations/{operation}/events", {"events": [review]})
    assert "awaits review" in again


async def test_a_girl_who_escaped_is_recovered_without_a_rescue_and_comes_home_on_her_own(
    callers: dict[Role, Caller],
) -> None:
    """She escaped and called for help: registered by SurvivorRecovered, with no plan or
    approval; found abroad, she returns without a handoff when `crossing` says how. (Admins see
    exact figures; leadership sees small counts as "<5".)"""
    field, admin = callers[Role.FIELD], callers[Role.ADMIN]
    operation = await field.open(channel="social_media", reference=f"BD-{uuid.uuid4().hex[:6]}")
    girl = a_survivor(age_at_rescue=None, age_estimated=True)
    before = await settled_figures(admin)  # the earlier tests' rescues counted first
    await field.record(operation, event("SurvivorRecovered", how="escaped", survivors=[girl]))
    view = await json_of(field, f"/v1/operations/{operation}")
    assert view["phase"] == "reported"
    assert survivors_of(view)[girl["survivor_id"]]["status"] == "abroad"
    path = f"/v1/operations/{operation}/events"
    silent = event("SurvivorReturned", survivor_ids=[girl["survivor_id"]], destination="home")
    assert "crossing" in await refused(field, path, {"events": [silent]})
    handoff = {**silent, "data": {**silent["data"], "crossing": "handoff"}}
    assert "CustodyTransferred" in await refused(field, path, {"events": [handoff]})
    await field.record(
        operation,
        event(
            "SurvivorReturned",
            survivor_ids=[girl["survivor_id"]],
            destination="home",
            crossing="on_own",
        ),
    )
    view = await json_of(field, f"/v1/operations/{operation}")
    assert survivors_of(view)[girl["survivor_id"]]["status"] == "home"

    async def counted() -> bool:
        after = await json_of(admin, "/v1/stats/impact")
        return bool(after["people_recovered"] == before["people_recovered"] + 1)

    await eventually(counted)
    after = await json_of(admin, "/v1/stats/impact")
    assert after["people_rescued"] == before["people_rescued"]  # no NGO rescue was invented


async def test_a_second_attempt_after_a_partial_rescue_frees_the_girl_left_behind(
    callers: dict[Role, Caller],
) -> None:
    """Seed 003: "we never accept leaving a person behind". After a partial rescue, a new lead,
    location and plan may be recorded on the same operation, with its own approval."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await approved(callers)
    first, second = a_survivor(), a_survivor()
    await field.record(operation, event("RescueExecuted", outcome="partial", survivors=[first]))
    await field.record(
        operation,
        event("LeadRecorded", source="first girl", reliability="B"),
        event("LocationConfirmed", country="CN", place="another village"),
        event("RescuePlanned", planned_for="2026-11-01", risk="high"),
    )
    path = f"/v1/operations/{operation}/events"
    too_soon = event("RescueExecuted", outcome="success", survivors=[second])
    assert "approved" in await refused(field, path, {"events": [too_soon]})
    await leadership.record(operation, event("RescueApproved"))
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[second]))
    view = await json_of(field, f"/v1/operations/{operation}")
    assert set(survivors_of(view)) == {first["survivor_id"], second["survivor_id"]}
    assert view["rescues"] == 2
    after_success = event("LeadRecorded", source="rumour", reliability="F")
    assert "successful rescue" in await refused(field, path, {"events": [after_success]})


async def test_care_and_a_family_meeting_before_her_return_leave_her_journey_where_it_is(
    callers: dict[Role, Caller],
) -> None:
    """A clinic abroad, and her mother at the border gate: recorded wherever she is; her status
    moves only with her journey."""
    field = callers[Role.FIELD]
    operation = await approved(callers)
    girl = a_survivor()
    sid = girl["survivor_id"]
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    await field.record(
        operation,
        event("SupportProvided", survivor_id=sid, service="healthcare"),
        event("CustodyTransferred", survivor_ids=[sid], **HANDOFF),
        event("FamilyReunited", survivor_id=sid, place="Lao Cai border gate"),
    )
    view = await json_of(field, f"/v1/operations/{operation}")
    assert survivors_of(view)[sid]["status"] == "in_transit"
    await field.record(
        operation, event("SurvivorReturned", survivor_ids=[sid], destination="shelter")
    )
    assert survivors_of(await json_of(field, f"/v1/operations/{operation}"))[sid]["status"] == (
        "in_shelter"
    )


async def test_aftercare_goes_on_in_her_case_for_years_after_the_operation_closes(
    callers: dict[Role, Caller],
) -> None:
    """Seed 003: "support does not end until the survivor is independent". The operation closes
    as handed to aftercare; her services go on her case, which leadership may not read."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await approved(callers)
    girl = a_survivor()
    sid = girl["survivor_id"]
    path = f"/v1/operations/{operation}/events"
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    early = event("OperationClosed", reason="handed_to_aftercare")
    assert "returned" in await refused(field, path, {"events": [early]})
    await field.record(
        operation,
        event("CustodyTransferred", survivor_ids=[sid], **HANDOFF),
        event("SurvivorReturned", survivor_ids=[sid], destination="home"),
        event("OperationClosed", reason="handed_to_aftercare"),
    )
    late = event("SupportProvided", survivor_id=sid, service="education")
    assert "closed" in await refused(field, path, {"events": [late]})
    case_path = f"/v1/survivors/{sid}/events"
    response = await field.post(
        case_path,
        {
            "events": [
                event("SupportProvided", service="vocational_training", note="sewing course"),
                event(
                    "ConsentRecorded", purpose="aftercare", recipient="Shelter", given_by="guardian"
                ),
            ]
        },
    )
    assert response.status == 201, await response.text()
    case = await json_of(field, f"/v1/survivors/{sid}")
    assert case["status"] == "in_aftercare"
    assert case["operations"] == [operation]
    assert [s["service"] for s in case["services"]] == ["vocational_training"]
    assert case["consents"][0]["given_by"] == "guardian"
    assert (await leadership.get(f"/v1/survivors/{sid}")).status == 403
    await field.post(case_path, {"events": [event("SurvivorIndependent", note="runs a shop")]})
    assert (await json_of(field, f"/v1/survivors/{sid}"))["status"] == "independent"


async def test_a_minor_s_consent_is_her_guardian_s(callers: dict[Role, Caller]) -> None:
    """A 16-year-old's consent to a prosecution needs her guardian."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    operation = await approved(callers)
    girl = a_survivor(age_at_rescue=16)
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    path = f"/v1/survivors/{girl['survivor_id']}/events"
    own = event(
        "ConsentRecorded", purpose="prosecution", recipient="Procuracy", given_by="survivor"
    )
    assert "guardian" in await refused(legal, path, {"events": [own]})
    guardian = {**own, "data": {**own["data"], "given_by": "guardian"}}
    assert (await legal.post(path, {"events": [guardian]})).status == 201
    support = event("SupportProvided", service="counselling")
    assert (await legal.post(path, {"events": [support]})).status == 403


async def test_declined_help_lost_contact_and_re_trafficking_move_her_status_back(
    callers: dict[Role, Caller],
) -> None:
    """Seed 004: teenagers who want to keep working. Statuses move back as her life does; a girl
    trafficked again is registered by the new operation under the same id, counted once."""
    field, admin = callers[Role.FIELD], callers[Role.ADMIN]
    first = await approved(callers)
    girl = a_survivor()
    sid = girl["survivor_id"]
    before = await settled_figures(admin)
    await field.record(first, event("RescueExecuted", outcome="success", survivors=[girl]))
    case = f"/v1/survivors/{sid}/events"

    async def status() -> str:
        return str((await json_of(field, f"/v1/survivors/{sid}"))["status"])

    assert (await field.post(case, {"events": [event("SupportDeclined")]})).status == 201
    assert await status() == "declined_support"
    assert (await field.post(case, {"events": [event("ContactLost")]})).status == 201
    assert await status() == "lost_contact"
    assert "lost" in await refused(field, case, {"events": [event("ContactLost")]})
    second = await approved(callers)
    again = event("RescueExecuted", outcome="success", survivors=[girl])
    refusal = await refused(field, f"/v1/operations/{second}/events", {"events": [again]})
    assert "SurvivorRetrafficked" in refusal
    response = await field.post(
        case, {"events": [event("SurvivorRetrafficked", operation_id=second)]}
    )
    assert response.status == 201
    assert await status() == "re_trafficked"
    await field.record(second, again)
    assert await status() == "abroad"
    third = await approved(callers)
    assert "SurvivorRetrafficked" in await refused(
        field, f"/v1/operations/{third}/events", {"events": [again]}
    )
    body = await json_of(field, f"/v1/survivors/{sid}")
    assert body["operations"] == [first, second]

    async def listed() -> bool:
        rows = (await json_of(field, "/v1/survivors?status=abroad&limit=500"))["survivors"]
        return sid in {row["survivor_id"] for row in rows}

    await eventually(listed)

    async def counted_once() -> bool:
        figures = await json_of(admin, "/v1/stats/impact")
        return bool(figures["rescues"] == before["rescues"] + 2)

    await eventually(counted_once)
    figures = await json_of(admin, "/v1/stats/impact")
    assert figures["people_rescued"] == before["people_rescued"] + 1


async def test_one_person_cannot_be_registered_by_two_operations_at_once(
    callers: dict[Role, Caller],
) -> None:
    """Two operations racing to register the same survivor_id: one wins, the other is refused,
    and the registrations table holds her once."""
    field = callers[Role.FIELD]
    first, second = await approved(callers), await approved(callers)
    girl = a_survivor()
    body = {"events": [event("RescueExecuted", outcome="success", survivors=[girl])]}
    answers = await asyncio.gather(
        field.post(f"/v1/operations/{first}/events", body),
        field.post(f"/v1/operations/{second}/events", body),
    )
    assert sorted(a.status for a in answers) == [201, 422]


async def test_a_prosecution_spans_operations_and_takes_testimony_from_any_witness(
    callers: dict[Role, Caller],
) -> None:
    """One trafficking ring, two operations that freed its victims: defendants, charges under
    the penal code, hearings, testimony from a mother and a police officer, a verdict, an
    appeal and a new verdict; leadership reads it without personal data; its audit trail
    bundles every linked stream and verifies offline."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    leadership = callers[Role.LEADERSHIP]
    operations, girls = [], []
    for _ in range(2):
        operation = await approved(callers)
        girl = a_survivor()
        await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
        operations.append(operation)
        girls.append(girl["survivor_id"])
    await field.post(
        f"/v1/survivors/{girls[0]}/events",
        {"events": [event("SupportProvided", service="counselling", note="nightmares")]},
    )
    opened = {
        "data": {
            "case_number": "37/2026/HSST",
            "court": "Lao Cai Provincial People's Court",
            "province": "Lao Cai",
            "operation_ids": operations,
            "survivor_ids": girls,
        }
    }
    assert (await field.post("/v1/prosecutions", opened)).status == 403
    response = await legal.post("/v1/prosecutions", opened)
    assert response.status == 201, await response.text()
    prosecution = (await response.json())["prosecution_id"]
    defendant = str(uuid.uuid4())
    path = f"/v1/prosecutions/{prosecution}/events"
    steps = [
        event(
            "DefendantCharged",
            defendant_id=defendant,
            role="recruiter",
            charges=[{"article": "150", "text": "trafficking in persons"}],
            personal={"name": "Defendant Name"},
        ),
        event("HearingHeld", held_on="2026-11-20", kind="trial"),
        event("TestimonyRecorded", witness="family", recorded_by="Lawyer D", sha256=SHA),
        event("TestimonyRecorded", witness="police", recorded_by="Lawyer D", sha256=SHA),
        event("TestimonyRecorded", survivor_id=girls[1], recorded_by="Lawyer D", sha256=SHA),
        event("VerdictReached", defendant_id=defendant, verdict="convicted", sentence_months=96),
        event("AppealFiled", defendant_id=defendant, by="defence"),
        event("VerdictReached", defendant_id=defendant, verdict="convicted", sentence_months=84),
    ]
    response = await legal.post(path, {"events": steps})
    assert response.status == 201, await response.text()
    stranger = event(
        "TestimonyRecorded", survivor_id=str(uuid.uuid4()), recorded_by="X", sha256=SHA
    )
    assert "not a survivor of this prosecution" in await refused(
        legal, path, {"events": [stranger]}
    )
    seen = await json_of(leadership, f"/v1/prosecutions/{prosecution}")
    assert seen["defendants"][0]["personal"] is None
    assert seen["defendants"][0]["sentence_months"] == 84
    assert seen["testimonies"] == 3
    read = await json_of(legal, f"/v1/prosecutions/{prosecution}")
    assert read["defendants"][0]["personal"] == {"name": "Defendant Name"}
    bundle = await json_of(legal, f"/v1/prosecutions/{prosecution}/audit-trail")
    keys = await json_of(legal, "/v1/audit/public-key")
    report = verify_bundle(json.loads(json.dumps(bundle)), trusted_keys=keys["keys"])
    assert report.ok, report.summary()
    streams = {s["stream_id"] for s in bundle["streams"]}
    assert {prosecution, *operations, girls[0]} <= streams
    assert "nightmares" not in json.dumps(bundle)  # counselling never reaches the defence


async def test_a_correction_takes_effect_while_the_original_stays_in_the_log(
    callers: dict[Role, Caller],
) -> None:
    """She was found in Vietnam, not China: the correction changes her journey and the board;
    the original event is still in the stream as recorded."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await approved(callers, reference="BD-OLD")
    girl = a_survivor()
    answer = await field.record(
        operation, event("RescueExecuted", outcome="success", survivors=[girl])
    )
    rescue_id = answer["events"][0]["event_id"]
    view = await json_of(field, f"/v1/operations/{operation}")
    first_event = view["timeline"][0]["event_id"]
    corrected = {**girl, "found_in_country": "VN"}
    await field.record(
        operation,
        event(
            "EventCorrected",
            corrects_event_id=rescue_id,
            reason="she was found in Mong Cai, on our side",
            corrected_data={"survivors": [corrected]},
        ),
        event(
            "EventCorrected",
            corrects_event_id=first_event,
            reason="the case number was mistyped",
            corrected_data={"reference": "BD-NEW"},
        ),
    )
    view = await json_of(field, f"/v1/operations/{operation}")
    assert survivors_of(view)[girl["survivor_id"]]["found_in_country"] == "VN"
    assert survivors_of(view)[girl["survivor_id"]]["status"] == "in_transit"
    assert view["reference"] == "BD-NEW"
    stored = await json_of(field, f"/v1/operations/{operation}/events")
    original = next(e for e in stored["events"] if e["event_id"] == rescue_id)
    assert original["data"]["survivors"][0]["found_in_country"] == "CN"
    await board_row(leadership, operation, reference="BD-NEW", stage="in_transit")
    path = f"/v1/operations/{operation}/events"
    new_id = {**girl, "survivor_id": str(uuid.uuid4())}
    change_id = event(
        "EventCorrected",
        corrects_event_id=rescue_id,
        reason="x",
        corrected_data={"survivors": [new_id]},
    )
    assert "id" in await refused(field, path, {"events": [change_id]})


async def test_the_board_shows_the_girl_still_abroad(callers: dict[Role, Caller]) -> None:
    """One girl is home, one is still in China: the board's stage is the least advanced one's,
    and it counts each survivor's whereabouts."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await approved(callers)
    home, abroad = a_survivor(), a_survivor()
    await field.record(
        operation, event("RescueExecuted", outcome="success", survivors=[home, abroad])
    )
    await field.record(
        operation,
        event("CustodyTransferred", survivor_ids=[home["survivor_id"]], **HANDOFF),
        event("SurvivorReturned", survivor_ids=[home["survivor_id"]], destination="home"),
    )
    view = await json_of(field, f"/v1/operations/{operation}")
    assert view["stage"] == "rescued"
    row = await board_row(leadership, operation, version=view["version"])
    assert row["stage"] == "rescued"
    assert row["survivors_by_status"] == {"abroad": 1, "home": 1}


async def test_partners_the_seeds_name_and_a_victim_without_papers(
    callers: dict[Role, Caller],
) -> None:
    """The Women's Union, the procuracy, the courts and social affairs; a girl whose age nobody
    knows is registered with it unknown."""
    field = callers[Role.FIELD]
    operation = await investigating(field)
    await field.record(
        operation,
        *[
            event("PartnerEngaged", agency=name, agency_type=kind, country="VN")
            for name, kind in [
                ("Women's Union", "womens_union"),
                ("Procuracy", "procuracy"),
                ("People's Court", "court"),
                ("DOLISA", "social_affairs"),
            ]
        ],
    )
    girl = a_survivor(age_at_rescue=None, age_estimated=True, ethnic_group="H'Mong")
    await field.record(operation, event("SurvivorRecovered", how="police_raid", survivors=[girl]))
    view = await json_of(field, f"/v1/operations/{operation}")
    record = survivors_of(view)[girl["survivor_id"]]
    assert (record["age_at_rescue"], record["age_estimated"], record["ethnic_group"]) == (
        None,
        True,
        "H'Mong",
    )
    assert {p["agency_type"] for p in view["partners"]} == {
        "womens_union",
        "procuracy",
        "court",
        "social_affairs",
    }


async def test_an_id_of_one_kind_cannot_be_used_as_another(callers: dict[Role, Caller]) -> None:
    """A survivor's id is not an operation's: appending under the wrong path is 422, reading
    under it is 404."""
    field = callers[Role.FIELD]
    operation = await approved(callers)
    girl = a_survivor()
    sid = girl["survivor_id"]
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    await field.post(f"/v1/survivors/{sid}/events", {"events": [event("ContactLost")]})
    note = {"events": [event("StatusNoted", note="hello")]}
    assert "not an operation" in await refused(field, f"/v1/operations/{sid}/events", note)
    assert (await field.get(f"/v1/operations/{sid}")).status == 404
    assert (await field.get(f"/v1/operations/{sid}/events")).status == 404
    legal = callers[Role.LEGAL]
    assert (await legal.get(f"/v1/operations/{sid}/audit-trail")).status == 404
    reopen = {"operation_id": sid, "data": a_case_report()}
    assert (await field.post("/v1/operations", reopen)).status == 422
    assert (await field.get(f"/v1/survivors/{operation}")).status == 404
    assert "is the id of an operation" in await refused(
        field, f"/v1/survivors/{operation}/events", note
    )
    nobody = await field.post(f"/v1/survivors/{uuid.uuid4()}/events", note)
    assert nobody.status == 404
    opened = {
        "prosecution_id": str(uuid.uuid4()),
        "data": {"case_number": "1/2026", "court": "Court"},
    }
    second_girl = a_survivor()
    await field.record(
        await approved(callers),
        event("RescueExecuted", outcome="success", survivors=[second_girl]),
    )
    as_her = {**opened, "prosecution_id": second_girl["survivor_id"]}
    assert "survivor's id" in await refused(legal, "/v1/prosecutions", as_her)


async def test_erasure_goes_on_her_case_and_takes_the_missing_person_with_her(
    callers: dict[Role, Caller],
) -> None:
    """Her mother reported her missing by name: erasing her erases that name too."""
    field, admin = callers[Role.FIELD], callers[Role.ADMIN]
    missing = str(uuid.uuid4())
    report = a_case_report()
    report["missing_persons"][0]["missing_person_id"] = missing
    operation = await approved(callers, **report)
    girl = a_survivor(missing_person_id=missing)
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    sid = girl["survivor_id"]
    response = await admin.client.delete(
        f"/v1/survivors/{sid}/personal-data",
        json={"reason": "she asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200, await response.text()
    stored = await json_of(field, f"/v1/operations/{operation}/events")
    reported = stored["events"][0]["data"]["missing_persons"][0]["personal"]
    assert reported == {"erased": True}
    assert reported != {"name": "Missing Girl"}
    case = await json_of(field, f"/v1/survivors/{sid}")
    assert case["personal_erased"] is True
    assert case["timeline"][-1]["type"] == "PersonalDataErased"
