"""The deployment's split of roles: the owner migrates, the service runs as the append-only role."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.store.migrate import migrate
from events.verifier.bundle_checks import verify_bundle
from tests.api import Caller, Client, event
from tests.databases import create_database, drop_database


def as_user(url: str, user: str) -> str:
    """`url` logging in as `user`, without a password (the test servers trust local logins)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@pytest.fixture(scope="module")
async def owner_and_service_urls(server_url: str) -> AsyncIterator[tuple[str, str]]:
    """A database migrated by its owner with a service role, and the URL of each."""
    owner_url = await create_database(server_url)
    role = f"homeward_app_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        owner = await asyncpg.connect(owner_url)
        try:
            await migrate(owner, app_role=role)
        finally:
            await owner.close()
        yield owner_url, as_user(owner_url, role)
    finally:
        await drop_database(server_url, owner_url)
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


@pytest.fixture(scope="module")
def app_settings(
    owner_and_service_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The real app connected as the service role (COORDINATOR_APP_ROLE left unset)."""
    _, service_url = owner_and_service_urls
    return Settings(
        database_url=service_url,
        data_dir=tmp_path_factory.mktemp("app-role-data"),
        checkpoint_interval_seconds=0.1,
    )


async def caller(client: Client, owner_url: str, role: Role) -> Caller:
    """A caller whose token the administrator created as the owner (`coordinator token`)."""
    pool = await asyncpg.create_pool(owner_url, min_size=1, max_size=1)
    try:
        token = await create_token(pool, f"{role.value}-{uuid.uuid4().hex[:6]}", role)
    finally:
        await pool.close()
    return Caller(client, token)


async def test_the_service_role_starts_records_and_exports_a_verifying_trail(
    client: Client, owner_and_service_urls: tuple[str, str]
) -> None:
    """Ready, appending, projecting and signing all work with only the service role's rights."""
    owner_url, _ = owner_and_service_urls
    ready = await client.get("/ready")
    assert ready.status == 200, await ready.text()
    field = await caller(client, owner_url, Role.FIELD)
    legal = await caller(client, owner_url, Role.LEGAL)
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="the team reached the border"))
    deadline = time.monotonic() + 20
    while True:
        response = await legal.get(f"/v1/operations/{operation}/audit-trail")
        if response.status == 200:
            break
        assert time.monotonic() < deadline, await response.text()
        await asyncio.sleep(0.1)
    bundle = json.loads(await response.text())
    keys = await (await legal.get("/v1/audit/public-key")).json()
    report = verify_bundle(bundle, trusted_keys=keys["keys"])
    assert report.ok, report.summary()
    while True:  # the projections, kept by the service role too, catch up
        listed = await (await field.get("/v1/operations")).json()
        if operation in {row["operation_id"] for row in listed["operations"]}:
            break
        assert time.monotonic() < deadline, "the operation never reached the status projection"
        await asyncio.sleep(0.1)


async def test_the_service_role_cannot_change_the_record(
    owner_and_service_urls: tuple[str, str],
) -> None:
    """Connected as the service role, an update of the log is refused by the grants."""
    _, service_url = owner_and_service_urls
    connection = await asyncpg.connect(service_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE events SET type = type")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE TABLE intruder (id int)")
    finally:
        await connection.close()
