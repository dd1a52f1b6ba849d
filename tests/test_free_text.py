"""Free text is sealed like personal data: a note naming a girl, a place, an officer's name, a
field the catalogue lacks. Stored sealed under the key of the subject it is about (her key when
the event names her, else the stream's), opened for the roles that read personal data, and
erased with her."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from coordinator.domain.actors import Role
from tests.api import Caller, a_survivor, event, to_approval

NOTE = "Lan told the counsellor her uncle Tuan sold her in Hekou"
SEALED = {"sealed", "subject_id", "nonce", "ciphertext"}


async def stored_data(pool: asyncpg.Pool, event_id: str) -> tuple[dict[str, Any], str]:
    """An event's data as the database holds it, parsed and as text."""
    row = await pool.fetchrow(
        "SELECT data, data::text AS text FROM events WHERE event_id = $1", uuid.UUID(event_id)
    )
    assert row is not None
    data: dict[str, Any] = row["data"]
    return data, str(row["text"])


async def opened(caller: Caller, operation: str, event_id: str) -> dict[str, Any]:
    """An event's data as `caller` reads it through the events route."""
    response = await caller.get(f"/v1/operations/{operation}/events")
    assert response.status == 200, await response.text()
    body = await response.json()
    data: dict[str, Any] = next(e for e in body["events"] if e["event_id"] == event_id)["data"]
    return data


async def test_a_note_a_place_and_an_extra_field_are_stored_sealed_and_read_opened(
    callers: dict[Role, Caller], pool: asyncpg.Pool
) -> None:
    """Nothing of the note, the place or the extra field is in the row; the field team and the
    lawyers read them; the stream's key seals them (no survivor is named)."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    operation = await field.open()
    note = event("StatusNoted", note=NOTE, place="Hekou bus station", informant_phone="0912")
    answer = await field.record(operation, note)
    event_id = answer["events"][0]["event_id"]
    data, text = await stored_data(pool, event_id)
    for secret in (NOTE, "Hekou bus station", "0912"):
        assert secret not in text
    for key in ("note", "place", "informant_phone"):
        assert set(data[key]) == SEALED, key
        assert data[key]["subject_id"] == operation
    for reader in (field, legal):
        read = await opened(reader, operation, event_id)
        assert (read["note"], read["place"], read["informant_phone"]) == (
            NOTE,
            "Hekou bus station",
            "0912",
        )


async def test_a_note_about_her_is_sealed_under_her_key_and_erased_with_her(
    callers: dict[Role, Caller], pool: asyncpg.Pool
) -> None:
    """A service's note names her: her key seals it; erasing her erases it, while the
    operation's own notes stay readable."""
    field, admin = callers[Role.FIELD], callers[Role.ADMIN]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    girl = a_survivor()
    sid = girl["survivor_id"]
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    answer = await field.record(
        operation,
        event("SupportProvided", survivor_id=sid, service="counselling", note=NOTE),
        event("StatusNoted", note="the team drove back to Lao Cai"),
    )
    support_id, status_id = (e["event_id"] for e in answer["events"])
    data, _text = await stored_data(pool, support_id)
    assert data["note"]["subject_id"] == sid
    response = await admin.client.delete(
        f"/v1/survivors/{sid}/personal-data",
        json={"reason": "she asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200, await response.text()
    assert (await opened(field, operation, support_id))["note"] == {"erased": True}
    assert (await opened(field, operation, status_id))["note"] == "the team drove back to Lao Cai"


async def test_a_client_cannot_send_a_note_already_sealed(field: Caller) -> None:
    """Only the server seals: a sealed-looking note from a client is refused and changes
    nothing."""
    operation = await field.open()
    forged = {
        "sealed": "AES-256-GCM",
        "subject_id": operation,
        "nonce": "AA==",
        "ciphertext": "AA==",
    }
    response = await field.post(
        f"/v1/operations/{operation}/events", {"events": [event("StatusNoted", note=forged)]}
    )
    assert response.status == 422
    assert "the server seals it" in (await response.json())["detail"]
    view = await (await field.get(f"/v1/operations/{operation}")).json()
    assert view["version"] == 1


async def test_a_correction_s_new_note_is_sealed_and_a_re_send_is_recognised(
    field: Caller, pool: asyncpg.Pool
) -> None:
    """The correction's `corrected_data` note is sealed too; sending the same batch again
    answers as the first time (the fingerprint digests the note under its subject's key)."""
    operation = await field.open()
    first = await field.record(operation, event("StatusNoted", note="seen at the market"))
    correction = {
        "event_id": str(uuid.uuid4()),
        **event(
            "EventCorrected",
            corrects_event_id=first["events"][0]["event_id"],
            reason="it was the bus station",
            corrected_data={"note": NOTE},
        ),
    }
    path = f"/v1/operations/{operation}/events"
    answer = await field.post(path, {"events": [correction]})
    assert answer.status == 201, await answer.text()
    data, text = await stored_data(pool, correction["event_id"])
    assert NOTE not in text
    assert "it was the bus station" not in text
    assert set(data["corrected_data"]["note"]) == SEALED
    read = await opened(field, operation, correction["event_id"])
    assert read["corrected_data"]["note"] == NOTE
    again = await field.post(path, {"events": [correction]})
    assert again.status == 201
    assert await again.json() == await answer.json()


async def test_a_bad_note_still_gets_a_plain_sentence(field: Caller) -> None:
    """An empty note is refused naming the field, not the storage's inner forms."""
    operation = await field.open()
    response = await field.post(
        f"/v1/operations/{operation}/events", {"events": [event("StatusNoted", note="")]}
    )
    assert response.status == 422
    detail = (await response.json())["detail"]
    assert detail == "StatusNoted data is not valid: note: String should have at least 1 character"


async def test_only_an_opaque_correlation_id_is_stored(field: Caller) -> None:
    """A client's X-Correlation-Id is kept when it is a UUID; text that could name someone is
    replaced by the request's own id."""
    operation = await field.open()
    headers = {"Authorization": f"Bearer {field.token}"}
    path = f"/v1/operations/{operation}/events"
    kept = str(uuid.uuid4())
    for supplied in (kept, "Lan Nguyen from Ha Giang"):
        response = await field.client.post(
            path,
            json={"events": [event("StatusNoted", note="checked in")]},
            headers={**headers, "X-Correlation-Id": supplied},
        )
        assert response.status == 201, await response.text()
    body = await (await field.get(path)).json()
    stored = [e["metadata"]["correlation_id"] for e in body["events"][-2:]]
    assert stored[0] == kept
    assert stored[1] != "Lan Nguyen from Ha Giang"
    assert stored[1] == body["events"][-1]["metadata"]["request_id"]
