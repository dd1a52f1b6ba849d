"""A dedicated connection kept for as long as the process runs: the one loop behind every leader.

A session advisory lock and a LISTEN live only as long as their session, so the projection
runners, the Merkle log's integrator, the log signal and the board feed each hold a connection
of their own. `keep_dedicated` connects, takes the leader's lock when one is named, runs the
caller's session on the connection, and after a failure or a lost connection closes it and
starts again after a pause. Whatever the session leaves half done is rolled back with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

import asyncpg
import structlog

from events.store.connection import init_connection

log = structlog.get_logger(__name__)

Session = Callable[[asyncpg.Connection], Awaitable[None]]
"""What runs on the dedicated connection; returning ends the session (the loop reconnects)."""

# What a lost or refused connection raises; anything else is a failure worth a traceback.
CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


def lock_key(name: str) -> int:
    """A session advisory lock's key, from a name that says what it guards."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class Leadership:
    """The session advisory lock that makes one process the leader of some work.

    `block` waits in the server until the current leader's session ends (the next leader takes
    over at once); otherwise the lock is tried every `retry_seconds`, so that a waiting process
    notices when its own connection dies.
    """

    key: int
    block: bool = False


async def open_dedicated(dsn: str, application_name: str) -> asyncpg.Connection:
    """A connection of its own, named in `pg_stat_activity`, exchanging jsonb as Python objects."""
    connection = await asyncpg.connect(dsn, server_settings={"application_name": application_name})
    await init_connection(connection)
    return connection


async def keep_dedicated(
    dsn: str,
    session: Session,
    *,
    name: str,
    leadership: Leadership | None = None,
    retry_seconds: float = 1.0,
    **log_context: object,
) -> NoReturn:
    """Run `session` on a dedicated connection for ever, reconnecting after any end or failure.

    Logs `<name>_connect_failed` and `<name>_connection_lost` as warnings, and any other error
    of the session as `<name>_failed` with its traceback; none of them stops the loop.
    """
    while True:
        try:
            connection = await open_dedicated(dsn, f"homeward-{name.replace('_', '-')}")
        except (*CONNECTION_ERRORS, asyncpg.PostgresError):
            log.warning(f"{name}_connect_failed", **log_context)
        else:
            try:
                if leadership is not None:
                    await _take_lead(connection, leadership, retry_seconds)
                await session(connection)
            except asyncio.CancelledError:
                raise
            except CONNECTION_ERRORS:
                log.warning(f"{name}_connection_lost", **log_context)
            except Exception:
                log.exception(f"{name}_failed", **log_context)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
        await asyncio.sleep(retry_seconds)


async def _take_lead(
    connection: asyncpg.Connection, leadership: Leadership, retry_seconds: float
) -> None:
    if leadership.block:
        await connection.execute("SELECT pg_advisory_lock($1)", leadership.key)
        return
    while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", leadership.key):  # noqa: ASYNC110  polling on purpose, see Leadership
        await asyncio.sleep(retry_seconds)
