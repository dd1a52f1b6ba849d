"""An erasure that is final: nothing of her is readable afterwards, in the table's pages, a dump of
the database, the key folder or the logs, once `coordinator keys rotate --retire` has run.

Erasing her destroys her data key in the live table at once; the old row version (and older
copies in the WAL and backups) still hold her key wrapped by the key-encryption key of the day,
so the retire step re-wraps every live key under a new KEK, compacts the table and destroys the
old KEK: every old copy becomes unreadable.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.cli import key_commands
from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.privacy.data_keys import _unwrap
from coordinator.service.privacy.kek import load_keks
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from tests.api import Caller, a_case_report, a_survivor, event, to_approval

HER_NAME = "Vang Thi Marker-7Q"
HER_MOTHER_SAYS = "Vang Thi Missing-7Q"
REPORTER = "Reporter Marker-7Q"


@pytest.fixture(scope="module")
def key_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own KEK folder: retiring KEKs must not touch the other modules' keys."""
    return tmp_path_factory.mktemp("personal-keys") / "keys"


def kek_files(folder: Path) -> list[str]:
    """The KEK files a key folder holds."""
    return sorted(path.name for path in folder.glob("kek-*.key"))


@pytest.fixture(scope="module")
def app_settings(database_url: str, key_folder: Path) -> Settings:
    """The app with this module's key folder."""
    return Settings(database_url=database_url, personal_key_dir=key_folder)


async def wrapped_keys(pool: asyncpg.Pool, *subjects: uuid.UUID) -> dict[uuid.UUID, bytes]:
    """The wrapped data keys of `subjects` as the table holds them now."""
    rows = await pool.fetch(
        "SELECT subject_id, wrapped_key FROM personal_data_keys WHERE subject_id = ANY($1)",
        list(subjects),
    )
    return {row["subject_id"]: bytes(row["wrapped_key"]) for row in rows if row["wrapped_key"]}


async def raw_pages(pool: asyncpg.Pool) -> bytes:
    """Every page of the key table's file, as pageinspect reads it (dead rows included)."""
    await pool.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    blocks = await pool.fetchval(
        "SELECT pg_relation_size('personal_data_keys') / current_setting('block_size')::int"
    )
    pages = [
        await pool.fetchval("SELECT get_raw_page('personal_data_keys', $1)", block)
        for block in range(blocks)
    ]
    return b"".join(bytes(page) for page in pages)


def dump(database_url: str) -> bytes:
    """`pg_dump` of the whole database, as a backup would hold it."""
    return subprocess.run(  # noqa: S603  a fixed tool and a test database's URL
        ["pg_dump", "--no-owner", database_url],  # noqa: S607  the machine's pg_dump
        check=True,
        capture_output=True,
    ).stdout


async def test_after_erasure_and_retiring_the_kek_nothing_of_her_is_readable(
    callers: dict[Role, Caller],
    pool: asyncpg.Pool,
    database_url: str,
    app_settings: Settings,
    key_folder: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Her name (in her registration and in her mother's report) is unreadable everywhere after
    the retire; before it, the test sees her old wrapped key in the table's pages, so it would
    see it after if compaction failed. Everyone else's data still opens."""
    field, leadership, admin = callers[Role.FIELD], callers[Role.LEADERSHIP], callers[Role.ADMIN]
    missing = uuid.uuid4()
    report = a_case_report(reporter={"relationship": "mother", "personal": {"name": REPORTER}})
    report["missing_persons"][0].update(
        missing_person_id=str(missing), personal={"name": HER_MOTHER_SAYS}
    )
    operation = await field.open(**report)
    await field.record(operation, *to_approval())
    await leadership.record(operation, event("RescueApproved"))
    girl = a_survivor(missing_person_id=str(missing), personal={"name": HER_NAME})
    survivor = uuid.UUID(girl["survivor_id"])
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=[girl]))
    before = await wrapped_keys(pool, survivor, missing)
    assert set(before) == {survivor, missing}
    old_kek = load_keks(key_folder).active_id

    response = await admin.client.delete(
        f"/v1/survivors/{survivor}/personal-data",
        json={"reason": "she asked"},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status == 200, await response.text()
    assert await wrapped_keys(pool, survivor, missing) == {}
    pages = await raw_pages(pool)
    assert any(key in pages for key in before.values()), "the test must see the dead row"

    assert await key_commands.run(database_url, app_settings, retire=True) == 0

    assert kek_files(key_folder) == [f"kek-{load_keks(key_folder).active_id}.key"]
    assert old_kek not in load_keks(key_folder).keys
    pages = await raw_pages(pool)
    for key in before.values():
        assert key not in pages
    backup = dump(database_url)
    for key in before.values():
        assert key.hex().encode() not in backup
    for name in (HER_NAME, HER_MOTHER_SAYS, REPORTER):
        assert name.encode() not in backup  # sealed from the start
    keks = load_keks(key_folder)
    for subject, key in before.items():
        for kek_id in keks.keys:
            with pytest.raises(Exception):  # noqa: B017, PT011  any failure to unwrap will do
                _unwrap(keks, subject, kek_id, key)

    # A replica started with the new key folder opens everyone else's data, never hers.
    fresh = create_app(app_settings, database_url)
    async with TestClient(TestServer(fresh)) as client:
        reader = Caller(
            client, await create_token(pool, f"after-{uuid.uuid4().hex[:6]}", Role.FIELD)
        )
        stored = await (await reader.get(f"/v1/operations/{operation}/events")).json()
        reported = stored["events"][0]["data"]
        assert reported["reporter"]["personal"] == {"name": REPORTER}
        assert reported["missing_persons"][0]["personal"] == {"erased": True}
        rescued = next(e for e in stored["events"] if e["type"] == "RescueExecuted")
        assert rescued["data"]["survivors"][0]["personal"] == {"erased": True}
    logged = capfd.readouterr()
    for name in (HER_NAME, HER_MOTHER_SAYS, REPORTER):
        assert name not in logged.out
        assert name not in logged.err
