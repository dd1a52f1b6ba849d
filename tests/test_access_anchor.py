"""The access log's head anchored in the signed checkpoints: an exported access log is checked
offline against the checkpoint note's `access-log <n> <head>` line, so a row rewritten or removed
behind the triggers' back after a checkpoint covered it is caught, even with its chain redone."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coordinator.cli.audit_commands import (
    NOT_PROVEN,
    NOT_VERIFIED,
    PROVEN,
    offline_arguments,
    run_offline,
)
from coordinator.settings import Settings
from events.verifier.access_anchor import verify_access_log
from events.verifier.findings import Reason
from events.verifier.signed_note import parse_note
from events.verifier.tlog_checkpoint import read_checkpoint_text
from evidence.access_chain import body_hash, link_hash
from tests.api import Caller


@pytest.fixture(scope="module")
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real app, signing checkpoints every 100 ms."""
    return Settings(
        database_url=database_url,
        signing_key_dir=tmp_path_factory.mktemp("signing-keys"),
        checkpoint_interval_seconds=0.1,
    )


async def anchored_export(field: Caller, legal: Caller, pool: asyncpg.Pool) -> dict[str, Any]:
    """Reads recorded in the access log, then an event, so a new checkpoint anchors them; the
    exported access log once its note anchors every entry."""
    operation = await field.open()
    for _ in range(3):
        assert (await legal.get(f"/v1/operations/{operation}/audit-trail")).status == 200
    await field.open()
    entries = await pool.fetchval("SELECT count(*) FROM access_log")
    deadline = time.monotonic() + 20
    while True:
        response = await legal.get("/v1/audit/access-log?format=export")
        if response.status == 200:
            document: dict[str, Any] = await response.json()
            note = read_checkpoint_text(parse_note(document["checkpoint_note"]).text)
            if note.access is not None and note.access.entries >= entries:
                return document
        assert time.monotonic() < deadline, "no checkpoint anchored the access log in time"
        await field.open()
        await asyncio.sleep(0.1)


async def public_keys(legal: Caller) -> dict[str, Any]:
    """Homeward's published keys."""
    keys: dict[str, Any] = (await (await legal.get("/v1/audit/public-key")).json())["keys"]
    return keys


async def test_an_exported_access_log_verifies_against_its_anchor(
    field: Caller, legal: Caller, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Every entry chains and the anchored ones are the checkpoint's; exit 0 with --keys, 3
    without."""
    document = await anchored_export(field, legal, pool)
    report = verify_access_log(document, trusted_keys=await public_keys(legal))
    assert report.proven, report.summary()
    assert report.entries_anchored is not None
    assert report.entries_anchored >= 3
    (tmp_path / "access.json").write_text(json.dumps(document))
    (tmp_path / "keys.json").write_text(
        json.dumps(await (await legal.get("/v1/audit/public-key")).json())
    )
    command = ["audit", "verify-access-log", str(tmp_path / "access.json")]
    with_keys = offline_arguments([*command, "--keys", str(tmp_path / "keys.json")])
    without = offline_arguments(command)
    assert with_keys is not None
    assert without is not None
    assert run_offline(with_keys) == PROVEN
    assert run_offline(without) == NOT_PROVEN


async def test_a_removed_anchored_entry_is_caught(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """Entries cut from the end of an export, below the anchored count, are named as removed."""
    document = await anchored_export(field, legal, pool)
    keys = await public_keys(legal)
    anchored = verify_access_log(document, trusted_keys=keys).entries_anchored
    assert anchored is not None
    document["entries"] = document["entries"][: anchored - 1]
    failure = verify_access_log(document, trusted_keys=keys).failure
    assert failure is not None
    assert failure.reason == Reason.MISSING_EVENT
    assert "entries were removed" in failure.sentence


async def rewrite(pool: asyncpg.Pool, entry: int, *, rechain: bool) -> None:
    """As a superuser with the triggers off: change who read entry `entry`, and with `rechain`
    recompute its hash and every later one, as a careful forger would."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE access_log DISABLE TRIGGER USER")
        await connection.execute(
            "UPDATE access_log SET actor_name = 'someone-else' WHERE entry = $1", entry
        )
        if rechain:
            rows = await connection.fetch("SELECT * FROM access_log ORDER BY entry")
            previous = bytes(32)
            for row in rows:
                body = body_hash(
                    accessed_at=row["accessed_at"],
                    actor_name=row["actor_name"],
                    actor_role=row["actor_role"],
                    operation_id=row["operation_id"],
                    what=row["what"],
                    page_format=row["format"],
                    request_id=row["request_id"],
                )
                link = link_hash(body, row["entry"], previous)
                await connection.execute(
                    "UPDATE access_log SET prev_hash = $2, hash = $3 WHERE entry = $1",
                    row["entry"],
                    previous,
                    link,
                )
                previous = link
        await connection.execute("ALTER TABLE access_log ENABLE TRIGGER USER")


async def test_a_rewritten_and_rechained_entry_is_caught_by_the_anchor(
    field: Caller, legal: Caller, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """An entry changed and the whole chain recomputed chains again, but no longer ends in the
    head the signed checkpoint anchored; changed without rechaining, its hash fails."""
    document = await anchored_export(field, legal, pool)
    keys = await public_keys(legal)
    assert verify_access_log(document, trusted_keys=keys).proven
    await rewrite(pool, 2, rechain=True)
    exported = await (await legal.get("/v1/audit/access-log?format=export")).json()
    report = verify_access_log(exported, trusted_keys=keys)
    assert report.failure is not None, report.summary()
    assert report.failure.reason == Reason.ANCHOR_MISMATCH
    assert "rewritten after it was signed" in report.summary()
    (tmp_path / "access.json").write_text(json.dumps(exported))
    arguments = offline_arguments(["audit", "verify-access-log", str(tmp_path / "access.json")])
    assert arguments is not None
    assert run_offline(arguments) == NOT_VERIFIED
    await rewrite(pool, 1, rechain=False)
    naive = await (await legal.get("/v1/audit/access-log?format=export")).json()
    failure = verify_access_log(naive, trusted_keys=keys).failure
    assert failure is not None
    assert (failure.reason, failure.version) == (Reason.HASH_MISMATCH, 1)
