"""`coordinator audit ...` as a user runs it: export from the database, verify offline, rotate."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.settings import Settings
from tests.api import Caller, event


@dataclass(frozen=True)
class Ran:
    """What a finished command said."""

    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The signing keys the service and the command line share."""
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(scope="module")
def app_settings(database_url: str, key_dir: Path) -> Settings:
    """The running service the command line exports from, signing every 200 ms."""
    return Settings(
        database_url=database_url, signing_key_dir=key_dir, checkpoint_interval_seconds=0.2
    )


async def coordinator(*arguments: str | Path, env: dict[str, str] | None = None) -> Ran:
    """Run `python -m coordinator ARGUMENTS` without blocking the service under test."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "coordinator",
        *map(str, arguments),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def exported(
    callers: dict[Role, Caller], database_url: str, key_dir: Path, folder: Path
) -> tuple[str, Path]:
    """An operation with a few events, exported by `coordinator audit export` into a file."""
    field = callers[Role.FIELD]
    operation = await field.open()
    await field.record(
        operation, event("StatusNoted", note="one"), event("StatusNoted", note="two")
    )
    path = folder / f"{operation}.json"
    ran = await coordinator(
        "--database-url",
        database_url,
        "audit",
        "export",
        operation,
        "--out",
        path,
        env={"COORDINATOR_SIGNING_KEY_DIR": str(key_dir)},
    )
    assert ran.code == 0, ran.err
    return operation, path


def rewrite(path: Path, change: Any) -> None:
    """Apply `change` to the bundle in `path`, as someone editing the file would."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    change(bundle)
    path.write_text(json.dumps(bundle), encoding="utf-8")


async def test_an_exported_bundle_verifies_offline_with_exit_code_0(
    callers: dict[Role, Caller], database_url: str, key_dir: Path, tmp_path: Path
) -> None:
    """Export, then verify with the keys the service publishes: exit 0 and a plain sentence."""
    _, path = await exported(callers, database_url, key_dir, tmp_path)
    keys = tmp_path / "keys.json"
    response = await callers[Role.LEGAL].get("/v1/audit/public-key")
    keys.write_text(await response.text(), encoding="utf-8")
    ran = await coordinator("audit", "verify", path, "--keys", keys)
    assert ran.code == 0, ran.out + ran.err
    assert ran.out.startswith("Verified: all 3 events")


@pytest.mark.parametrize(
    ("change", "reason", "version"),
    [
        (lambda b: b["events"][1]["data"].update(note="three"), "hash_mismatch", 2),
        (lambda b: b["events"].pop(), "missing_event", 3),
        (
            lambda b: b["events"][0].update(leaf_index=b["events"][0]["leaf_index"] + 1),
            "bad_proof",
            1,
        ),
    ],
)
async def test_a_tampered_bundle_exits_1_naming_the_event_and_why(
    callers: dict[Role, Caller],
    database_url: str,
    key_dir: Path,
    tmp_path: Path,
    change: Any,
    reason: str,
    version: int,
) -> None:
    """An edited, shortened or misplaced event makes verify exit 1 and say where and why."""
    _, path = await exported(callers, database_url, key_dir, tmp_path)
    rewrite(path, change)
    ran = await coordinator("audit", "verify", path)
    assert ran.code == 1
    assert ran.out.startswith(f"NOT verified, {reason}")
    assert f"(version {version})" in ran.out


@pytest.mark.unit
async def test_a_file_that_is_not_json_exits_1(tmp_path: Path) -> None:
    """Garbage is not verified, and the command says so instead of crashing."""
    path = tmp_path / "garbage.json"
    path.write_text("{not json", encoding="utf-8")
    ran = await coordinator("audit", "verify", path)
    assert ran.code == 1
    assert "NOT verified" in ran.err


@pytest.mark.unit
async def test_the_offline_commands_import_nothing_of_the_service(tmp_path: Path) -> None:
    """`python -m coordinator audit verify` loads no database, web or settings library."""
    path = tmp_path / "empty.json"
    path.write_text("{}", encoding="utf-8")
    script = (
        "import json, runpy, sys\n"
        "before = set(sys.modules)\n"
        f"sys.argv = ['coordinator', 'audit', 'verify', {str(path)!r}]\n"
        "try:\n"
        "    runpy.run_module('coordinator', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    loaded = {name.split(".")[0] for name in json.loads(out.decode().splitlines()[-1])}
    assert {"coordinator", "events", "cryptography"} <= loaded
    assert not loaded & {"asyncpg", "aiohttp", "pydantic", "pydantic_settings", "structlog"}
    assert (
        not loaded
        - set(sys.stdlib_module_names)
        - {
            "coordinator",
            "events",
            "cryptography",
            "_cffi_backend",
            "_openssl",
        }
    )


async def test_consistency_of_two_checkpoints_is_checked_offline(
    callers: dict[Role, Caller], tmp_path: Path
) -> None:
    """A checkpoint kept from earlier and a later proof verify; the wrong way round they do not."""
    legal, field = callers[Role.LEGAL], callers[Role.FIELD]
    await field.open()
    old = await wait_for_checkpoint(legal, 1)
    await field.open()
    await wait_for_checkpoint(legal, old["checkpoint"]["tree_size"] + 1)
    size = old["checkpoint"]["tree_size"]
    proof = await (await legal.get(f"/v1/audit/checkpoint?from_size={size}")).json()
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(proof), encoding="utf-8")
    keys = tmp_path / "keys.json"
    keys.write_text(await (await legal.get("/v1/audit/public-key")).text(), encoding="utf-8")
    ran = await coordinator(
        "audit", "verify-consistency", tmp_path / "old.json", tmp_path / "new.json", "--keys", keys
    )
    assert ran.code == 0, ran.out
    assert ran.out.startswith("Consistent")
    wrong = await coordinator(
        "audit", "verify-consistency", tmp_path / "new.json", tmp_path / "old.json", "--keys", keys
    )
    assert wrong.code == 1
    unproven = await coordinator(
        "audit", "verify-consistency", tmp_path / "old.json", tmp_path / "new.json"
    )
    assert unproven.code == 3
    assert "NOTHING is proven about who signed" in unproven.out


async def wait_for_checkpoint(legal: Caller, size: int) -> dict[str, Any]:
    """The latest checkpoint, once it covers at least `size` events."""
    for _ in range(400):
        response = await legal.get("/v1/audit/checkpoint")
        if response.status == 200:
            document: dict[str, Any] = await response.json()
            if document["checkpoint"]["tree_size"] >= size:
                return document
        await asyncio.sleep(0.05)
    raise AssertionError(f"no checkpoint of {size} events")


async def test_a_record_changed_in_the_database_is_refused_by_the_export_command(
    callers: dict[Role, Caller], database_url: str, key_dir: Path, tmp_path: Path
) -> None:
    """The export command exits 1 and writes nothing when a stored row no longer verifies."""
    operation, _ = await exported(callers, database_url, key_dir, tmp_path)
    rogue = await asyncpg.connect(database_url)
    try:
        await rogue.execute("SET session_replication_role = replica")
        await rogue.execute(
            "UPDATE events SET occurred_at = occurred_at - interval '1 day' "
            "WHERE stream_id = $1 AND version = 2",
            uuid.UUID(operation),
        )
    finally:
        await rogue.close()
    path = tmp_path / "refused.json"
    ran = await coordinator(
        "--database-url",
        database_url,
        "audit",
        "export",
        operation,
        "--out",
        path,
        env={"COORDINATOR_SIGNING_KEY_DIR": str(key_dir)},
    )
    assert ran.code == 1
    assert "REFUSED" in ran.err
    assert "hash_mismatch" in ran.err
    assert not path.exists()


async def test_an_export_from_the_command_line_is_in_the_access_log(
    callers: dict[Role, Caller],
    database_url: str,
    key_dir: Path,
    tmp_path: Path,
    pool: asyncpg.Pool,
) -> None:
    """The operator's export is a read like any other, logged under their login and admin."""
    operation, _ = await exported(callers, database_url, key_dir, tmp_path)
    rows = await pool.fetch(
        "SELECT actor_name, actor_role, what FROM access_log WHERE operation_id = $1",
        uuid.UUID(operation),
    )
    assert [(row["actor_role"], row["what"]) for row in rows] == [("admin", "audit_trail")]
    assert rows[0]["actor_name"].startswith("command line (")


@pytest.mark.unit
async def test_rotating_the_key_from_the_command_line_keeps_the_old_public_key(
    tmp_path: Path,
) -> None:
    """After `audit rotate-key` the keyring lists the retired key beside the new active one."""
    first = await coordinator("--data-dir", tmp_path, "audit", "rotate-key")
    assert first.code == 0, first.err
    keyring = json.loads((tmp_path / "keys" / "keyring.json").read_text(encoding="utf-8"))
    assert len(keyring["keys"]) == 2
    retired = [key for key, record in keyring["keys"].items() if record["retired_at"]]
    assert len(retired) == 1
    assert retired[0] != keyring["active"]
    assert keyring["active"] in first.out


async def test_the_printable_trail_is_written_to_standard_output(
    callers: dict[Role, Caller], database_url: str, key_dir: Path
) -> None:
    """`audit export --format html` without --out prints the page for a court file."""
    operation = await callers[Role.FIELD].open()
    ran = await coordinator(
        "--database-url",
        database_url,
        "audit",
        "export",
        operation,
        "--format",
        "html",
        env={"COORDINATOR_SIGNING_KEY_DIR": str(key_dir)},
    )
    assert ran.code == 0, ran.err
    assert ran.out.startswith("<!doctype html>")
    assert operation in ran.out
