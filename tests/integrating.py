"""Helpers for tests of the Merkle log: notes to append, and an integrator run for a block."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from evidence.integrator import LogIntegrator


def a_note(n: int) -> NewEvent:
    """A status note numbered `n`."""
    return NewEvent(
        event_id=uuid.uuid4(), type="StatusNoted", data={"note": n}, occurred_at=datetime.now(UTC)
    )


async def append_notes(store: EventStore, count: int, *, per_stream: int = 50) -> None:
    """Append `count` notes in batches over several streams."""
    done = 0
    while done < count:
        batch = min(per_stream, count - done)
        await store.append(uuid.uuid4(), [a_note(done + n) for n in range(batch)])
        done += batch


@contextlib.asynccontextmanager
async def running(integrator: LogIntegrator) -> AsyncIterator[asyncio.Task[None]]:
    """Run an integrator for the block."""
    task = asyncio.create_task(integrator.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
