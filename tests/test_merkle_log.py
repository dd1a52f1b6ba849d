"""The Merkle log in PostgreSQL: integrated in global order by one leader, checkpoints signed."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.store.migrate import migrate
from events.verifier.checkpoints import SignedCheckpoint, verify_checkpoint
from events.verifier.consistency import verify_consistency_files
from evidence.bundle import build_consistency
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import (
    CHUNK,
    LogInconsistent,
    MerkleLog,
    check_against,
    latest_checkpoint,
)
from evidence.merkle_tree import MerkleTree
from tests.databases import create_database, drop_database
from tests.integrating import append_notes, running

pytestmark = pytest.mark.store


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Wait until `check` holds, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


async def integrated_everything(pool: asyncpg.Pool) -> bool:
    """Whether every event in the log is a leaf."""
    return bool(
        await pool.fetchval(
            "SELECT (SELECT count(*) FROM events) = (SELECT count(*) FROM merkle_leaves)"
        )
    )


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """The log's signing keys, in files."""
    return SigningKeyring(tmp_path_factory.mktemp("keys"))


def an_integrator(
    store: EventStore, signal: LogSignal, database_url: str, keyring: SigningKeyring
) -> LogIntegrator:
    """An integrator with its own copy of the log, signing every 50 ms."""
    return LogIntegrator(
        MerkleLog(), store, signal, database_url, keyring, interval_seconds=0.05, retry_seconds=0.1
    )


async def stored_checkpoints(pool: asyncpg.Pool) -> list[SignedCheckpoint]:
    """Every signed checkpoint, smallest tree first."""
    rows = await pool.fetch("SELECT document FROM signed_checkpoints ORDER BY tree_size")
    return [SignedCheckpoint.from_json(row["document"]) for row in rows]


async def test_every_event_becomes_a_leaf_in_global_order(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """Leaves hold the event hashes in the order the log is read, each event once."""
    await append_notes(store, 120)
    async with running(an_integrator(store, signal, database_url, keyring)):
        await append_notes(store, 80)
        await eventually(lambda: integrated_everything(pool))
    leaves = await pool.fetch(
        "SELECT leaf_index, position, event_hash FROM merkle_leaves ORDER BY leaf_index"
    )
    logged = await store.read_all(limit=10_000)
    assert [row["leaf_index"] for row in leaves] == list(range(len(logged)))
    assert [(row["position"], bytes(row["event_hash"])) for row in leaves] == [
        (event.position, event.hash) for event in logged
    ]


async def test_checkpoints_are_signed_at_a_pace_only_when_the_log_grew(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """A quiet log gets no new checkpoints; a grown one gets one covering the new leaves."""
    async with running(an_integrator(store, signal, database_url, keyring)):
        await append_notes(store, 10)
        await eventually(lambda: integrated_everything(pool))
        total = await pool.fetchval("SELECT count(*) FROM events")
        await eventually(lambda: _latest_size_is(pool, total))
        count = await pool.fetchval("SELECT count(*) FROM signed_checkpoints")
        await asyncio.sleep(0.3)
        assert await pool.fetchval("SELECT count(*) FROM signed_checkpoints") == count
    latest = await latest_checkpoint(pool)
    assert latest is not None
    verify_checkpoint(latest, keyring.public_keys())


async def _latest_size_is(pool: asyncpg.Pool, size: int) -> bool:
    return bool(await pool.fetchval("SELECT max(tree_size) = $1 FROM signed_checkpoints", size))


async def test_a_tree_loaded_from_storage_has_the_integrated_roots(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """Node runs and leaves rebuild the same tree, across several complete runs of nodes."""
    await append_notes(store, 2 * CHUNK + 300, per_stream=500)
    integrator = an_integrator(store, signal, database_url, keyring)
    async with running(integrator):
        await eventually(lambda: integrated_everything(pool))
    async with pool.acquire() as connection:
        loaded = await MerkleLog().refresh(connection)
    hashes = [
        bytes(row["event_hash"])
        for row in await pool.fetch("SELECT event_hash FROM merkle_leaves ORDER BY leaf_index")
    ]
    assert loaded.root() == MerkleTree.from_leaves(hashes).root() == integrator.log.tree.root()
    assert await pool.fetchval("SELECT count(*) FROM merkle_node_chunks WHERE level = 1") >= 1


async def test_two_integrators_never_integrate_at_once_and_the_second_takes_over(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """Only the lock holder integrates; when it stops, the other continues from its cursor."""
    first = an_integrator(store, signal, database_url, keyring)
    second = an_integrator(store, signal, database_url, keyring)
    both_led = 0

    async def watch() -> None:
        nonlocal both_led
        while True:
            both_led += first.leading and second.leading
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(watch())
    async with running(first) as first_task:
        await eventually(lambda: _leads(first))
        async with running(second):
            await append_notes(store, 100)
            await eventually(lambda: integrated_everything(pool))
            assert not second.leading
            first_task.cancel()
            await eventually(lambda: _leads(second))
            await append_notes(store, 100)
            await eventually(lambda: integrated_everything(pool))
    watcher.cancel()
    assert both_led == 0
    logged = await store.read_all(limit=100_000)
    rows = await pool.fetch("SELECT position FROM merkle_leaves ORDER BY leaf_index")
    assert [row["position"] for row in rows] == [event.position for event in logged]


async def _leads(integrator: LogIntegrator) -> bool:
    return integrator.leading


@pytest.fixture
async def scratch_database(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh, migrated database of its own (rows here break no other test)."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    await migrate(connection)
    yield connection
    await connection.close()
    await drop_database(server_url, url)


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [
        ("merkle_leaves", "leaf_index", "(0, 1, 1, '1'::xid8, sha256(''), NULL, NULL)"),
        ("merkle_node_chunks", "chunk", "(0, 0, decode(repeat('00', 32768), 'hex'))"),
        ("signed_checkpoints", "key_id", "(1, sha256(''), now(), 'k', '', '{}')"),
    ],
)
async def test_the_merkle_log_tables_refuse_change(
    scratch_database: asyncpg.Connection, table: str, column: str, row: str
) -> None:
    """Leaves, node runs and checkpoints are part of the record: no update, delete or truncate."""
    await scratch_database.execute(f"INSERT INTO {table} VALUES {row}")
    for statement in (
        f"UPDATE {table} SET {column} = {column}",
        f"DELETE FROM {table}",
        f"TRUNCATE {table}",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await scratch_database.execute(statement)


async def test_consistency_proofs_hold_across_many_published_checkpoints(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """Every published checkpoint is proven extended by each later one."""
    integrator = an_integrator(store, signal, database_url, keyring)
    async with running(integrator):
        for wave in range(10):
            await append_notes(store, 7 + wave * 13)
            await eventually(lambda: integrated_everything(pool))
            total = await pool.fetchval("SELECT count(*) FROM events")
            await eventually(functools.partial(_latest_size_is, pool, total))
    published = await stored_checkpoints(pool)
    assert len(published) >= 10
    async with pool.acquire() as connection:
        tree = await MerkleLog().refresh(connection)
    keys = keyring.public_keys()
    for older_index, older in enumerate(published):
        for newer in published[older_index + 1 :]:
            proof = build_consistency(newer, older.checkpoint.tree_size, tree, keys)
            report = verify_consistency_files(older.to_json(), json.loads(json.dumps(proof)))
            assert report.ok, report.summary()


async def test_rotating_the_key_keeps_earlier_checkpoints_verifiable(
    store: EventStore,
    signal: LogSignal,
    database_url: str,
    pool: asyncpg.Pool,
    keyring: SigningKeyring,
) -> None:
    """Checkpoints signed before and after a rotation all verify with the published keys."""
    integrator = an_integrator(store, signal, database_url, keyring)
    async with running(integrator):
        await append_notes(store, 5)
        total = await pool.fetchval("SELECT count(*) FROM events")
        await eventually(lambda: _latest_size_is(pool, total))
        old_key = keyring.active_key_id
        new_key = keyring.rotate()
        await append_notes(store, 5)
        await eventually(lambda: _latest_size_is(pool, total + 5))
    published = await stored_checkpoints(pool)
    keys = keyring.public_keys()
    assert keys[old_key]["retired_at"] is not None
    assert {old_key, new_key} <= {signed.checkpoint.key_id for signed in published}
    for signed in published:
        verify_checkpoint(signed, keys)


async def test_a_leaf_changed_behind_the_triggers_back_is_refused_on_load(
    server_url: str, keyring: SigningKeyring
) -> None:
    """The log reloaded after a superuser edited a leaf no longer has the signed root."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    await migrate(connection)
    pool = await create_pool(url, min_size=1, max_size=4)
    signal = LogSignal()
    signal.start(url)
    try:
        store = EventStore(pool, on_append=signal.appended)
        await append_notes(store, 30)
        async with running(an_integrator(store, signal, url, keyring)):
            await eventually(lambda: _latest_size_is(pool, 30))
        await connection.execute("SET session_replication_role = replica")
        await connection.execute(
            "UPDATE merkle_leaves SET event_hash = sha256('forged') WHERE leaf_index = 7"
        )
        latest = await latest_checkpoint(pool)
        assert latest is not None
        async with pool.acquire() as reader:
            tree = await MerkleLog().refresh(reader)
        with pytest.raises(LogInconsistent, match="not the signed root"):
            check_against(tree, latest, keyring.public_keys())
    finally:
        await signal.stop()
        await pool.close()
        await connection.close()
        await drop_database(server_url, url)


async def test_reading_only_hashes_gives_the_same_order_and_hashes_as_whole_events(
    store: EventStore,
) -> None:
    """The integrator's light read sees exactly the events read_all sees, in the same order."""
    await append_notes(store, 30)
    # Both reads see what is readable when they run; a transaction still open elsewhere on the
    # server can make the first see less. Once nothing holds the log back they must agree.
    for _ in range(200):
        whole = await store.read_all(limit=100_000)
        light = await store.read_all_hashes(limit=100_000)
        if len(whole) == len(light) and len(whole) >= 30:
            break
        await asyncio.sleep(0.05)
    assert [(e.cursor, e.position, e.stream_id, e.version, e.hash) for e in whole] == [
        (e.cursor, e.position, e.stream_id, e.version, e.hash) for e in light
    ]
