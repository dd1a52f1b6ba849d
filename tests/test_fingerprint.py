"""The idempotency fingerprint, as an attacker holding `fingerprint.key` would try it: keyed per
stream and event, and each personal object under its own subject's key, so that it dies with
the subject; re-sends are still recognised, also of events stored with the older fingerprint."""

from __future__ import annotations

import uuid

import asyncpg

from coordinator.domain.actors import Role
from coordinator.service.privacy.kek import load_keks
from coordinator.service.privacy.sealing import fingerprint
from coordinator.settings import Settings, personal_key_folder
from events.catalogue import RescueExecuted, StatusNoted
from tests.api import Caller, a_case_report, a_survivor, event, to_approval

NAME = "Lo Thi Fingerprint-9K"


async def stored_hash(pool: asyncpg.Pool, event_id: str) -> bytes:
    """The fingerprint stored with an event."""
    value: bytes = await pool.fetchval(
        "SELECT content_hash FROM events WHERE event_id = $1", uuid.UUID(event_id)
    )
    return value


async def test_identical_reports_in_two_operations_have_different_fingerprints(
    field: Caller, pool: asyncpg.Pool
) -> None:
    """Two mothers' identical reports do not share a value anyone could match."""
    report = a_case_report()
    first = await field.post("/v1/operations", {"data": report})
    second = await field.post("/v1/operations", {"data": report})
    hashes = []
    for answer in (first, second):
        operation = (await answer.json())["operation_id"]
        hashes.append(
            await pool.fetchval(
                "SELECT content_hash FROM events WHERE stream_id = $1 AND version = 1",
                uuid.UUID(operation),
            )
        )
    assert hashes[0] != hashes[1]


async def test_after_erasure_a_guess_of_her_name_cannot_be_tested(
    callers: dict[Role, Caller], pool: asyncpg.Pool, app_settings: Settings
) -> None:
    """The holder of fingerprint.key computes the version 1 fingerprint of her rescue with her
    true name: it does not match what is stored, before or after her erasure (her name entered
    it only through her own key, now destroyed)."""
    field, admin = callers[Role.FIELD], callers[Role.ADMIN]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    girl = a_survivor(personal={"name": NAME})
    rescue = {**event("RescueExecuted", outcome="success", survivors=[girl])}
    answer = await field.record(operation, rescue)
    event_id = answer["events"][0]["event_id"]
    stored = await stored_hash(pool, event_id)
    keys = load_keks(personal_key_folder(app_settings))
    as_stored = RescueExecuted.model_validate(rescue["data"]).model_dump(mode="json")
    guessed = fingerprint(keys.fingerprint_key, "RescueExecuted", 2, as_stored)
    assert guessed != stored
    response = await admin.client.delete(
        f"/v1/survivors/{girl['survivor_id']}/personal-data",
        json={"reason": "she asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200
    assert await stored_hash(pool, event_id) == stored  # the record does not change
    resent = await field.post(
        f"/v1/operations/{operation}/events", {"events": [{"event_id": event_id, **rescue}]}
    )
    assert resent.status == 422  # her key is gone: nothing of her can be recorded again
    assert "erased" in (await resent.json())["detail"]


async def test_a_re_send_is_recognised_and_other_content_under_the_same_id_is_not(
    field: Caller,
) -> None:
    """The same batch sent twice answers as the first time; the same id with another note is a
    conflict."""
    operation = await field.open()
    note = {"event_id": str(uuid.uuid4()), **event("StatusNoted", note="at the border")}
    first = await field.post(f"/v1/operations/{operation}/events", {"events": [note]})
    again = await field.post(f"/v1/operations/{operation}/events", {"events": [note]})
    assert (first.status, again.status) == (201, 201)
    assert await first.json() == await again.json()
    other = {**note, "data": {"note": "at the market"}}
    conflict = await field.post(f"/v1/operations/{operation}/events", {"events": [other]})
    assert conflict.status == 409


async def test_a_re_send_of_an_event_stored_with_the_older_fingerprint_is_recognised(
    field: Caller, pool: asyncpg.Pool, app_settings: Settings
) -> None:
    """An offline phone re-sends after the upgrade an event stored before it: recognised, not a
    conflict. (The stored value is set as version 1 computed it, with the triggers off.)"""
    operation = await field.open()
    note = {"event_id": str(uuid.uuid4()), **event("StatusNoted", note="left the village")}
    assert (
        await field.post(f"/v1/operations/{operation}/events", {"events": [note]})
    ).status == 201
    keys = load_keks(personal_key_folder(app_settings))
    as_stored = StatusNoted.model_validate(note["data"]).model_dump(mode="json")
    legacy = fingerprint(keys.fingerprint_key, "StatusNoted", 1, as_stored)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await connection.execute(
            "UPDATE events SET content_hash = $2 WHERE event_id = $1",
            uuid.UUID(note["event_id"]),
            legacy,
        )
        await connection.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    again = await field.post(f"/v1/operations/{operation}/events", {"events": [note]})
    assert again.status == 201, await again.text()
    other = {**note, "data": {"note": "reached the market"}}
    assert (
        await field.post(f"/v1/operations/{operation}/events", {"events": [other]})
    ).status == 409
