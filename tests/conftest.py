"""Fixtures: a real PostgreSQL for every test that stores anything; one database per module.

Tests through HTTP share `client` (the real app), `callers` (one per role, each with a real
token) and the role fixtures `field`, `legal`, `leadership` and `admin`. A module whose app
needs other settings overrides only `app_settings`.

Tests marked `unit` (`pytest -m unit`) run without PostgreSQL; a unit test that asks for a
database fixture, directly or through another fixture, fails before anything is started.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.event_store import EventStore
from events.store.migrate import migrate
from tests.api import Caller, Client
from tests.databases import create_database, drop_database, test_server

# The fixtures that need a PostgreSQL server: no test marked `unit` may use them.
DATABASE_FIXTURES = frozenset({"server_url", "database_url", "pool", "signal", "store"})

_unit_test_running: list[str] = []


def _database_fixtures_message(nodeid: str, names: list[str]) -> str:
    return (
        f"{nodeid} is marked `unit` but uses {', '.join(names)} (PostgreSQL): "
        "remove the `unit` mark, or test without the database"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a `unit` test that needs a database fixture, before any fixture is set up."""
    if item.get_closest_marker("unit") is None:
        return
    wanted = sorted(DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())))
    if wanted:
        pytest.fail(_database_fixtures_message(item.nodeid, wanted), pytrace=False)
    _unit_test_running.append(item.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """The unit test is over: database fixtures may be set up again."""
    if item.nodeid in _unit_test_running:
        _unit_test_running.remove(item.nodeid)


def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> None:
    """Also refuse a database fixture a `unit` test asks for while it runs (getfixturevalue)."""
    if _unit_test_running and fixturedef.argname in DATABASE_FIXTURES:
        pytest.fail(
            _database_fixtures_message(_unit_test_running[-1], [fixturedef.argname]),
            pytrace=False,
        )


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


@pytest.fixture(scope="module")
def app_settings(database_url: str) -> Settings:
    """The settings `client` runs the app with; a module overrides this fixture to change them.

    The app serves the database the settings name, so an override sets `database_url` too
    (usually to the `database_url` fixture's).
    """
    return Settings(database_url=database_url)


@pytest.fixture(scope="module")
async def client(app_settings: Settings) -> AsyncIterator[Client]:
    """The real app with the module's `app_settings`, behind a test client."""
    url = app_settings.database_url
    assert url is not None, "app_settings must name the database the app serves"
    async with TestClient(TestServer(create_app(app_settings, url))) as client:
        yield client


@pytest.fixture(scope="module")
async def callers(client: Client, pool: asyncpg.Pool) -> dict[Role, Caller]:
    """One caller per role, each with a freshly created token."""
    return {
        role: Caller(client, await create_token(pool, f"{role.value}-{uuid.uuid4().hex[:6]}", role))
        for role in Role
    }


@pytest.fixture(scope="module")
def field(callers: dict[Role, Caller]) -> Caller:
    """The rescue team in the field."""
    return callers[Role.FIELD]


@pytest.fixture(scope="module")
def legal(callers: dict[Role, Caller]) -> Caller:
    """The legal team, who take records to court."""
    return callers[Role.LEGAL]


@pytest.fixture(scope="module")
def leadership(callers: dict[Role, Caller]) -> Caller:
    """The organisation's leadership, who approve rescues."""
    return callers[Role.LEADERSHIP]


@pytest.fixture(scope="module")
def admin(callers: dict[Role, Caller]) -> Caller:
    """The administrator, who may open operations and erase personal data."""
    return callers[Role.ADMIN]


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder for the session, so apps started by tests keep signing keys out of the repo."""
    folder = tmp_path_factory.mktemp("coordinator-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COORDINATOR_DATA_DIR", str(folder))
        # Tests write and read far faster than people; the limits have tests of their own.
        patch.setenv("COORDINATOR_WRITE_RATE_PER_MINUTE", "1000000")
        patch.setenv("COORDINATOR_WRITE_BURST", "100000")
        patch.setenv("COORDINATOR_PERSONAL_READ_RATE_PER_MINUTE", "1000000")
        patch.setenv("COORDINATOR_PERSONAL_READ_BURST", "100000")
        yield folder
