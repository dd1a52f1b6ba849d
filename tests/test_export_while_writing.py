"""An export while the field team keeps writing to the operation is an export, not a tamper alarm.

Under load (ops/load_test.py) an export read the operation's events, an append landed and was
integrated into the Merkle log while the export waited for a checkpoint, and the export then
took the new leaf for an event deleted from the database: 409 `record_tampered` on an intact
record. Here that order of things is made certain.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.event_store import EventStore
from events.verifier.bundle_checks import verify_bundle
from evidence.export import export_bundle
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog
from tests.integrating import a_note, running


class WriteAfterFirstRead:
    """The real pool; after its first read, something else happens before the reader goes on."""

    def __init__(self, pool: asyncpg.Pool, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self._pool = pool
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile
        self.first_query = ""

    async def fetch(self, query: str, *arguments: Any) -> list[asyncpg.Record]:
        """`pool.fetch`, running `meanwhile` after the first call's answer."""
        rows = await self._pool.fetch(query, *arguments)
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            self.first_query = query
            await meanwhile()
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


@pytest.fixture
def integrator(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> LogIntegrator:
    """The Merkle log's integrator, signing only when an export asks."""
    keyring = SigningKeyring(tmp_path_factory.mktemp("keys"))
    return LogIntegrator(MerkleLog(), store, signal, database_url, keyring, interval_seconds=3600)


async def test_an_event_appended_during_an_export_is_not_taken_for_a_deleted_one(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator
) -> None:
    """The export proves the events it read; the one appended meanwhile is for the next export."""
    operation = uuid.uuid4()
    await store.append(operation, [a_note(n) for n in range(3)])

    async def field_team_writes() -> None:
        appended = await store.append(operation, [a_note(3)])
        position = appended.events[-1].position
        for _ in range(500):
            if await pool.fetchval("SELECT 1 FROM merkle_leaves WHERE position = $1", position):
                return
            await asyncio.sleep(0.01)
        pytest.fail("the integrator never integrated the new event")

    reader = WriteAfterFirstRead(pool, field_team_writes)
    async with running(integrator):
        bundle = await export_bundle(reader, integrator, operation, wait_seconds=10)
    assert "FROM events" in reader.first_query
    report = verify_bundle(bundle, trusted_keys=integrator.keyring.public_keys())
    assert report.ok, report.summary()
    assert [event["version"] for event in bundle["events"]] == [1, 2, 3]
