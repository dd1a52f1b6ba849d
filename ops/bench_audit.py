"""The audit trail's figures: Merkle log integration rate, one large operation's export + verify.

Usage: .venv/bin/python ops/bench_audit.py [--database-url URL] [--events N] [--operation N]
Without a URL it uses COORDINATOR_DATABASE_URL, else an embedded PostgreSQL in a temporary folder;
either way it works in a database of its own, created and dropped here.

1. Appends `--events` events (many operations) first, then times the real integrator
   (evidence/integrator.py: subscription, leaves and node runs in one transaction per batch,
   checkpoint signing) from a cold start until every event is a leaf. Goal: >= 20,000 events/s.
2. Times reloading that log from storage, as a service does at start-up, and comparing the
   stored leaves with the loaded tree, as every export does (evidence/log_forensics.py).
3. Appends one operation of `--operation` events and lets the integrator cover it, then times
   the export (read, checkpoint, stream head, build, signed manifest, self-verify, JSON text) and
   the offline verification of that text under the published keys (strict read_bundle and
   verify_bundle, manifest included), as `coordinator audit verify --keys` does.
   Goal: export + verify < 2 s; the last line says whether it was met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from bench_server import server

from events.feed.signal import LogSignal
from events.store.connection import create_pool
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from events.store.migrate import migrate
from events.verifier.bundle_checks import read_bundle, verify_bundle
from evidence.export import export_bundle
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.log_forensics import check_stored_leaves
from evidence.merkle_log import MerkleLog

METADATA = {"recorded_by": "field-team-lao-cai", "role": "field", "request_id": "bench"}


def a_note(n: int) -> NewEvent:
    """A field note like the ones teams post from the road."""
    return NewEvent(
        event_id=uuid.uuid4(),
        type="StatusNoted",
        data={"note": f"team reached checkpoint {n} on the road to Lao Cai", "place": "Lao Cai"},
        occurred_at=datetime.now(UTC),
        metadata=METADATA,
    )


async def append_many(store: EventStore, total: int, *, per_operation: int) -> None:
    """Append `total` notes over operations of `per_operation`, sixteen writers at once."""
    queue = list(range(0, total, per_operation))

    async def writer() -> None:
        while queue:
            start = queue.pop()
            operation = uuid.uuid4()
            count = min(per_operation, total - start)
            for offset in range(0, count, 500):
                batch = [a_note(start + offset + n) for n in range(min(500, count - offset))]
                await store.append(operation, batch)

    await asyncio.gather(*(writer() for _ in range(16)))


async def integrate(
    store: EventStore, url: str, keyring: SigningKeyring, total: int
) -> tuple[float, float]:
    """Wall and processor seconds for a cold integrator to make all `total` events leaves."""
    integrator = LogIntegrator(MerkleLog(), store, LogSignal(), url, keyring, interval_seconds=1)
    started, started_cpu = time.perf_counter(), time.process_time()
    task = asyncio.create_task(integrator.run())
    while integrator.log.size < total:  # noqa: ASYNC110  polling is the measurement here
        await asyncio.sleep(0.005)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return elapsed, cpu


async def measure(url: str, events: int, operation_events: int, keys: Path) -> None:
    """Run the three measurements and print their figures."""
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.close()
    pool = await create_pool(url, min_size=2, max_size=20)
    store = EventStore(pool)
    keyring = SigningKeyring(keys)
    try:
        started = time.perf_counter()
        await append_many(store, events, per_operation=100)
        print(f"appended {events:,} events in {time.perf_counter() - started:.1f} s")

        seconds, cpu = await integrate(store, url, keyring, events)
        print(
            f"integration: {events:,} events in {seconds:.2f} s = {events / seconds:,.0f} "
            f"events/s (integrator's processor time {cpu:.2f} s)"
        )

        async with pool.acquire() as reader:
            started = time.perf_counter()
            tree = await MerkleLog().refresh(reader)
            print(
                f"reload at start-up: {tree.size:,} leaves in {time.perf_counter() - started:.2f} s"
            )

        async with pool.acquire() as reader:
            started = time.perf_counter()
            await check_stored_leaves(reader, tree)
            print(
                f"stored leaves against the tree (each export): {tree.size:,} leaves in "
                f"{time.perf_counter() - started:.3f} s"
            )

        await append_many(store, operation_events, per_operation=operation_events)
        operation = await pool.fetchval(
            "SELECT stream_id FROM events GROUP BY stream_id ORDER BY count(*) DESC LIMIT 1"
        )
        integrator = LogIntegrator(MerkleLog(), store, LogSignal(), url, keyring)
        task = asyncio.create_task(integrator.run())
        await export_bundle(pool, integrator, operation, wait_seconds=60)  # integrated and signed
        # Wall time, and this process's processor time: on a shared machine the second shows
        # the work itself when other load stretches the first.
        started, started_cpu = time.perf_counter(), time.process_time()
        bundle = await export_bundle(pool, integrator, operation, wait_seconds=60)
        text = json.dumps(bundle, ensure_ascii=False)
        exported = time.perf_counter() - started
        exported_cpu = time.process_time() - started_cpu
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        started, started_cpu = time.perf_counter(), time.process_time()
        report = verify_bundle(read_bundle(text), trusted_keys=keyring.public_keys())
        verified = time.perf_counter() - started
        verified_cpu = time.process_time() - started_cpu
        if not report.proven:
            raise SystemExit(report.summary())
        print(
            f"operation of {len(bundle['events']):,} events ({len(text) / 1e6:.1f} MB): "
            f"export {exported:.2f} s, offline verify {verified:.2f} s, "
            f"together {exported + verified:.2f} s "
            f"(processor time {exported_cpu:.2f} + {verified_cpu:.2f} = "
            f"{exported_cpu + verified_cpu:.2f} s)"
        )
        together = exported + verified
        print(f"goal export + verify < 2 s: {'met' if together < 2 else 'NOT met'}")
    finally:
        await pool.close()


async def run(server_url: str, events: int, operation_events: int) -> None:
    """Measure in a database of our own on `server_url`."""
    name = f"homeward_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        with tempfile.TemporaryDirectory(prefix="homeward-bench-keys-") as keys:
            await measure(url, events, operation_events, Path(keys) / "keys")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COORDINATOR_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--operation", type=int, default=10_000)
    arguments = parser.parse_args()
    with server(arguments.database_url) as url:
        asyncio.run(run(url, arguments.events, arguments.operation))


if __name__ == "__main__":
    main()
