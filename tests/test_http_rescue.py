"""A whole rescue through HTTP with four roles, and the role matrix of every endpoint."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from coordinator.domain.actors import Role
from tests.api import Caller, a_case_report, a_survivor, event, to_approval

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


async def test_a_whole_rescue_from_first_call_to_prosecution_after_closing(
    callers: dict[Role, Caller],
) -> None:
    """Report, investigation, partners, plan, approval, rescue of three, custody, return,
    reunion, support, prosecution, closing, and a verdict recorded after closing."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    leadership, admin = callers[Role.LEADERSHIP], callers[Role.ADMIN]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await field.record(
        operation,
        event(
            "PartnerEngaged",
            agency="Border Guard Lao Cai",
            agency_type="border_guard",
            country="VN",
            contact_officer="Officer C",
        ),
    )
    await leadership.record(operation, event("RescueApproved", note="approved after risk review"))
    girls = [a_survivor(), a_survivor(age_at_rescue=19), a_survivor(form="forced_marriage")]
    ids = [girl["survivor_id"] for girl in girls]
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=girls))
    await field.record(
        operation,
        event(
            "CustodyTransferred",
            survivor_ids=ids,
            from_party={"agency": "Yunnan Public Security", "country": "CN", "officer": "B"},
            to_party={"agency": "Border Guard Lao Cai", "country": "VN", "officer": "C"},
            place="Hekou-Lao Cai border gate",
        ),
    )
    await field.record(
        operation,
        event("SurvivorReturned", survivor_ids=ids, place="Lao Cai", destination="shelter"),
    )
    await legal.record(
        operation,
        event("TestimonyRecorded", survivor_id=ids[0], recorded_by="Lawyer D", sha256=SHA),
        event("EvidenceLogged", description="phone records", sha256=SHA, custodian="Lawyer D"),
        event("ProsecutionUpdated", phase="complaint_filed", court="Ha Giang People's Court"),
    )
    await field.record(
        operation,
        event("FamilyReunited", survivor_id=ids[0], place="Ha Giang", family_present=["mother"]),
        event("FamilyReunited", survivor_id=ids[1], place="Ha Giang", family_present=["father"]),
        event("SupportProvided", survivor_id=ids[0], service="counselling"),
        event("SupportProvided", survivor_id=ids[1], service="vocational_training"),
        event("SupportProvided", survivor_id=ids[2], service="shelter"),
    )
    await legal.record(operation, event("ProsecutionUpdated", phase="trial"))
    await admin.record(operation, event("OperationClosed", reason="survivors_independent"))
    closing = await legal.record(
        operation, event("ProsecutionUpdated", phase="verdict", summary="traffickers convicted")
    )

    status = await (await field.get(f"/v1/operations/{operation}")).json()
    assert status["stage"] == "closed"
    assert status["version"] == closing["version"]
    assert status["prosecution_phase"] == "verdict"
    statuses = {s["survivor_id"]: s["status"] for s in status["survivors"]}
    assert statuses == {ids[0]: "in_aftercare", ids[1]: "in_aftercare", ids[2]: "in_aftercare"}
    assert {p["agency_type"] for p in status["partners"]} == {"police", "border_guard"}
    roles = {entry["role"] for entry in status["timeline"]}
    assert roles == {"field", "legal", "leadership", "admin"}

    refused = await field.post(
        f"/v1/operations/{operation}/events", {"events": [event("StatusNoted", note="late")]}
    )
    assert refused.status == 422


ENDPOINTS: list[tuple[str, str, frozenset[Role]]] = [
    ("POST", "/v1/operations", frozenset({Role.FIELD, Role.ADMIN})),
    ("POST", "/v1/operations/{id}/events", frozenset(Role)),
    ("GET", "/v1/operations/{id}", frozenset(Role)),
    ("GET", "/v1/operations/{id}/events", frozenset({Role.FIELD, Role.LEGAL, Role.ADMIN})),
]


def _body(method: str, path: str, role: Role) -> Any:
    if method == "GET":
        return None
    if path == "/v1/operations":
        return {"data": a_case_report()}
    allowed_event = {
        Role.FIELD: event("StatusNoted", note="x"),
        Role.ADMIN: event("StatusNoted", note="x"),
        Role.LEGAL: event("EvidenceLogged", description="x", sha256=SHA),
        Role.LEADERSHIP: event("StatusNoted", note="x"),
    }[role]
    return {"events": [allowed_event]}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS)
async def test_role_matrix(
    callers: dict[Role, Caller], role: Role, method: str, path: str, allowed: frozenset[Role]
) -> None:
    """Each endpoint answers 403 to the roles the contract leaves out, and serves the others."""
    operation = await callers[Role.FIELD].open()
    url = path.replace("{id}", operation)
    caller = callers[role]
    body = _body(method, path, role)
    response = await (caller.get(url) if method == "GET" else caller.post(url, body))
    if role in allowed and not (role is Role.LEADERSHIP and path.endswith("/events")):
        assert response.status in {200, 201}, await response.text()
    else:
        assert response.status == 403, await response.text()
        assert (await response.json())["error"] == "forbidden"


@pytest.mark.parametrize(
    ("role", "event_type", "data", "status"),
    [
        (Role.LEGAL, "StatusNoted", {"note": "x"}, 403),
        (Role.LEGAL, "ProsecutionUpdated", {"phase": "arrest"}, 201),
        (Role.LEADERSHIP, "ProsecutionUpdated", {"phase": "arrest"}, 403),
        (Role.FIELD, "RescueApproved", {}, 403),
        (Role.ADMIN, "RescueApproved", {}, 403),
        (Role.FIELD, "PersonalDataErased", {"survivor_id": str(uuid.uuid4()), "reason": "x"}, 403),
    ],
)
async def test_who_may_record_which_event(
    callers: dict[Role, Caller], role: Role, event_type: str, data: dict[str, Any], status: int
) -> None:
    """Legal records legal events only; only leadership approves; erasure has its own call."""
    operation = await callers[Role.FIELD].open()
    response = await callers[role].post(
        f"/v1/operations/{operation}/events", {"events": [event(event_type, **data)]}
    )
    assert response.status == status, await response.text()
