"""Two replicas each caching operation states never decide on a stale one, nor lose an event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.domain.stored import fold
from coordinator.http.app import create_app
from coordinator.http.app_keys import OPERATIONS
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.store.event_store import EventStore
from tests.api import Caller, Client, event, to_approval


@pytest.fixture(scope="module")
async def replicas(database_url: str) -> AsyncIterator[tuple[Client, Client]]:
    """Two apps on one database, as two `coordinator serve` replicas would be."""
    settings = Settings(database_url=database_url, run_projections=False)
    async with (
        TestClient(TestServer(create_app(settings, database_url))) as first,
        TestClient(TestServer(create_app(settings, database_url))) as second,
    ):
        yield first, second


async def test_a_replica_catches_up_with_appends_made_through_the_other(
    replicas: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    """Appends alternate between replicas, each at the version the other answered."""
    token = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    first, second = Caller(replicas[0], token), Caller(replicas[1], token)
    operation = await first.open()
    version = 1
    for n in range(6):
        caller = (first, second)[n % 2]
        response = await caller.post(
            f"/v1/operations/{operation}/events",
            {"expected_version": version, "events": [event("StatusNoted", note=f"n{n}")]},
        )
        assert response.status == 201, await response.text()
        version = (await response.json())["version"]
    assert version == 7


async def test_a_replica_with_a_stale_state_still_applies_the_rules(
    replicas: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    """A replica that last saw the plan refuses a second approval the other replica recorded."""
    field = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    leader = await create_token(pool, f"lead-{uuid.uuid4().hex[:6]}", Role.LEADERSHIP)
    first, second = Caller(replicas[0], field), Caller(replicas[1], field)
    operation = await first.open()
    await first.record(operation, *to_approval())  # the first replica caches version 6
    await Caller(replicas[1], leader).record(operation, event("RescueApproved"))
    again = await Caller(replicas[0], leader).post(
        f"/v1/operations/{operation}/events", {"events": [event("RescueApproved")]}
    )
    assert again.status == 422  # decided on version 7 (read), not the cached 6
    stale = await first.post(
        f"/v1/operations/{operation}/events",
        {"expected_version": 6, "events": [event("StatusNoted", note="late")]},
    )
    assert stale.status == 409
    assert (await stale.json())["actual_version"] == 7
    assert (await second.get(f"/v1/operations/{operation}")).status == 200


async def test_a_cache_too_small_for_the_working_set_still_decides_on_current_states(
    database_url: str, pool: asyncpg.Pool
) -> None:
    """With room for fewer states than operations, appends evict and re-read, never stale."""
    settings = Settings(database_url=database_url, run_projections=False, operation_cache_mb=0.002)
    token = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    async with TestClient(TestServer(create_app(settings, database_url))) as client:
        caller = Caller(client, token)
        operations = {await caller.open(): 1 for _ in range(3)}
        for n in range(4):
            for operation, version in operations.items():
                response = await caller.post(
                    f"/v1/operations/{operation}/events",
                    {"expected_version": version, "events": [event("StatusNoted", note=f"{n}")]},
                )
                assert response.status == 201, await response.text()
                operations[operation] = (await response.json())["version"]
        assert set(operations.values()) == {5}
        cache = client.app[OPERATIONS]
        assert len(cache) < len(operations)
        assert cache.used_bytes <= 0.002 * 1024 * 1024


async def test_the_state_cached_after_an_append_equals_the_stored_stream_folded(
    replicas: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    """What the shell caches after its appends is what folding the log gives."""
    token = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    client = replicas[0]
    caller = Caller(client, token)
    operation = await caller.open()
    version = 1
    for batch in (to_approval()[:2], [event("StatusNoted", note="at the border")]):
        response = await caller.post(
            f"/v1/operations/{operation}/events", {"expected_version": version, "events": batch}
        )
        assert response.status == 201, await response.text()
        version = (await response.json())["version"]
    app = client.app
    assert app is not None
    cached = app[OPERATIONS].held(uuid.UUID(operation))  # what the next append decides on
    folded = fold(await EventStore(pool).read_stream(uuid.UUID(operation)))
    assert cached == folded
    assert cached.version == version
