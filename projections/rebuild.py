"""Rebuilding a projection from the start of the log, in one transaction, while holding its lead.

Readers see the old rows until the new ones commit, and the rebuilt projection ends exactly where
a live runner would: same rows, same checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from events.envelope import START
from events.findings import collector_paused
from events.store import EventStore, init_connection
from projections.runner import Projection, apply_batch, lock_key


class ProjectionBusy(RuntimeError):
    """Another process (a running service) leads this projection."""


async def rebuild(
    projection: Projection,
    store: EventStore,
    dsn: str,
    *,
    batch_size: int = 5_000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild `projection` from the whole log; returns the number of events applied."""
    connection = await asyncpg.connect(dsn)
    await init_connection(connection)
    try:
        if not await connection.fetchval(
            "SELECT pg_try_advisory_lock($1)", lock_key(projection.name)
        ):
            raise ProjectionBusy(
                f"projection {projection.name} is being kept by a running service; "
                "stop it (or wait) and run the rebuild again"
            )
        total = int(await connection.fetchval("SELECT count(*) FROM events"))
        applied = 0
        with collector_paused():  # millions of short-lived objects, no cycles
            async with connection.transaction():
                await projection.reset(connection)
                await connection.execute(
                    "DELETE FROM projection_checkpoints WHERE name = $1", projection.name
                )
                # Reading the next page (on the store's pool) overlaps applying this one.
                reading = asyncio.create_task(store.read_all(START, limit=batch_size))
                while batch := await reading:
                    reading = asyncio.create_task(
                        store.read_all(batch[-1].cursor, limit=batch_size)
                    )
                    await apply_batch(connection, projection, batch)
                    applied += len(batch)
                    if progress is not None:
                        progress(applied, total)
        return applied
    finally:
        await connection.close()
