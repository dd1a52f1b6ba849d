"""The audit API through HTTP with real tokens: checkpoints, keys and who may read them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.actors import Role
from coordinator.app import create_app
from coordinator.auth import create_token
from coordinator.settings import Settings
from events.checkpoints import SignedCheckpoint, verify_checkpoint
from events.consistency import verify_consistency_files
from tests.api import Caller, Client, event


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's signing key folder."""
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(scope="module")
async def client(database_url: str, key_dir: Path) -> AsyncIterator[Client]:
    """The real app on the module's database, signing checkpoints every 100 ms."""
    settings = Settings(
        database_url=database_url, signing_key_dir=key_dir, checkpoint_interval_seconds=0.1
    )
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        yield client


@pytest.fixture(scope="module")
async def callers(client: Client, pool: asyncpg.Pool) -> dict[Role, Caller]:
    """One caller per role, each with a freshly created token."""
    return {
        role: Caller(client, await create_token(pool, f"{role.value}-{uuid.uuid4().hex[:6]}", role))
        for role in Role
    }


@pytest.fixture
def field(callers: dict[Role, Caller]) -> Caller:
    """The rescue team in the field."""
    return callers[Role.FIELD]


@pytest.fixture
def legal(callers: dict[Role, Caller]) -> Caller:
    """The legal team, who take records to court."""
    return callers[Role.LEGAL]


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


@pytest.mark.parametrize("size", ["-1", "x", "99999999999", ""])
async def test_a_bad_from_size_is_400(legal: Caller, field: Caller, size: str) -> None:
    """A size that is not a number of events the log had is refused, not crashed on."""
    await field.open()
    response = await legal.get(f"/v1/audit/checkpoint?from_size={size}")
    assert response.status in {400, 404}
    assert (await response.json())["error"] in {"bad_request", "not_found"}
