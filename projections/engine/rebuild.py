"""Rebuilding a projection from the start of the log, in one transaction, while holding its lead.

The rebuild reads up to a fixed end, the last event every reader can see when it begins, and
commits its rows with the checkpoint at that end, so it ends exactly where a live runner would:
same rows, same checkpoint. Readers see the old rows until it commits. A projection that folds
each operation on its own is rebuilt by streams, in several processes at once
(projections/engine/stream_rebuild.py); any other reads the log in global order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from events.store.connection import init_connection
from events.store.envelope import START, Cursor, Recorded
from events.store.event_store import EventStore
from events.store.stream_ranges import count_until
from events.verifier.findings import collector_paused
from projections.engine.positions import save_checkpoint
from projections.engine.runner import Projection, projection_lock
from projections.engine.stream_rebuild import FoldsEachStream, ProjectionFactory, rebuild_by_streams


class ProjectionBusy(RuntimeError):
    """Another process (a running service) leads this projection."""


async def rebuild(
    projection: Projection,
    store: EventStore,
    dsn: str,
    *,
    batch_size: int = 5_000,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    factory: ProjectionFactory | None = None,
) -> int:
    """Rebuild `projection` from the whole log; returns the number of events applied.

    With `workers` above 1, a projection that folds each operation on its own is rebuilt by that
    many processes; `factory` builds it in the helper processes (see stream_rebuild).
    """
    connection = await asyncpg.connect(dsn)
    await init_connection(connection)
    try:
        if not await connection.fetchval(
            "SELECT pg_try_advisory_lock($1)", projection_lock(projection.name)
        ):
            raise ProjectionBusy(
                f"projection {projection.name} is being kept by a running service; "
                "stop it (or wait) and run the rebuild again"
            )
        end = await store.head()  # the last event readable now: the rebuild stops there
        total = 0 if end == START else await count_until(connection, end)

        def advance(applied: int) -> None:
            if progress is not None:
                progress(applied, total)

        with collector_paused():  # millions of short-lived objects, no cycles
            async with connection.transaction():
                await projection.reset(connection)
                await connection.execute(
                    "DELETE FROM projection_checkpoints WHERE name = $1", projection.name
                )
                if end == START:  # an empty log
                    return 0
                try:
                    if isinstance(projection, FoldsEachStream):
                        applied = await rebuild_by_streams(
                            connection,
                            projection,
                            store,
                            end,
                            dsn=dsn,
                            workers=workers,
                            factory=factory,
                            batch_size=batch_size,
                            progress=advance,
                        )
                    else:
                        applied = await _rebuild_in_order(
                            connection,
                            projection,
                            store,
                            end,
                            batch_size=batch_size,
                            progress=advance,
                        )
                except BaseException:
                    projection.forget()
                    raise
                await save_checkpoint(connection, projection.name, end, applied)
        return applied
    finally:
        await connection.close()


async def _rebuild_in_order(
    connection: asyncpg.Connection,
    projection: Projection,
    store: EventStore,
    end: Cursor,
    *,
    batch_size: int,
    progress: Callable[[int], None],
) -> int:
    """Apply the log up to `end` in global order, page by page."""
    applied = 0
    reading: asyncio.Task[list[Recorded]] | None = asyncio.create_task(
        store.read_all(limit=batch_size)
    )
    while reading is not None and (batch := await reading):
        if batch[-1].cursor >= end:
            batch = [event for event in batch if event.cursor <= end]
            reading = None
        else:
            # Reading the next page (on the store's pool) overlaps applying this one.
            reading = asyncio.create_task(store.read_all(batch[-1].cursor, limit=batch_size))
        await projection.apply(connection, batch)
        applied += len(batch)
        progress(applied)
    return applied
