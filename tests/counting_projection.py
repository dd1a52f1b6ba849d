"""A projection for tests: counts each event in a non-idempotent counter, to catch double applies.

Run as a script it leads the projection on the given database and pauses inside every batch,
so a test can kill it mid-batch: `python -m tests.counting_projection URL PAUSE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.envelope import Recorded
from events.store.event_store import EventStore
from projections.engine.runner import ProjectionRunner

SCHEMA = """
CREATE TABLE IF NOT EXISTS counted_events (event_id uuid PRIMARY KEY, applied integer NOT NULL);
CREATE TABLE IF NOT EXISTS counted_total (id integer PRIMARY KEY, total bigint NOT NULL);
INSERT INTO counted_total VALUES (1, 0) ON CONFLICT DO NOTHING;
"""


class CountingProjection:
    """Adds one to a total and to a per-event row for every event it applies."""

    name = "counting"

    def __init__(self, pause_seconds: float = 0.0) -> None:
        self.pause_seconds = pause_seconds

    async def apply(self, connection: Any, events: Sequence[Recorded]) -> None:
        """Count each event; a second application of one shows as `applied = 2`."""
        for event in events:
            await connection.execute(
                "INSERT INTO counted_events VALUES ($1, 1) "
                "ON CONFLICT (event_id) DO UPDATE SET applied = counted_events.applied + 1",
                event.event_id,
            )
            await connection.execute("UPDATE counted_total SET total = total + 1")
        if self.pause_seconds:
            print("PAUSED", flush=True)  # noqa: T201  the killing test waits for this
            await asyncio.sleep(self.pause_seconds)

    async def reset(self, connection: Any) -> None:
        """Start counting again."""
        await connection.execute("DELETE FROM counted_events")
        await connection.execute("UPDATE counted_total SET total = 0")

    def forget(self) -> None:
        """Nothing is cached."""


async def _main(url: str, pause: float) -> None:
    pool = await create_pool(url, min_size=1, max_size=4)
    signal = LogSignal()
    signal.start(url)
    runner = ProjectionRunner(
        CountingProjection(pause), EventStore(pool), signal, url, batch_size=7
    )
    await runner.run()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], float(sys.argv[2])))
