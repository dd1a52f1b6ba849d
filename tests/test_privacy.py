"""Survivor privacy: sealed at rest, opened only for those allowed, erasable, never logged."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.verifier.bundle_checks import verify_bundle
from tests.api import Caller, Client, a_case_report, a_survivor, event, to_approval
from tests.databases import create_database, drop_database
from tests.services import running_service

MARKERS = {
    "reporter": "ZQX-REPORTER-NAME-7731",
    "missing": "ZQX-MISSING-GIRL-5520",
    "survivor": "ZQX-SURVIVOR-NAME-9914",
    "birth": "ZQX-BIRTH-1999",
    "contact": "ZQX-FAMILY-PHONE-0042",
}


def marked_report() -> dict[str, Any]:
    """A report whose every personal field holds a marker string."""
    report = a_case_report()
    report["reporter"]["personal"] = {"name": MARKERS["reporter"]}
    report["missing_persons"][0]["personal"] = {"name": MARKERS["missing"]}
    return report


def marked_survivor() -> dict[str, Any]:
    """A survivor whose personal data is all markers."""
    return a_survivor(
        personal={
            "name": MARKERS["survivor"],
            "date_of_birth": MARKERS["birth"],
            "family_contact": MARKERS["contact"],
        }
    )


@pytest.fixture(scope="module")
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real app with its own key folders."""
    keys = tmp_path_factory.mktemp("privacy-keys")
    return Settings(
        database_url=database_url,
        personal_key_dir=keys / "personal",
        signing_key_dir=keys / "signing",
        checkpoint_interval_seconds=0.2,
    )


async def rescue_with_markers(callers: dict[Role, Caller]) -> tuple[str, str]:
    """A rescue whose personal data is all markers: (operation id, survivor id)."""
    field = callers[Role.FIELD]
    response = await field.post("/v1/operations", {"data": marked_report()})
    assert response.status == 201, await response.text()
    operation = (await response.json())["operation_id"]
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    survivor = marked_survivor()
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[survivor]))
    return operation, survivor["survivor_id"]


async def all_table_text(pool: asyncpg.Pool) -> str:
    """Every row of every table in the database, as text."""
    tables = await pool.fetch(
        "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'"
    )
    texts = []
    for table in tables:
        rows = await pool.fetch(f"SELECT t::text AS row FROM {table['name']} t")
        texts.extend(row["row"] for row in rows)
    return "\n".join(texts)


async def test_personal_data_never_reaches_the_database_in_clear(
    callers: dict[Role, Caller], pool: asyncpg.Pool
) -> None:
    """After a whole rescue no table holds any marker, yet the field team reads them back."""
    operation, _survivor = await rescue_with_markers(callers)
    text = await all_table_text(pool)
    for marker in MARKERS.values():
        assert marker not in text
    assert "AES-256-GCM" in text
    as_field = await (await callers[Role.FIELD].get(f"/v1/operations/{operation}")).json()
    assert as_field["survivors"][0]["personal"]["name"] == MARKERS["survivor"]
    events = await (await callers[Role.LEGAL].get(f"/v1/operations/{operation}/events")).json()
    assert events["events"][0]["data"]["reporter"]["personal"]["name"] == MARKERS["reporter"]


async def test_leadership_never_sees_personal_data(callers: dict[Role, Caller]) -> None:
    """Leadership's view of an operation holds no marker and shows personal data as null."""
    operation, _survivor = await rescue_with_markers(callers)
    body = await (await callers[Role.LEADERSHIP].get(f"/v1/operations/{operation}")).json()
    assert body["survivors"][0]["personal"] is None
    for marker in MARKERS.values():
        assert marker not in json.dumps(body)


async def test_erasure_destroys_the_data_and_the_bundle_still_verifies(
    callers: dict[Role, Caller],
) -> None:
    """After erasure every read shows the data erased; the operation is unchanged (the erasure
    is recorded on her case)."""
    admin, field = callers[Role.ADMIN], callers[Role.FIELD]
    operation, survivor = await rescue_with_markers(callers)
    before = await (await field.get(f"/v1/operations/{operation}")).json()
    response = await admin.client.delete(
        f"/v1/survivors/{survivor}/personal-data",
        json={"reason": "the survivor asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["operation_id"] == operation
    after = await (await field.get(f"/v1/operations/{operation}")).json()
    assert after["survivors"][0]["personal"] is None
    assert after["survivors"][0]["personal_erased"] is True
    assert after["stage"] == before["stage"]
    assert after["version"] == before["version"]
    case = await (await field.get(f"/v1/survivors/{survivor}")).json()
    assert case["timeline"][-1]["type"] == "PersonalDataErased"
    assert case["personal"] is None
    events = await (await field.get(f"/v1/operations/{operation}/events")).json()
    rescued = next(e for e in events["events"] if e["type"] == "RescueExecuted")
    assert rescued["data"]["survivors"][0]["personal"] == {"erased": True}
    assert MARKERS["survivor"] not in json.dumps(events)
    trail = await callers[Role.LEGAL].get(f"/v1/operations/{operation}/audit-trail")
    assert trail.status == 200, await trail.text()
    report = verify_bundle(await trail.json())
    assert report.ok, report.summary()


async def test_erasing_twice_answers_the_same_and_records_once(
    callers: dict[Role, Caller],
) -> None:
    """A repeated erasure records nothing more."""
    admin = callers[Role.ADMIN]
    _operation, survivor = await rescue_with_markers(callers)
    headers = {"Authorization": f"Bearer {admin.token}"}
    path = f"/v1/survivors/{survivor}/personal-data"
    first = await admin.client.delete(path, json={"reason": "asked"}, headers=headers)
    second = await admin.client.delete(path, json={"reason": "asked"}, headers=headers)
    assert first.status == second.status == 200
    assert (await first.json())["version"] == (await second.json())["version"]


@pytest.mark.parametrize("role", [Role.FIELD, Role.LEGAL, Role.LEADERSHIP])
async def test_only_admin_may_erase(callers: dict[Role, Caller], role: Role) -> None:
    """Erasure is for admins only."""
    _operation, survivor = await rescue_with_markers(callers)
    caller = callers[role]
    response = await caller.client.delete(
        f"/v1/survivors/{survivor}/personal-data",
        json={"reason": "x"},
        headers={"Authorization": f"Bearer {caller.token}"},
    )
    assert response.status == 403


async def test_erasing_an_unknown_survivor_is_404(callers: dict[Role, Caller]) -> None:
    """No operation registered that survivor."""
    admin = callers[Role.ADMIN]
    response = await admin.client.delete(
        f"/v1/survivors/{uuid.uuid4()}/personal-data",
        json={"reason": "x"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 404


async def test_clients_cannot_send_data_that_looks_sealed(callers: dict[Role, Caller]) -> None:
    """A client may not smuggle its own ciphertext in as a sealed object."""
    report = a_case_report()
    report["reporter"]["personal"] = {
        "sealed": "AES-256-GCM",
        "subject_id": str(uuid.uuid4()),
        "nonce": "AAAA",
        "ciphertext": "AAAA",
    }
    response = await callers[Role.FIELD].post("/v1/operations", {"data": report})
    assert response.status == 422


async def test_a_resend_with_personal_data_appends_nothing(callers: dict[Role, Caller]) -> None:
    """Sealing uses fresh nonces, yet a re-sent batch is still recognised as the same."""
    field = callers[Role.FIELD]
    body = {
        "operation_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "data": marked_report(),
    }
    first = await field.post("/v1/operations", body)
    second = await field.post("/v1/operations", body)
    assert first.status == second.status == 201
    changed = {**body, "data": {**marked_report(), "channel": "hotline"}}
    assert (await field.post("/v1/operations", changed)).status == 409


async def test_writes_beyond_a_tokens_allowance_get_429_with_retry_after(
    database_url: str, pool: asyncpg.Pool, app_settings: Settings
) -> None:
    """A token that writes too fast is refused with 429 and told when to come back."""
    settings = app_settings.model_copy(update={"write_rate_per_minute": 6, "write_burst": 2})
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        field = Caller(client, await create_token(pool, f"fast-{uuid.uuid4().hex[:6]}", Role.FIELD))
        statuses = []
        for _ in range(3):
            response = await field.post("/v1/operations", {"data": a_case_report()})
            statuses.append(response.status)
        assert statuses == [201, 201, 429]
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"] == "rate_limited"
        assert (await field.get(f"/v1/operations/{uuid.uuid4()}")).status == 404  # reads go on


async def test_reads_of_personal_data_beyond_a_tokens_allowance_get_429(
    database_url: str, pool: asyncpg.Pool, app_settings: Settings
) -> None:
    """A token that copies survivors' files too fast is stopped; the board, the list of
    operations and writes are not reads of personal data and go on."""
    settings = app_settings.model_copy(
        update={"personal_read_rate_per_minute": 6, "personal_read_burst": 2}
    )
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        field = Caller(client, await create_token(pool, f"copy-{uuid.uuid4().hex[:6]}", Role.FIELD))
        operation = await field.open()
        paths = [
            f"/v1/operations/{operation}",
            f"/v1/operations/{operation}/events",
            f"/v1/survivors/{uuid.uuid4()}",
        ]
        statuses = [(await field.get(path)).status for path in paths]
        assert statuses == [200, 200, 429]
        refused = await field.get(f"/v1/operations/{operation}")
        assert int(refused.headers["Retry-After"]) >= 1
        assert "read of personal data" in (await refused.json())["detail"]
        assert (await field.get("/v1/operations")).status == 200
        assert (await field.post("/v1/operations", {"data": a_case_report()})).status == 201
        other = Caller(
            client, await create_token(pool, f"other-{uuid.uuid4().hex[:6]}", Role.FIELD)
        )
        assert (await other.get(f"/v1/operations/{operation}")).status == 200  # per token


async def test_no_cors_unless_configured(client: Client) -> None:
    """Another site's page gets no CORS permission by default."""
    response = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_for_a_configured_origin(database_url: str, app_settings: Settings) -> None:
    """A configured origin gets CORS headers and its preflight is answered."""
    settings = app_settings.model_copy(update={"cors_origins": ("https://board.example.org",)})
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        origin = {"Origin": "https://board.example.org"}
        response = await client.get("/health", headers=origin)
        assert response.headers["Access-Control-Allow-Origin"] == "https://board.example.org"
        preflight = await client.options("/v1/operations", headers=origin)
        assert preflight.status == 204
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers


async def test_no_log_line_of_a_whole_rescue_holds_personal_data_or_tokens(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path, app_settings: Settings
) -> None:
    """The real service at debug level logs nothing of the markers, tokens or bodies, even when
    requests fail with personal data in them."""
    environment = {
        "COORDINATOR_LOG_LEVEL": "debug",
        # This module's key folders, which wrap its database's data keys.
        "COORDINATOR_PERSONAL_KEY_DIR": str(app_settings.personal_key_dir),
        "COORDINATOR_SIGNING_KEY_DIR": str(app_settings.signing_key_dir),
    }
    async with running_service(database_url, tmp_path, environment=environment) as service:
        tokens = {
            role: await create_token(pool, f"log-{role.value}-{uuid.uuid4().hex[:6]}", role)
            for role in Role
        }
        async with aiohttp.ClientSession(service.base_url) as session:

            def auth(role: Role) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[role]}"}

            opened = await session.post(
                "/v1/operations", json={"data": marked_report()}, headers=auth(Role.FIELD)
            )
            operation = (await opened.json())["operation_id"]
            path = f"/v1/operations/{operation}/events"
            for events, role in (
                (to_approval(), Role.FIELD),
                ([event("RescueApproved")], Role.LEADERSHIP),
                (
                    [event("RescueExecuted", outcome="success", survivors=[marked_survivor()])],
                    Role.FIELD,
                ),
            ):
                answer = await session.post(path, json={"events": events}, headers=auth(role))
                assert answer.status == 201, await answer.text()
            bad = marked_survivor()
            bad["personal"]["name"] = MARKERS["survivor"] * 200  # too long: a validation error
            refused = await session.post(
                path,
                json={"events": [event("StatusNoted", note=MARKERS["contact"], x=bad)]},
                headers=auth(Role.FIELD),
            )
            assert refused.status in {201, 422}
            unauthorised = await session.get(
                f"/v1/operations/{operation}",
                headers={"Authorization": "Bearer " + MARKERS["birth"]},
            )
            assert unauthorised.status == 401
            for role in Role:
                await session.get(f"/v1/operations/{operation}", headers=auth(role))
    log = service.log_path.read_text()
    assert "request" in log  # the service did log
    for secret in (*MARKERS.values(), *tokens.values()):
        assert secret not in log


async def test_rotating_the_key_encryption_key_keeps_data_readable(
    server_url: str, tmp_path: Path
) -> None:
    """`coordinator keys rotate` re-wraps every data key; the old KEK file can then go."""
    database_url = await create_database(server_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await _rotate_and_read(database_url, pool, tmp_path)
    finally:
        await pool.close()
        await drop_database(server_url, database_url)


async def _rotate_and_read(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    keys = tmp_path / "personal"
    settings = Settings(
        database_url=database_url, personal_key_dir=keys, signing_key_dir=tmp_path / "signing"
    )
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        callers = {
            role: Caller(
                client, await create_token(pool, f"rot-{role.value}-{uuid.uuid4().hex[:6]}", role)
            )
            for role in Role
        }
        operation, _survivor = await rescue_with_markers(callers)
    old_keks = sorted(keys.glob("kek-*.key"))
    rotation = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "coordinator",
        "--database-url",
        database_url,
        "keys",
        "rotate",
        env={**os.environ, "COORDINATOR_PERSONAL_KEY_DIR": str(keys)},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await rotation.communicate()
    assert rotation.returncode == 0
    assert b"re-wrapped" in output
    wrapped_by = {
        row["kek_id"]
        for row in await pool.fetch(
            "SELECT DISTINCT kek_id FROM personal_data_keys WHERE wrapped_key IS NOT NULL"
        )
    }
    assert not wrapped_by & {path.name[4:-4] for path in old_keks}
    for path in old_keks:
        path.unlink()
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        field = Caller(client, callers[Role.FIELD].token)
        body = await (await field.get(f"/v1/operations/{operation}")).json()
        assert body["survivors"][0]["personal"]["name"] == MARKERS["survivor"]
