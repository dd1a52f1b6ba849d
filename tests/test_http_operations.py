"""The field team's API through HTTP with real tokens: recording, conflicts, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.http.access import AUTHENTICATOR
from coordinator.http.answers import AppendAnswer
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from tests.api import Caller, Client, a_case_report, a_survivor, event, to_approval


@pytest.fixture(scope="module")
def app_settings(database_url: str) -> Settings:
    """The real app on the module's database, refusing bodies over 64 KiB."""
    return Settings(database_url=database_url, max_body_bytes=64 * 1024)


async def test_opening_an_operation_answers_201_with_version_1(field: Caller) -> None:
    """A report opens an operation at version 1."""
    response = await field.post("/v1/operations", {"data": a_case_report()})
    assert response.status == 201
    body = await response.json()
    assert body["version"] == 1
    assert uuid.UUID(body["operation_id"])


async def test_a_client_chosen_operation_id_is_kept_and_a_resend_answers_the_same(
    field: Caller,
) -> None:
    """An offline team's operation and event ids make the report safe to send twice."""
    body = {
        "operation_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-10-01T09:00:00+07:00",
        "data": a_case_report(),
    }
    first = await field.post("/v1/operations", body)
    second = await field.post("/v1/operations", body)
    assert first.status == second.status == 201
    assert (
        await first.json()
        == await second.json()
        == {
            "operation_id": body["operation_id"],
            "version": 1,
        }
    )


async def test_an_append_answers_the_documented_shape(field: Caller) -> None:
    operation = await field.open()
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    body = {
        "expected_version": 1,
        "events": [
            {**event("StatusNoted", note="left for the border"), "event_id": ids[0]},
            {**event("StatusNoted", note="reached the border"), "event_id": ids[1]},
        ],
    }
    response = await field.post(f"/v1/operations/{operation}/events", body)
    assert response.status == 201
    answer = await response.json()
    assert AppendAnswer.model_validate(answer).model_dump(mode="json") == answer
    assert answer == {
        "operation_id": operation,
        "version": 3,
        "events": [{"event_id": ids[0], "version": 2}, {"event_id": ids[1], "version": 3}],
    }


async def test_a_batch_is_appended_atomically(field: Caller) -> None:
    """A batch whose last event breaks a rule appends none of its events."""
    operation = await field.open()
    response = await field.post(
        f"/v1/operations/{operation}/events",
        {
            "events": [
                event("InvestigationOpened", lead_investigator="A"),
                event("FamilyReunited", survivor_id=str(uuid.uuid4())),
            ]
        },
    )
    assert response.status == 422
    status = await (await field.get(f"/v1/operations/{operation}")).json()
    assert status["version"] == 1
    assert status["stage"] == "reported"


async def test_a_stale_expected_version_is_409_with_the_actual_version(field: Caller) -> None:
    """Two phones that read version 1 cannot both write version 2."""
    operation = await field.open()
    batch = {"expected_version": 1, "events": [event("StatusNoted", note="first")]}
    assert (await field.post(f"/v1/operations/{operation}/events", batch)).status == 201
    other = {"expected_version": 1, "events": [event("StatusNoted", note="second")]}
    response = await field.post(f"/v1/operations/{operation}/events", other)
    assert response.status == 409
    body = await response.json()
    assert body["error"] == "version_conflict"
    assert body["actual_version"] == 2


async def test_resending_an_offline_batch_appends_nothing(field: Caller) -> None:
    """A batch with client ids and past times, sent twice, is recorded once and answered twice."""
    operation = await field.open()
    batch = {
        "expected_version": 1,
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "type": "InvestigationOpened",
                "occurred_at": "2026-10-02T08:00:00+07:00",
                "data": {"lead_investigator": "A"},
            },
            {
                "event_id": str(uuid.uuid4()),
                "type": "StatusNoted",
                "occurred_at": "2026-10-02T09:30:00+07:00",
                "data": {"note": "met the informant", "place": "Lao Cai"},
            },
        ],
    }
    first = await field.post(f"/v1/operations/{operation}/events", batch)
    second = await field.post(f"/v1/operations/{operation}/events", batch)
    assert first.status == second.status == 201
    assert await first.json() == await second.json()
    events = await (await field.get(f"/v1/operations/{operation}/events")).json()
    assert [e["version"] for e in events["events"]] == [1, 2, 3]
    assert events["events"][1]["occurred_at"].startswith("2026-10-02T01:00:00")


async def test_the_same_event_id_with_other_content_is_409(field: Caller) -> None:
    """Reusing an event id for a different event is refused."""
    operation = await field.open()
    event_id = str(uuid.uuid4())
    first = {"events": [{"event_id": event_id, "type": "StatusNoted", "data": {"note": "a"}}]}
    changed = {"events": [{"event_id": event_id, "type": "StatusNoted", "data": {"note": "b"}}]}
    assert (await field.post(f"/v1/operations/{operation}/events", first)).status == 201
    response = await field.post(f"/v1/operations/{operation}/events", changed)
    assert response.status == 409
    assert (await response.json())["error"] == "event_id_conflict"


async def test_approval_by_leadership_moves_the_plan_to_approved(
    field: Caller, leadership: Caller
) -> None:
    """Leadership approves a plan the field team made."""
    operation = await field.open()
    await field.record(operation, *to_approval())
    answer = await leadership.record(operation, event("RescueApproved", note="go"))
    status = await (await leadership.get(f"/v1/operations/{operation}")).json()
    assert answer["version"] == 7
    assert status["stage"] == "approved"


async def test_the_planner_cannot_approve_their_own_plan(
    client: Client, pool: asyncpg.Pool, field: Caller
) -> None:
    """A leadership token held by the planner's name is refused with the rule."""
    operation = await field.open()
    planner_name = f"planner-{uuid.uuid4().hex[:6]}"
    planner = Caller(client, await create_token(pool, planner_name, Role.FIELD))
    await planner.record(operation, *to_approval())
    # The same person's name under a leadership token: still the planner.
    await pool.execute(
        "UPDATE access_tokens SET name = name || '-old' WHERE name = $1", planner_name
    )
    same_person = Caller(client, await create_token(pool, planner_name, Role.LEADERSHIP))
    response = await same_person.post(
        f"/v1/operations/{operation}/events", {"events": [event("RescueApproved")]}
    )
    assert response.status == 422
    assert "planner" in (await response.json())["detail"].lower()


async def test_leadership_sees_survivors_without_personal_data(
    field: Caller, leadership: Caller
) -> None:
    """The field team sees a survivor's personal data; leadership sees null."""
    operation = await field.open()
    await field.record(operation, *to_approval())
    await leadership.record(operation, event("RescueApproved"))
    await field.record(
        operation, event("RescueExecuted", outcome="success", survivors=[a_survivor()])
    )
    as_field = await (await field.get(f"/v1/operations/{operation}")).json()
    as_leadership = await (await leadership.get(f"/v1/operations/{operation}")).json()
    assert as_field["survivors"][0]["personal"]["name"] == "Survivor Name"
    assert as_leadership["survivors"][0]["personal"] is None
    assert "Survivor Name" not in str(as_leadership)


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        (b"{not json", 400, "bad_request"),
        (b'{"data": {}, "data": {}}', 400, "bad_request"),
        (b'{"data": {"channel": "family", "x": NaN}}', 400, "bad_request"),
        (b"[]", 422, "validation_error"),
        (b'{"data": {"channel": "carrier pigeon"}}', 422, "validation_error"),
        (b'{"data": {"channel": "family", "suspected_country": "XX"}}', 422, "validation_error"),
        (b'{"data": {"channel": "family"}, "operation_id": "not-a-uuid"}', 422, "validation_error"),
        (
            b'{"data": {"channel": "family"}, "occurred_at": "2999-01-01T00:00:00Z"}',
            422,
            "validation_error",
        ),
        (
            b'{"data": {"channel": "family"}, "occurred_at": "2026-01-01T00:00:00"}',
            422,
            "validation_error",
        ),
    ],
)
async def test_bad_input_gets_a_clear_error_and_changes_nothing(
    client: Client, field: Caller, pool: asyncpg.Pool, raw: bytes, status: int, error: str
) -> None:
    """Malformed or invalid bodies are refused with the contract's error body; nothing is stored."""
    before = await pool.fetchval("SELECT count(*) FROM events")
    response = await client.post(
        "/v1/operations",
        data=raw,
        headers={"Authorization": f"Bearer {field.token}", "Content-Type": "application/json"},
    )
    body = await response.json()
    assert response.status == status
    assert body["error"] == error
    assert body["detail"]
    assert "Traceback" not in body["detail"]
    assert await pool.fetchval("SELECT count(*) FROM events") == before


async def test_an_oversized_body_is_413(field: Caller) -> None:
    """A body over the limit is refused with 413 before it is parsed."""
    huge = {"data": a_case_report(note="x" * 70_000)}
    response = await field.post("/v1/operations", huge)
    assert response.status == 413
    assert (await response.json())["error"] == "payload_too_large"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
async def test_a_missing_or_unknown_token_is_401(client: Client, header: str | None) -> None:
    """Every /v1 call needs a valid bearer token."""
    headers = {"Authorization": header} if header else {}
    response = await client.get(f"/v1/operations/{uuid.uuid4()}", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] == "unauthorized"


async def test_a_revoked_token_stops_working(client: Client, pool: asyncpg.Pool) -> None:
    """After revocation (and the short cache) a token is refused."""
    from coordinator.service.tokens import revoke_token  # noqa: PLC0415

    name = f"leaver-{uuid.uuid4().hex[:6]}"
    caller = Caller(client, await create_token(pool, name, Role.FIELD))
    assert (await caller.get(f"/v1/operations/{uuid.uuid4()}")).status == 404
    await revoke_token(pool, name)
    client.app[AUTHENTICATOR].forget()  # what CACHE_SECONDS of waiting would do
    response = await caller.get(f"/v1/operations/{uuid.uuid4()}")
    assert response.status == 401


async def test_unknown_operation_is_404(field: Caller) -> None:
    """Reading or writing an operation that does not exist is 404."""
    missing = uuid.uuid4()
    assert (await field.get(f"/v1/operations/{missing}")).status == 404
    response = await field.post(
        f"/v1/operations/{missing}/events", {"events": [event("StatusNoted", note="x")]}
    )
    assert response.status == 404


async def test_every_stored_event_records_who_and_which_request(field: Caller) -> None:
    """Each event's metadata names the token, its role and the request id."""
    operation = await field.open()
    response = await field.client.post(
        f"/v1/operations/{operation}/events",
        json={"events": [event("StatusNoted", note="x")]},
        headers={"Authorization": f"Bearer {field.token}", "X-Request-Id": "req-123"},
    )
    assert response.status == 201
    stored = await (await field.get(f"/v1/operations/{operation}/events")).json()
    metadata: dict[str, Any] = stored["events"][-1]["metadata"]
    assert metadata["role"] == "field"
    assert metadata["recorded_by"].startswith("field-")
    assert metadata["request_id"] == "req-123"
