"""Projection rebuild speed and live board latency.

Usage: .venv/bin/python ops/bench_projections.py [--database-url URL] [--events 100000]
                                                  [--workers N] [--rate 50] [--seconds 20]
Without a URL it uses COORDINATOR_DATABASE_URL, else an embedded PostgreSQL in a temporary folder.
It creates a fresh database on that server for the run and drops it afterwards.

1. Rebuild: appends `--events` events of realistic rescue operations through the store (each
   operation: report, investigation, leads, partners, plan, approval, rescue of two survivors,
   custody transfer, return, reunion, support, notes), then rebuilds every projection from the
   log and prints events/s for each: by one process, and (the board and operation status, which
   fold each operation on its own) by `--workers` processes (default: one per processor, at most
   4; projections/engine/stream_rebuild.py), as `coordinator projections rebuild` does.
2. Board latency, on the same database (an organisation's database has history): starts the real
   service (`coordinator serve`), waits until it has caught up with that history (projections and
   Merkle log, as a running deployment would have), holds a server-sent event stream of the board
   open, and appends at a steady `--rate` per second through HTTP; for each append it measures
   from the 201 answer to the board event carrying that operation's new version, and prints p50,
   p99 and the worst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from bench_server import server

from coordinator.service.projection_set import (
    PROJECTION_NAMES,
    build_projections,
    rebuilt_projection,
)
from events.store.connection import create_pool
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from events.store.migrate import migrate
from projections.engine.positions import lag_seconds
from projections.engine.rebuild import rebuild
from projections.engine.stream_rebuild import FoldsEachStream, default_workers

BIN = Path(sys.executable).parent
META = {"recorded_by": "bench", "role": "field", "request_id": "bench"}


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new database for this run, dropped afterwards."""
    name = f"homeward_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def rescue(start: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The events of one whole rescue operation, as (type, data)."""
    survivors = [
        {
            "survivor_id": str(uuid.uuid4()),
            "gender": gender,
            "age_at_rescue": age,
            "exploitation": "sexual",
            "form": "brothel",
            "found_in_country": "CN",
            "home_province": "Ha Giang",
        }
        for gender, age in (("female", 16), ("female", 19))
    ]
    ids = [s["survivor_id"] for s in survivors]
    party = {"agency": "Border Guard", "country": "VN"}
    return [
        (
            "CaseReported",
            {"channel": "family", "suspected_exploitation": "sexual", "suspected_country": "CN"},
        ),
        ("InvestigationOpened", {"lead_investigator": "Investigator"}),
        ("LeadRecorded", {"source": "informant", "reliability": "B"}),
        ("LeadRecorded", {"source": "family", "reliability": "C"}),
        ("LocationConfirmed", {"country": "CN", "place": "Hekou", "venue": "brothel"}),
        ("PartnerEngaged", {"agency": "Police", "agency_type": "police", "country": "CN"}),
        ("RescuePlanned", {"planned_for": (start + timedelta(days=3)).isoformat(), "risk": "high"}),
        ("RescueApproved", {"note": "go"}),
        ("RescueExecuted", {"outcome": "success", "survivors": survivors}),
        (
            "CustodyTransferred",
            {
                "survivor_ids": ids,
                "from_party": {"agency": "Police", "country": "CN"},
                "to_party": party,
            },
        ),
        ("SurvivorReturned", {"survivor_ids": ids, "destination": "shelter"}),
        ("FamilyReunited", {"survivor_id": ids[0]}),
        ("SupportProvided", {"survivor_id": ids[0], "service": "counselling"}),
        ("SupportProvided", {"survivor_id": ids[1], "service": "vocational_training"}),
        ("StatusNoted", {"note": "home visit"}),
        ("StatusNoted", {"note": "school enrolment"}),
    ]


async def fill(store: EventStore, count: int) -> int:
    """Append whole rescues until `count` events are in the log; returns how many."""
    appended = 0
    start = datetime(2025, 1, 1, tzinfo=UTC)

    async def one_operation() -> int:
        events = [
            NewEvent(uuid.uuid4(), kind, data, start, metadata=META) for kind, data in rescue(start)
        ]
        await store.append(uuid.uuid4(), events, expected_version=0)
        return len(events)

    while appended < count:
        done = await asyncio.gather(*(one_operation() for _ in range(16)))
        appended += sum(done)
    return appended


def _children_cpu() -> float:
    """Processor seconds of this process's ended children (a rebuild's helper processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def measure_rebuild(url: str, count: int, workers: int) -> None:
    """Fill the log and rebuild every projection, alone and with helpers, printing events/s."""
    pool = await create_pool(url, min_size=2, max_size=20)
    store = EventStore(pool)
    started = time.perf_counter()
    total = await fill(store, count)
    print(f"appended {total:,} events in {time.perf_counter() - started:.1f} s")
    async with pool.acquire() as connection:
        # A real log was written over years and vacuumed long since; this one a moment ago. The
        # first reader of fresh rows would pay for setting their hint bits, and the planner would
        # have no statistics (some servers run without autovacuum).
        await connection.execute("VACUUM (ANALYZE) events")
    for projection in build_projections(store, live=False):
        # Only a projection that folds each operation on its own is rebuilt by several.
        by_streams = isinstance(projection, FoldsEachStream)
        for processes in sorted({1, workers if by_streams else 1}):
            started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            applied = await rebuild(
                projection, store, url, workers=processes, factory=rebuilt_projection
            )
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu + _children_cpu() - children
            # Processor time (of every process of the rebuild) beside wall time: on a shared
            # machine the wall clock includes waiting.
            by = f"{processes} process" + ("es" if processes > 1 else "  ")
            print(
                f"rebuild {projection.name:<17} {by} {applied:>9,} events {elapsed:6.2f} s "
                f"{applied / elapsed:>9,.0f} events/s "
                f"(processor {cpu:5.2f} s; load {os.getloadavg()[0]:.1f})"
            )
    await pool.close()


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def coordinator(url: str, *arguments: str) -> str:
    """Run a `coordinator` command on `url` and return its output."""
    return subprocess.run(  # noqa: S603  our own console script
        [str(BIN / "coordinator"), "--database-url", url, *arguments],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


async def caught_up(url: str) -> bool:
    """Whether every projection and the Merkle log hold every event of the log."""
    connection = await asyncpg.connect(url)
    try:
        for name in PROJECTION_NAMES:
            if await lag_seconds(connection, name) > 0:
                return False
        return bool(
            await connection.fetchval(
                "SELECT (SELECT count(*) FROM merkle_leaves) = (SELECT count(*) FROM events)"
            )
        )
    finally:
        await connection.close()


async def measure_latency(url: str, rate: float, seconds: float) -> None:
    """Board latency from append acknowledged to server-sent event received."""
    port = free_port()
    env = {
        # The per-token write limit is a policy, not a cost: lifted so one token keeps the rate.
        "COORDINATOR_WRITE_RATE_PER_MINUTE": "1000000",
        "COORDINATOR_WRITE_BURST": "100000",
        **os.environ,
        "COORDINATOR_LOG_LEVEL": "warning",
        "COORDINATOR_LOG_FORMAT": "json",
        "COORDINATOR_DATA_DIR": tempfile.mkdtemp(prefix="homeward-bench-data-"),
    }
    service = subprocess.Popen(  # noqa: S603, ASYNC220  the real service, started once
        [str(BIN / "coordinator"), "--database-url", url, "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    field = (
        coordinator(
            url,
            "token",
            "create",
            "--role",
            "field",
            "--name",
            f"bench-field-{uuid.uuid4().hex[:6]}",
        )
        .strip()
        .splitlines()[-1]
    )
    leader = (
        coordinator(
            url,
            "token",
            "create",
            "--role",
            "leadership",
            "--name",
            f"bench-board-{uuid.uuid4().hex[:6]}",
        )
        .strip()
        .splitlines()[-1]
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    if (await session.get(f"{base}/ready")).status == 200:
                        break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            started = time.perf_counter()
            while not await caught_up(url):  # noqa: ASYNC110  polling another process
                await asyncio.sleep(0.5)
            print(f"service caught up with the history in {time.perf_counter() - started:.1f} s")
            await _latency_run(session, base, (field, leader), rate=rate, seconds=seconds)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)


async def _latency_run(
    session: aiohttp.ClientSession,
    base: str,
    tokens: tuple[str, str],
    *,
    rate: float,
    seconds: float,
) -> None:
    field, leader = tokens
    waiting: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    arrived: dict[tuple[str, int], float] = {}

    async def follow() -> None:
        headers = {"Authorization": f"Bearer {leader}"}
        async with session.get(f"{base}/v1/board/stream", headers=headers, timeout=None) as stream:
            buffer = ""
            async for chunk in stream.content.iter_any():
                now = time.perf_counter()
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    for line in block.splitlines():
                        if line.startswith("data: "):
                            row = json.loads(line[6:])
                            arrived[(row["operation_id"], row["version"])] = now

    follower = asyncio.create_task(follow())
    headers = {"Authorization": f"Bearer {field}"}
    operations = []
    for _ in range(20):
        response = await session.post(
            f"{base}/v1/operations", headers=headers, json={"data": {"channel": "hotline"}}
        )
        operations.append([(await response.json())["operation_id"], 1])
    await asyncio.sleep(1)
    interval = 1 / rate
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        target = started + n * interval
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        operation = operations[n % len(operations)]
        body = {
            "expected_version": operation[1],
            "events": [{"type": "StatusNoted", "data": {"note": f"update {n}"}}],
        }
        response = await session.post(
            f"{base}/v1/operations/{operation[0]}/events", headers=headers, json=body
        )
        acknowledged = time.perf_counter()
        operation[1] = (await response.json())["version"]
        waiting[(operation[0], operation[1])] = acknowledged
        n += 1
    await asyncio.sleep(2)
    follower.cancel()
    for key, acknowledged in waiting.items():
        if key in arrived:
            latencies.append(max(arrived[key] - acknowledged, 0.0) * 1000)
    missing = len(waiting) - len(latencies)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"board latency at {rate:.0f} appends/s over {seconds:.0f} s: {len(latencies)} events, "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
        f"worst {latencies[-1]:.1f} ms, never seen {missing}"
    )


async def main_async(arguments: argparse.Namespace) -> None:
    """Both measurements, on one fresh database: the latency is measured over the history."""
    with server(arguments.database_url) as server_url:
        async with fresh_database(server_url) as url:
            connection = await asyncpg.connect(url)
            await migrate(connection)
            await connection.close()
            await measure_rebuild(url, arguments.events, arguments.workers)
            await measure_latency(url, arguments.rate, arguments.seconds)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("COORDINATOR_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
