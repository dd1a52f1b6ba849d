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
