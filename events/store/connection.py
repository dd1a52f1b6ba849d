"""Connections to the store's PostgreSQL: the pool, jsonb as Python objects, the driver's errors.

Driver errors become the store's own errors here (`translate_errors`) and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from events.store.errors import InvalidEventData, LogIsAppendOnly, StoreUnavailable

Connection = asyncpg.Connection | PoolConnectionProxy
"""One connection: a dedicated one, or one acquired from the pool (for a transaction)."""
Queryable = Connection | asyncpg.Pool
"""What runs a statement: one connection, or the pool (each statement on a free connection)."""

# One encoder for every jsonb value: json.dumps with options would build a new one per call.
_JSONB = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _JSONB.encode(value)


async def init_connection(connection: asyncpg.Connection) -> None:
    """Teach a new connection to exchange jsonb as Python objects."""
    await connection.set_type_codec(
        "jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog"
    )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    return None


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    idle_in_transaction_timeout_ms: int = 60_000,
) -> asyncpg.Pool:
    """A connection pool set up for the store.

    A transaction left idle holds back every reader of the log (they wait for it to finish), so
    the server ends such transactions after `idle_in_transaction_timeout_ms`.

    Connections are not reset on release (asyncpg's default costs a round trip per query): the
    service keeps no session state on pooled connections (no SET outside a transaction, no
    LISTEN, only transaction-level advisory locks).
    """
    with translate_errors():
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init_connection,
            reset=_keep_session,
            server_settings={
                "application_name": "homeward",
                "idle_in_transaction_session_timeout": str(idle_in_transaction_timeout_ms),
            },
        )


# The server is going down, coming up, or has no connection slot left: try again shortly.
_STARTING_OR_STOPPING = (
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver and connection errors into the store's errors: the one place that does it."""
    try:
        yield
    except asyncpg.PostgresError as error:
        state = getattr(error, "sqlstate", None)
        if state == "HW003":
            raise LogIsAppendOnly(str(error)) from error
        if state in {"22P05", "22021", "54000"}:
            raise InvalidEventData(f"the event data cannot be stored: {error}") from error
        if isinstance(error, _STARTING_OR_STOPPING):
            raise StoreUnavailable("the database is starting up or shutting down") from error
        if isinstance(error, asyncpg.PostgresConnectionError):
            # Class 08, e.g. ConnectionDoesNotExistError: the connection was lost under a query.
            raise StoreUnavailable("the connection to the database was lost") from error
        raise
    except (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError) as error:
        # InternalClientError: asyncpg's protocol was left mid-query when the server cut it off.
        raise StoreUnavailable("the database cannot be reached") from error
