"""Append rate of the event store beside raw asyncpg single-row inserts, same database and run.

Usage: .venv/bin/python ops/bench_append.py [--database-url URL] [--seconds 5]
Without a URL it uses COORDINATOR_DATABASE_URL, else an embedded PostgreSQL in a temporary folder.
Prints events/s at concurrency 1 and 16 and the store/raw ratio. "raw" is asyncpg's own pool with
its defaults; "raw, store's pool" runs the same inserts on a pool configured like the store's
(no reset query on release), to show how much of the difference is the pool and how much the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from bench_server import rate, server

from events.store.connection import create_pool
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from events.store.migrate import migrate

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
DATA_TEXT = json.dumps(DATA)


async def measure(url: str, seconds: float) -> None:
    """Run both measurements at both concurrencies and print the table."""
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.execute(RAW_TABLE)
    await connection.close()
    pool = await create_pool(url, min_size=17, max_size=17)
    plain_pool = await asyncpg.create_pool(url, min_size=17, max_size=17)
    store = EventStore(pool)
    streams = [uuid.uuid4() for _ in range(16)]
    versions = dict.fromkeys(streams, 0)

    def raw_insert(on: asyncpg.Pool) -> Callable[[int], Awaitable[None]]:
        async def insert(n: int) -> None:
            await on.execute(
                "INSERT INTO bench_raw (stream_id, type, data, occurred_at) "
                "VALUES ($1, $2, $3::text::jsonb, $4)",
                streams[n],
                "StatusNoted",
                DATA_TEXT,
                datetime.now(UTC),
            )

        return insert

    async def store_append(n: int) -> None:
        stream = streams[n]
        event = NewEvent(uuid.uuid4(), "StatusNoted", DATA, datetime.now(UTC))
        appended = await store.append(stream, [event], expected_version=versions[stream])
        versions[stream] = appended.version

    await rate(4, 1.0, raw_insert(plain_pool))  # warm up
    await rate(4, 1.0, store_append)
    print(
        f"{'concurrency':>11} {'raw/s':>9} {'raw, store pool/s':>18} {'store/s':>9}"
        f" {'store/raw':>10} {'store/raw same pool':>20}"
    )
    for concurrency in (1, 16):
        raw = await rate(concurrency, seconds, raw_insert(plain_pool))
        same_pool = await rate(concurrency, seconds, raw_insert(pool))
        appended = await rate(concurrency, seconds, store_append)
        print(
            f"{concurrency:>11} {raw:>9,.0f} {same_pool:>18,.0f} {appended:>9,.0f}"
            f" {appended / raw:>10.2f} {appended / same_pool:>20.2f}"
        )
    await pool.close()
    await plain_pool.close()


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
