"""The audit API through HTTP with real tokens: checkpoints, keys and who may read them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.settings import Settings
from events.store.event_store import EventStore
from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.chain import body_hash, link_hash
from events.verifier.checkpoints import SignedCheckpoint, verify_checkpoint
from events.verifier.consistency import verify_consistency_files
from tests.api import Caller, Client, event


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's signing key folder."""
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(scope="module")
def app_settings(database_url: str, key_dir: Path) -> Settings:
    """The real app on the module's database, signing checkpoints every 100 ms."""
    return Settings(
        database_url=database_url, signing_key_dir=key_dir, checkpoint_interval_seconds=0.1
    )


async def json_of(caller: Caller, path: str, status: int = 200) -> Any:
    """GET `path` expecting `status`, and its JSON body."""
    response = await caller.get(path)
    assert response.status == status, await response.text()
    return await response.json()


async def checkpoint_covering(caller: Caller, pool: asyncpg.Pool) -> dict[str, Any]:
    """The latest checkpoint once it covers every event recorded so far."""
    deadline = time.monotonic() + 20
    total = await pool.fetchval("SELECT count(*) FROM events")
    while True:
        response = await caller.get("/v1/audit/checkpoint")
        if response.status == 200:
            document: dict[str, Any] = await response.json()
            if document["checkpoint"]["tree_size"] >= total:
                return document
        assert time.monotonic() < deadline, "no checkpoint covered the log in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("path", ["/v1/audit/checkpoint", "/v1/audit/public-key"])
async def test_only_legal_and_admin_may_read_the_audit_endpoints(
    callers: dict[Role, Caller], path: str
) -> None:
    """Field and leadership get 403; legal and admin are answered."""
    await callers[Role.FIELD].open()
    for role, caller in callers.items():
        response = await caller.get(path)
        expected = {200, 404} if role in {Role.LEGAL, Role.ADMIN} else {403}
        assert response.status in expected, (role, await response.text())


async def test_without_a_token_the_audit_endpoints_are_401(client: Client) -> None:
    """No bearer token, no audit trail."""
    for path in ("/v1/audit/checkpoint", "/v1/audit/public-key"):
        assert (await client.get(path)).status == 401


async def test_the_checkpoint_covers_new_events_and_verifies_with_the_published_keys(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """Events recorded are soon under a signed checkpoint that the served keys verify."""
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="reached the border"))
    published = await checkpoint_covering(legal, pool)
    keys = await json_of(legal, "/v1/audit/public-key")
    assert keys["keys"][keys["active_key_id"]]["active"] is True
    checkpoint = verify_checkpoint(SignedCheckpoint.from_json(published), keys["keys"])
    assert checkpoint.key_id == keys["active_key_id"]


async def test_the_checkpoint_endpoint_proves_it_extends_an_older_checkpoint(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """A checkpoint held from earlier is shown consistent with the latest one."""
    await field.open()
    old = await checkpoint_covering(legal, pool)
    for _ in range(3):
        await field.open()
    new = await checkpoint_covering(legal, pool)
    size = old["checkpoint"]["tree_size"]
    proof = await json_of(legal, f"/v1/audit/checkpoint?from_size={size}")
    assert proof["checkpoint"]["checkpoint"]["tree_size"] >= new["checkpoint"]["tree_size"]
    report = verify_consistency_files(old, proof)
    assert report.ok, report.summary()


@pytest.mark.parametrize("size", ["-1", "x", "99999999999", "", "²", "9" * 5000])
async def test_a_bad_from_size_is_400(legal: Caller, field: Caller, size: str) -> None:
    """A size that is not a number of events the log had is refused, not crashed on."""
    await field.open()
    response = await legal.get(f"/v1/audit/checkpoint?from_size={size}")
    assert response.status in {400, 404}
    assert (await response.json())["error"] in {"bad_request", "not_found"}


# --- the prosecution bundle ---------------------------------------------------------------


async def a_recorded_operation(field: Caller) -> tuple[str, list[dict[str, Any]]]:
    """An operation with a report, two notes and a correction of the first note."""
    operation = await field.open()
    answer = await field.record(
        operation,
        event("StatusNoted", note="the girl was seen at the market", place="Lao Cai"),
        event("StatusNoted", note="the team reached the border post"),
    )
    first_note = answer["events"][0]["event_id"]
    await field.record(
        operation,
        event(
            "EventCorrected",
            corrects_event_id=first_note,
            reason="it was the bus station, not the market",
            corrected_data={"note": "the girl was seen at the bus station"},
        ),
    )
    return operation, answer["events"]


async def test_a_bundle_exported_from_the_service_verifies_offline(
    field: Caller, legal: Caller
) -> None:
    """Every event, proof, signature and the stream head verify with the published keys."""
    operation, _ = await a_recorded_operation(field)
    bundle = await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    keys = await json_of(legal, "/v1/audit/public-key")
    report = verify_bundle(json.loads(json.dumps(bundle)), trusted_keys=keys["keys"])
    assert report.ok, report.summary()
    assert (report.events_total, report.head_version) == (4, 4)
    assert [e["type"] for e in bundle["events"]] == [
        "CaseReported",
        *["StatusNoted"] * 2,
        "EventCorrected",
    ]
    assert bundle["events"][0]["metadata"]["role"] == "field"


async def test_a_correction_is_listed_beside_the_event_it_corrects(
    field: Caller, legal: Caller
) -> None:
    """The original stays in the trail, and the corrections index points from it to its fix."""
    operation, notes = await a_recorded_operation(field)
    bundle = await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    correction = bundle["events"][-1]
    assert bundle["corrections"] == {notes[0]["event_id"]: [correction["event_id"]]}
    original = bundle["events"][1]
    # The note is free text: the trail carries it sealed, the field team reads it opened.
    assert set(original["data"]["note"]) == {"sealed", "subject_id", "nonce", "ciphertext"}
    stored = await json_of(field, f"/v1/operations/{operation}/events")
    opened = next(e for e in stored["events"] if e["event_id"] == original["event_id"])
    assert opened["data"]["note"] == "the girl was seen at the market"


async def test_only_legal_and_admin_may_export_an_audit_trail(
    callers: dict[Role, Caller], field: Caller
) -> None:
    """Field and leadership get 403 on the trail; legal and admin get the bundle."""
    operation = await field.open()
    for role, caller in callers.items():
        response = await caller.get(f"/v1/operations/{operation}/audit-trail")
        allowed = role in {Role.LEGAL, Role.ADMIN}
        assert response.status == (200 if allowed else 403), (role, await response.text())


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/v1/operations/{uuid.uuid4()}/audit-trail", 404),
        ("/v1/operations/not-a-uuid/audit-trail", 404),
    ],
)
async def test_an_unknown_operation_has_no_trail(legal: Caller, path: str, status: int) -> None:
    """An operation that does not exist is 404, never an empty bundle."""
    response = await legal.get(path)
    assert response.status == status
    assert (await response.json())["error"] == "not_found"


async def test_an_unknown_format_is_400(legal: Caller, field: Caller) -> None:
    """Only json and html are formats of the trail."""
    operation = await field.open()
    response = await legal.get(f"/v1/operations/{operation}/audit-trail?format=pdf")
    assert response.status == 400


async def test_the_printable_page_shows_who_recorded_what_and_escapes_everything(
    field: Caller, legal: Caller
) -> None:
    """The HTML trail lists both times and the recorder, escapes data, and forbids scripts."""
    operation = await field.open()
    hostile = "<script>alert('x')</script>"
    await field.record(
        operation,
        event("PartnerEngaged", agency=hostile, agency_type="ngo", country="VN"),
        event("StatusNoted", note=hostile),  # free text: sealed on this page
    )
    response = await legal.get(f"/v1/operations/{operation}/audit-trail?format=html")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "(sealed)" in page
    assert field.token not in page
    for heading in ("Happened (field)", "Recorded (server)", "Recorded by"):
        assert heading in page
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


async def test_dropping_the_last_event_of_an_exported_bundle_is_caught_offline(
    field: Caller, legal: Caller
) -> None:
    """The signed stream head names the version missing from the end."""
    operation, _ = await a_recorded_operation(field)
    bundle = await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    bundle["events"].pop()
    bundle["corrections"] = {}
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MISSING_EVENT
    assert report.first_failure.version == 4


# --- the record as known at a time (?as_of=) ------------------------------------------------


async def test_as_of_gives_the_events_recorded_by_then_in_the_checkpoint_of_then(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """A lawyer shows what was known when a decision was taken: two events, not four, proven in
    the checkpoint signed by then, and the bundle verifies offline."""
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="seen at the market"))
    then = await checkpoint_covering(legal, pool)
    await field.record(operation, event("StatusNoted", note="seen at the border"))
    await checkpoint_covering(legal, pool)
    as_of = then["checkpoint"]["timestamp"]
    bundle = await json_of(legal, f"/v1/operations/{operation}/audit-trail?as_of={as_of}")
    assert [e["version"] for e in bundle["events"]] == [1, 2]
    assert bundle["checkpoint"] == then
    assert bundle["as_of"] == as_of
    keys = await json_of(legal, "/v1/audit/public-key")
    report = verify_bundle(bundle, trusted_keys=keys["keys"])
    assert report.proven, report.summary()
    latest = await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    assert len(latest["events"]) == 3


async def test_as_of_before_a_checkpoint_covers_the_events_is_404_saying_when(
    field: Caller, legal: Caller, pool: asyncpg.Pool, store: EventStore
) -> None:
    """At the instant an event was recorded no checkpoint can cover it yet: 404, naming the
    time of the first checkpoint that does."""
    operation = await field.open()
    await checkpoint_covering(legal, pool)
    recorded = (await store.read_stream(uuid.UUID(operation)))[-1].recorded_at
    when = recorded.isoformat().replace("+00:00", "Z")
    body = await json_of(legal, f"/v1/operations/{operation}/audit-trail?as_of={when}", 404)
    assert "no checkpoint signed by" in body["detail"]
    assert "the first checkpoint that covers them was signed at" in body["detail"]
    before = await json_of(
        legal, f"/v1/operations/{operation}/audit-trail?as_of=2000-01-01T00:00:00Z", 404
    )
    assert "no events recorded by 2000-01-01" in before["detail"]


@pytest.mark.parametrize("as_of", ["yesterday", "2025-02-03T10:00:00", "2025-13-01T00:00:00Z", ""])
async def test_a_bad_as_of_is_400(field: Caller, legal: Caller, as_of: str) -> None:
    """A time without a zone, or not a time, is refused on both trails."""
    operation = await field.open()
    for path in (
        f"/v1/operations/{operation}/audit-trail",
        f"/v1/prosecutions/{uuid.uuid4()}/audit-trail",
    ):
        response = await legal.get(f"{path}?as_of={quote(as_of)}")
        assert response.status == 400, await response.text()
        assert "as_of is an ISO 8601 time with a zone" in (await response.json())["detail"]


async def test_an_unescaped_plus_of_a_zone_is_read(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """`?as_of=2999-01-01T07:00:00+07:00` typed into a browser arrives with a space: still read."""
    operation = await field.open()
    await checkpoint_covering(legal, pool)
    bundle = await json_of(
        legal, f"/v1/operations/{operation}/audit-trail?as_of=2999-01-01T07:00:00+07:00"
    )
    assert bundle["as_of"] == "2999-01-01T00:00:00.000000Z"


# --- a record changed behind the triggers' back ---------------------------------------------


async def as_superuser(database_url: str, sql: str, *arguments: Any) -> None:
    """Run a statement with the append-only triggers switched off, as a rogue superuser could."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute(sql, *arguments)
    finally:
        await connection.close()


async def test_an_event_edited_in_the_database_is_refused_at_export(
    field: Caller, legal: Caller, database_url: str
) -> None:
    """Changed data whose hash was left alone is a hash mismatch, named at that event."""
    operation, notes = await a_recorded_operation(field)
    await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    edited = notes[1]["event_id"]
    await as_superuser(
        database_url,
        "UPDATE events SET data = jsonb_set(data, '{note}', '\"nothing happened\"') "
        "WHERE event_id = $1",
        uuid.UUID(edited),
    )
    body = await json_of(legal, f"/v1/operations/{operation}/audit-trail", 409)
    assert body["error"] == "record_tampered"
    assert "hash_mismatch" in body["detail"]
    assert edited in body["detail"]


async def test_an_event_edited_and_rehashed_in_the_database_is_refused_at_export(
    field: Caller, legal: Caller, database_url: str, store: EventStore
) -> None:
    """A forger who recomputes the hash still cannot match the leaf the log integrated."""
    operation, _ = await a_recorded_operation(field)
    await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    last = (await store.read_stream(uuid.UUID(operation)))[-1]
    data = {**last.data, "reason": "no reason"}
    body = body_hash(
        event_id=last.event_id,
        stream_id=last.stream_id,
        event_type=last.type,
        schema_version=last.schema_version,
        data=data,
        metadata=last.metadata,
        occurred_at=last.occurred_at,
        recorded_at=last.recorded_at,
    )
    rehashed = link_hash(body, last.prev_hash, last.version)
    await as_superuser(
        database_url,
        "UPDATE events SET data = data || jsonb_build_object('reason', 'no reason'), hash = $1 "
        "WHERE event_id = $2",
        rehashed,
        last.event_id,
    )
    answer = await json_of(legal, f"/v1/operations/{operation}/audit-trail", 409)
    assert "bad_proof" in answer["detail"]
    assert str(last.event_id) in answer["detail"]


async def test_the_last_event_deleted_in_the_database_is_refused_at_export(
    field: Caller, legal: Caller, database_url: str
) -> None:
    """The log's own leaves show which version of the operation is gone."""
    operation, _ = await a_recorded_operation(field)
    await json_of(legal, f"/v1/operations/{operation}/audit-trail")
    await as_superuser(
        database_url,
        "DELETE FROM events WHERE stream_id = $1 AND version = 4",
        uuid.UUID(operation),
    )
    body = await json_of(legal, f"/v1/operations/{operation}/audit-trail", 409)
    assert "missing_event" in body["detail"]
    assert "version 4" in body["detail"]
