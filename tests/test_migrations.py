"""Migrations: applied once, safe to run twice and from two processes at once; epochs; grants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from events.store.connection import init_connection
from events.store.envelope import NewEvent
from events.store.errors import MigrationError
from events.store.event_store import EventStore
from events.store.migrate import available_migrations, migrate, pending_migrations
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.store


@pytest.fixture
async def blank_database(server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all."""
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


async def test_migrating_twice_applies_nothing_the_second_time(blank_database: str) -> None:
    """A second migrate finds everything applied and changes nothing."""
    connection = await asyncpg.connect(blank_database)
    try:
        assert await pending_migrations(connection) == [m.version for m in available_migrations()]
        first = await migrate(connection)
        second = await migrate(connection)
        assert first == [m.version for m in available_migrations()]
        assert second == []
        assert await pending_migrations(connection) == []
    finally:
        await connection.close()


async def test_two_processes_migrating_at_once_both_succeed(blank_database: str) -> None:
    """Concurrent migrations serialise on the advisory lock; each migration is applied once."""
    connections = [await asyncpg.connect(blank_database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in connections))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in available_migrations()]
        count = await connections[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(available_migrations())
    finally:
        for connection in connections:
            await connection.close()


async def test_a_restore_with_transaction_ids_ahead_opens_a_new_epoch(blank_database: str) -> None:
    """Events restored with transaction ids ahead of the server's are still read before new ones."""
    connection = await asyncpg.connect(blank_database)
    await init_connection(connection)
    try:
        await migrate(connection)
        # What pg_restore leaves behind: a row whose stored xid is far beyond this cluster's.
        await connection.execute(
            """
            INSERT INTO events (epoch, xid, event_id, stream_id, version, type, schema_version,
                                data, metadata, occurred_at, recorded_at, content_hash,
                                prev_hash, hash)
            VALUES (1, '4000000000'::xid8, $1, $2, 1, 'StatusNoted', 1, '{"note": "restored"}',
                    '{}', now(), now(), $3, $3, $3)
            """,
            uuid.uuid4(),
            uuid.uuid4(),
            bytes(32),
        )
        await migrate(connection)
        assert await connection.fetchval("SELECT current_log_epoch()") == 2
        store = EventStore(connection)
        await store.append(
            uuid.uuid4(),
            [NewEvent(uuid.uuid4(), "StatusNoted", {"note": "new"}, datetime.now(UTC))],
        )
        # Readable once no older transaction runs anywhere on the server (another test run).
        for _ in range(400):
            notes = [event.data["note"] for event in await store.read_all()]
            if len(notes) == 2:
                break
            await asyncio.sleep(0.05)
        assert notes == ["restored", "new"]
    finally:
        await connection.close()


async def test_the_service_role_may_append_and_read_but_not_change(blank_database: str) -> None:
    """With a service role configured, that role can insert and select but not update."""
    role = f"homeward_app_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(blank_database)
    await init_connection(admin)
    try:
        await admin.execute(f"CREATE ROLE {role}")
        await migrate(admin, app_role=role)
        async with admin.transaction():
            await admin.execute(f"SET LOCAL ROLE {role}")
            await EventStore(admin).append(
                uuid.uuid4(),
                [NewEvent(uuid.uuid4(), "StatusNoted", {"note": "x"}, datetime.now(UTC))],
            )
        async with admin.transaction():
            await admin.execute(f"SET LOCAL ROLE {role}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await admin.execute("UPDATE events SET type = 'x'")
        async with admin.transaction():
            await admin.execute(f"SET LOCAL ROLE {role}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await admin.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    finally:
        await admin.execute("DROP OWNED BY " + role)
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


# The checksums of released migrations. A deployed database refuses to start when an applied
# migration's text changed (even a comment), so a released migration is never edited: a change
# goes into a new migration, and its checksum joins this table when it is released.
RELEASED = {
    1: ("event_log", "5b18a409774bb44911e121113fa1659dc2ff1df603592628afb7029e5924d7c1"),
    2: ("access_tokens", "1a8710cff142bea7bc5ddd2e4ec3c3303c5ce53a08c4192b06fe2760c8d9879e"),
    3: ("projections", "6fbc7030ad1116bc133c6f29f06dc0cf61390becf54c89de2e4fb2414ce5c690"),
    4: ("merkle_log", "65ba7d30eb00a65e59b04bd0ce81d7e37f84f3033c8353caffbe33478ba63f4f"),
    5: ("merkle_leaf_streams", "77465e1c4c659162c878f1da18361450e48cc6bf8653afecf8d06bd97f963c7d"),
    6: ("access_log", "ef622bc7c101a459ac1677efe24febc1f173a164f74684bfb45632400a0e18f4"),
    10: ("personal_data_keys", "436ba5d76642a517f24b00925bb97fa771649b77b2a80405afdaf30a94c39534"),
    11: ("survivor_lookup", "f00882d13a87509e794eb9a3b7b89dbb3051ef23785add7acdcff612dd1ebbb4"),
}


@pytest.mark.unit
def test_released_migrations_are_never_edited() -> None:
    """Every released migration is shipped byte for byte as released, so upgrades still start."""
    shipped = {m.version: (m.name, m.checksum) for m in available_migrations()}
    changed = {v: shipped.get(v) for v, released in RELEASED.items() if shipped.get(v) != released}
    assert not changed, f"released migrations changed or missing: {sorted(changed)}"


async def test_a_database_migrated_by_an_edited_migration_refuses_to_start(
    blank_database: str,
) -> None:
    """The guard the table above protects: an applied migration whose text changed is refused."""
    connection = await asyncpg.connect(blank_database)
    try:
        await migrate(connection)
        await connection.execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"
        )
        with pytest.raises(MigrationError, match=r"migration 1 .* was changed after"):
            await migrate(connection)
    finally:
        await connection.close()
