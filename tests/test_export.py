"""Exporting a bundle from the database: it always covers every event, signing on demand."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.event_store import EventStore
from events.verifier.bundle_checks import verify_bundle
from evidence.export import KeyringMismatch, LogBehind, OperationNotFound, export_bundle
from evidence.integrator import LOCK_KEY, LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog
from tests.integrating import a_note, running


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """The log's signing keys, in files."""
    return SigningKeyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def integrator(
    store: EventStore, signal: LogSignal, database_url: str, keyring: SigningKeyring
) -> LogIntegrator:
    """An integrator that would sign only once an hour at its own pace."""
    return LogIntegrator(MerkleLog(), store, signal, database_url, keyring, interval_seconds=3600)


async def an_operation(store: EventStore, events: int = 3) -> uuid.UUID:
    """An operation with `events` notes."""
    operation = uuid.uuid4()
    await store.append(operation, [a_note(n) for n in range(events)])
    return operation


async def test_a_leader_signing_hourly_signs_at_once_for_an_export(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator, keyring: SigningKeyring
) -> None:
    """The export asks the leader for a checkpoint instead of waiting for its pace."""
    async with running(integrator):
        operation = await an_operation(store)
        started = time.monotonic()
        bundle = await export_bundle(pool, integrator, operation, wait_seconds=10)
    assert time.monotonic() - started < 5
    assert verify_bundle(bundle, trusted_keys=keyring.public_keys()).ok


async def test_with_no_leader_running_the_export_integrates_and_signs_itself(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator, keyring: SigningKeyring
) -> None:
    """A command-line export with no service running still proves every event."""
    operation = await an_operation(store, 5)
    bundle = await export_bundle(pool, integrator, operation, wait_seconds=10)
    report = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert report.ok, report.summary()
    assert report.events_total == 5
    assert not integrator.leading


async def test_a_stuck_leader_makes_the_export_say_the_log_is_behind(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator, database_url: str
) -> None:
    """When the lock holder never integrates, the export gives up after its wait, clearly."""
    stuck = await asyncpg.connect(database_url)
    try:
        await stuck.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        operation = await an_operation(store)
        with pytest.raises(LogBehind, match="did not cover"):
            await export_bundle(pool, integrator, operation, wait_seconds=0.5)
    finally:
        await stuck.close()


async def test_an_operation_with_no_events_is_not_found(
    pool: asyncpg.Pool, integrator: LogIntegrator
) -> None:
    """There is no bundle of nothing."""
    with pytest.raises(OperationNotFound):
        await export_bundle(pool, integrator, uuid.uuid4(), wait_seconds=0.1)


async def test_a_keyring_without_the_signing_key_is_told_apart_from_tampering(
    store: EventStore,
    pool: asyncpg.Pool,
    signal: LogSignal,
    database_url: str,
    integrator: LogIntegrator,
    tmp_path: Path,
) -> None:
    """An export with another key folder than the service's says so instead of crying tamper."""
    operation = await an_operation(store)
    await export_bundle(pool, integrator, operation, wait_seconds=10)
    stranger = LogIntegrator(
        MerkleLog(), store, signal, database_url, SigningKeyring(tmp_path / "other-keys")
    )
    with pytest.raises(KeyringMismatch, match="does not hold"):
        await export_bundle(pool, stranger, operation, wait_seconds=10)
