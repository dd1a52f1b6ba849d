"""Fixtures: a real PostgreSQL for every test that stores anything; one database per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.store.migrate import migrate
from tests.databases import create_database, drop_database, test_server


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The PostgreSQL server of this test session."""
    with test_server() as url:
        yield url


@pytest.fixture(scope="module")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test module."""
    url = await create_database(server_url)
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
    finally:
        await connection.close()
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool on the module's database."""
    pool = await create_pool(database_url, min_size=1, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def signal(database_url: str) -> AsyncIterator[LogSignal]:
    """This process's log signal, connected to the module's database."""
    signal = LogSignal()
    signal.start(database_url)
    yield signal
    await signal.stop()


@pytest.fixture(scope="module")
def store(pool: asyncpg.Pool, signal: LogSignal) -> EventStore:
    """The event store on the module's database, waking local readers on append."""
    return EventStore(pool, on_append=signal.appended)


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder for the session, so apps started by tests keep signing keys out of the repo."""
    folder = tmp_path_factory.mktemp("coordinator-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORDINATOR_DATA_DIR", str(folder))
        # Tests write far faster than people; the write limit has tests of its own.
        patch.setenv("COORDINATOR_WRITE_RATE_PER_MINUTE", "1000000")
        patch.setenv("COORDINATOR_WRITE_BURST", "100000")
        yield folder
