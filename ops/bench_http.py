"""Appends per second through the whole HTTP path, beside the store's and raw asyncpg inserts.

Usage: .venv/bin/python ops/bench_http.py [--database-url URL] [--seconds 10] [--concurrency 32]
                                          [--rounds 3] [--history 0] [--profile PATH] [--personal]
Set COORDINATOR_WORKERS=N to measure the service with N worker processes.
Without a URL it uses COORDINATOR_DATABASE_URL, else an embedded PostgreSQL in a temporary folder.
The run creates a scratch database on that server and drops it at the end, so that the service's
background work (projections, the Merkle log) covers this run's events only and its checkpoints
are signed with this run's key (kept in a temporary folder).

It starts the real service (`coordinator serve`, `COORDINATOR_LOG_LEVEL=warning`, the per-token
write limit lifted unless `COORDINATOR_WRITE_*` is set, otherwise its own settings from
`COORDINATOR_*` variables) as a subprocess, creates a field token with
`coordinator token create`, and in each round measures, one after the other, for `--seconds` each:

- raw: single-row INSERTs into a plain table on asyncpg's own pool (its defaults, sized
  concurrency + 1);
- store: `EventStore.append` of one StatusNoted at the expected version on the store's pool, to
  operations opened with a CaseReported, with the metadata the service records;
- HTTP: `POST /v1/operations/{id}/events` of one StatusNoted at the expected version, each client
  worker on its own fresh operation (so workers never conflict) following the version it gets
  back, each on its own keep-alive connection (`bench_client.LeanClient`, a minimal HTTP/1.1
  client, so that the load generator takes as little of the machine's CPU as it can).

Before each measurement it waits until the service is idle (its background work has caught up),
and the service is paused (SIGSTOP) while raw and store are measured, as if it were not there.
The HTTP figure therefore includes the service's background work on its own appends. Each row
shows the three rates, the HTTP/raw and HTTP/store ratios of that round (a noisy neighbour moves
all three alike), HTTP latency p50/p99, the mean stream length at the end, and where the CPU went
in the HTTP window: the service process (% of one core, and CPU time per append), the database's
backends serving the scratch database (CPU time per append; only for a server on this host), this
client process (CPU time per append), and the whole host (% of all cores). The service is stopped
with SIGTERM.

`--personal` makes every HTTP append a lead naming a witness (name and contact) and, after each
round's HTTP window, measures four more, in the order clear, sealed, sealed, clear (so a drift of
the machine's speed within the round weighs on both alike), `--blocks N` times over: the text
in the lead's `source`, a clear field stored as sent, or the same text in its `summary`, free
text that the service seals (the operation's data key, AES-256-GCM, the sealed form stored, the
fingerprint digesting it under that key). A second table gives both rates, the share of
throughput sealing costs, and the CPU per append of the service and of the database in each,
then the same share over all windows of all rounds pooled.

`--history N` appends N events to every operation before it is measured: each append reads and
folds the whole stream first, so this shows what longer streams cost. `--profile PATH` samples
the service with `py-spy record --gil` in every HTTP window, writes the merged collapsed stacks to
PATH (for flamegraph.pl or https://www.speedscope.app) and prints where the service's CPU went;
with `--personal`, the sealed windows' stacks go to PATH.sealed, and it prints the functions
whose CPU per append grew most from the clear windows to the sealed ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from bench_client import LeanClient
from bench_profile import Profiler, growth, summary
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
CASE_REPORT = {"channel": "hotline", "suspected_exploitation": "sexual", "suspected_country": "CN"}
BIN = Path(sys.executable).parent
WARM_UP_SECONDS = 1.0
READY_SECONDS = 60.0
READY_GRACE_SECONDS = 3.0
QUIET_SECONDS = 300.0
STOP_SECONDS = 30.0
HISTORY_BATCH = 100  # the service's largest batch
UNLIMITED_WRITES = {
    "COORDINATOR_WRITE_RATE_PER_MINUTE": str(10**9),
    "COORDINATOR_WRITE_BURST": str(10**9),
}


@asynccontextmanager
async def scratch_database(url: str) -> AsyncIterator[str]:
    """A new database on `url`'s server for this run, dropped afterwards."""
    name = f"homeward_bench_http_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# CPU accounting from /proc (Linux); None elsewhere.


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (the workers of a supervising service)."""
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


def tree_cpu(pid: int) -> float | None:
    """CPU seconds a process and its children (the service's workers) have used."""
    own = process_cpu(pid)
    if own is None:
        return None
    return own + sum(process_cpu(child) or 0.0 for child in children(pid))


def database_cpu(database: str) -> float | None:
    """CPU seconds used so far by the server's backends serving `database` (a local server)."""
    total, found = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            seconds = process_cpu(int(entry.name))
            if seconds is not None:
                total, found = total + seconds, True
    return total if found else None


def host_cpu() -> tuple[float, float] | None:
    """(busy, total) CPU ticks of the whole host since boot."""
    try:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return None
    total = sum(ticks[:8])  # guest time is already counted in user
    return total - ticks[3] - ticks[4], total  # idle and iowait are not busy


@dataclass
class CpuWindow:
    """CPU used by the service, this client and the host while the window is open."""

    service_pid: int
    database: str
    service: float | None = None
    backends: float | None = None
    client: float = 0.0
    host: float | None = None

    def costs(self, per_second: float) -> tuple[float | None, float, float]:
        """CPU µs per operation at `per_second`: the database's backends, this client, the
        service (0 while it is paused)."""
        database = None if self.backends is None else self.backends / per_second * 1e6
        return database, self.client / per_second * 1e6, (self.service or 0.0) / per_second * 1e6

    @contextmanager
    def open(self) -> Iterator[None]:
        """Measure the block: each share as a fraction of one core (the host: of all cores)."""
        service, client, host = tree_cpu(self.service_pid), time.process_time(), host_cpu()
        backends = database_cpu(self.database)
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        service_now, host_now = tree_cpu(self.service_pid), host_cpu()
        backends_now = database_cpu(self.database)
        if service is not None and service_now is not None:
            self.service = (service_now - service) / elapsed
        if backends is not None and backends_now is not None:
            # Backends that ended inside the window are missed; the pools keep theirs open.
            self.backends = max(0.0, backends_now - backends) / elapsed
        self.client = (time.process_time() - client) / elapsed
        if host is not None and host_now is not None and host_now[1] > host[1]:
            self.host = (host_now[0] - host[0]) / (host_now[1] - host[1])


# The service, run as a subprocess.


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service_environment(folder: Path) -> dict[str, str]:
    """The service's environment: ours, warnings-only JSON logs, its keys under `folder`.

    The per-token write limit is a policy, not a cost of the path: unless set, it is lifted so
    that one token may append as fast as the service can.
    """
    return {
        **UNLIMITED_WRITES,
        **os.environ,
        "COORDINATOR_LOG_LEVEL": "warning",
        "COORDINATOR_LOG_FORMAT": "json",
        "COORDINATOR_DATA_DIR": str(folder),
    }


def coordinator(url: str, folder: Path, *arguments: str) -> str:
    """Run one `coordinator` command on `url` and return its output."""
    done = subprocess.run(  # noqa: S603  our own console script, fixed arguments
        [str(BIN / "coordinator"), "--database-url", url, *arguments],
        env=service_environment(folder),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"coordinator {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout


@dataclass
class Service:
    """The running service: its process, address and log file."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        """The service's process id."""
        return self.process.pid

    def log_tail(self) -> str:
        """The end of the service's log."""
        return self.log.read_text(errors="replace")[-4000:]

    async def quiet(self) -> float:
        """Wait until the service uses under 5% of a core (its background work caught up).

        Returns the seconds it took.
        """
        started = time.perf_counter()
        while time.perf_counter() < started + QUIET_SECONDS:
            before = tree_cpu(self.pid)
            await asyncio.sleep(0.5)
            after = tree_cpu(self.pid)
            if before is None or after is None or (after - before) / 0.5 < 0.05:
                return time.perf_counter() - started
        print(f"the service was still busy after {QUIET_SECONDS:.0f} s; measuring anyway")
        return QUIET_SECONDS

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the service's process for the block (SIGSTOP), then let it go on (SIGCONT)."""
        stopped = [self.pid, *children(self.pid)]
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in stopped:
                os.kill(pid, signal.SIGCONT)


@asynccontextmanager
async def running_service(url: str, folder: Path) -> AsyncIterator[Service]:
    """`coordinator serve` on a free port, ready; stopped with SIGTERM on exit."""
    port = free_port()
    log = folder / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603, ASYNC220  started once, before measuring
            [str(BIN / "coordinator"), "--database-url", url, "serve", "--port", str(port)],
            env=service_environment(folder),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}", log)
    try:
        await wait_ready(service)
        await wait_listening(service, port, int(os.environ.get("COORDINATOR_WORKERS", "1")))
        yield service
    except BaseException:
        print(f"the service's log, last lines:\n{service.log_tail()}", file=sys.stderr)
        raise
    finally:
        process.send_signal(signal.SIGCONT)  # in case it was paused
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            code = await asyncio.to_thread(process.wait)
            print(f"the service did not stop within {STOP_SECONDS:.0f} s of SIGTERM; killed")
        if code != 0:
            print(f"the service exited with {code}; its log:\n{service.log_tail()}")


def listeners(port: int) -> int:
    """How many sockets listen on `port` (one per worker with SO_REUSEPORT); without /proc, as
    many as could be wanted."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 1_000
    wanted = f":{port:04X}"
    return sum(1 for line in lines if line.split()[1].endswith(wanted) and line.split()[3] == "0A")


async def wait_listening(service: Service, port: int, workers: int) -> None:
    """Wait until every worker listens, so that the client's connections reach them all."""
    started = time.monotonic()
    while listeners(port) < workers:
        if time.monotonic() > started + READY_SECONDS or service.process.poll() is not None:
            raise SystemExit(f"not every worker started:\n{service.log_tail()}")
        await asyncio.sleep(0.1)


async def wait_ready(service: Service) -> None:
    """Poll /ready until it answers 200, or fail with the service's log.

    With the database reachable and the schema current, not being ready for another reason
    (someone's long transaction anywhere on the server holding back readers of the log, say) does
    not stop appends: after a grace period the run goes on, saying so.
    """
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < started + READY_SECONDS and service.process.poll() is None:
            try:
                async with session.get(f"{service.base}/ready") as response:
                    if response.status == 200:
                        return
                    checks = (await response.json()).get("checks", {})
            except (aiohttp.ClientError, ValueError):
                checks = {}
            serving = checks.get("database") == "reachable" and not checks["pending_migrations"]
            if serving and time.monotonic() > started + READY_GRACE_SECONDS:
                print(f"the service is not ready, measuring anyway: {checks}")
                return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the service did not get ready:\n{service.log_tail()}")


# The three workloads.


class RawInserts:
    """Single-row INSERTs into a plain table, on asyncpg's own pool."""

    def __init__(self, pool: asyncpg.Pool, concurrency: int) -> None:
        self._pool = pool
        self._streams = [uuid.uuid4() for _ in range(concurrency)]

    async def insert(self, n: int) -> None:
        """Worker `n` inserts one row."""
        await self._pool.execute(
            "INSERT INTO bench_raw (stream_id, type, data, occurred_at) "
            "VALUES ($1, $2, $3::text::jsonb, $4)",
            self._streams[n],
            "StatusNoted",
            DATA_TEXT,
            datetime.now(UTC),
        )


class StoreAppends:
    """`EventStore.append` of one event at the expected version, each worker on its operation."""

    def __init__(self, store: EventStore, concurrency: int) -> None:
        self._store = store
        self._streams = [uuid.uuid4() for _ in range(concurrency)]
        self._versions = [0] * concurrency
        self.appended = 0

    async def open(self) -> None:
        """Open every worker's operation with a CaseReported, as the service would."""
        for n in range(len(self._streams)):
            await self._append(n, "CaseReported", CASE_REPORT)

    async def append(self, n: int) -> None:
        """Worker `n` appends one StatusNoted."""
        await self._append(n, "StatusNoted", DATA)

    async def _append(self, n: int, event_type: str, data: dict[str, Any]) -> None:
        metadata = {
            "recorded_by": "bench",
            "role": "field",
            "request_id": uuid.uuid4().hex,
            "correlation_id": uuid.uuid4().hex,
        }
        event = NewEvent(uuid.uuid4(), event_type, data, datetime.now(UTC), metadata=metadata)
        appended = await self._store.append(
            self._streams[n], [event], expected_version=self._versions[n]
        )
        self._versions[n] = appended.version
        self.appended += 1


@dataclass
class HttpAppends:
    """A field team's client: `concurrency` keep-alive connections, one token."""

    client: LeanClient
    witness: str | None = None  # None: a plain note; else the key the witness's details go under
    operations: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    async def post(self, n: int, path: str, body: Any) -> dict[str, Any]:
        """POST `body` on connection `n`, expecting 201; the answer."""
        answer = await self.client.post(n, path, json.dumps(body).encode())
        if answer.status != 201:
            raise SystemExit(f"POST {path} answered {answer.status}: {answer.body[:500]!r}")
        decoded: dict[str, Any] = json.loads(answer.body)
        return decoded

    async def open(self, count: int, history: int) -> None:
        """Open `count` fresh operations, each with `history` StatusNoted after its report."""

        async def one(n: int) -> tuple[str, int]:
            opened = await self.post(n, "/v1/operations", {"data": CASE_REPORT})
            operation, version = opened["operation_id"], opened["version"]
            left = history
            while left > 0:
                batch = min(left, HISTORY_BATCH)
                body = {"expected_version": version, "events": [_status_noted()] * batch}
                path = f"/v1/operations/{operation}/events"
                version = (await self.post(n, path, body))["version"]
                left -= batch
            return operation, version

        opened = await asyncio.gather(*(one(n) for n in range(count)))
        self.operations = [operation for operation, _ in opened]
        self.versions = [version for _, version in opened]
        self.latencies = []

    async def append(self, n: int) -> None:
        """Worker `n` appends one StatusNoted to its operation at the version it last saw."""
        note = _status_noted() if self.witness is None else _with_witness(self.witness)
        body = {"expected_version": self.versions[n], "events": [note]}
        started = time.perf_counter()
        answer = await self.post(n, f"/v1/operations/{self.operations[n]}/events", body)
        self.latencies.append(time.perf_counter() - started)
        self.versions[n] = answer["version"]


def _status_noted() -> dict[str, Any]:
    return {"type": "StatusNoted", "data": DATA}


WITNESS = "a neighbour, Witness Name (+84 000 000 000), saw her at the Lao Cai border post"


def _with_witness(key: str) -> dict[str, Any]:
    """A lead naming a witness, the same text either way: under `personal`, as the lead's
    `summary` (free text, which the service seals under the operation's data key, AES-256-GCM);
    under `details`, as its `source` (a clear field, stored as sent)."""
    if key == "personal":
        data = {"source": "-", "reliability": "B", "summary": WITNESS}
    else:
        data = {"source": WITNESS, "reliability": "B"}
    return {"type": "LeadRecorded", "data": data}


# The measurement.


@dataclass(frozen=True)
class CatchUp:
    """How long the service's background work took over the store's events of a round."""

    events: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.events:,} events in {self.seconds:.0f} s"


@dataclass(frozen=True)
class Window:
    """One HTTP window of the sealing comparison: appends per second and the CPU it took."""

    rate: float
    cpu: CpuWindow

    def service_us(self) -> float | None:
        """The service's CPU µs per append."""
        return None if self.cpu.service is None else self.cpu.service / self.rate * 1e6

    def database_us(self) -> float | None:
        """The database backends' CPU µs per append (a server on this host only)."""
        return None if self.cpu.backends is None else self.cpu.backends / self.rate * 1e6


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.mean(present) if len(present) == len(values) else None


@dataclass(frozen=True)
class Sealing:
    """HTTP appends naming a witness, the same text in the clear and sealed, measured in the
    order clear, sealed, sealed, clear: a drift of the machine's speed within the round weighs
    on both alike."""

    clear: list[Window]
    sealed: list[Window]

    def values(self) -> tuple[float | None, ...]:
        """The cells of the sealing table."""
        clear = statistics.mean(w.rate for w in self.clear)
        sealed = statistics.mean(w.rate for w in self.sealed)
        return (
            clear,
            sealed,
            1 - sealed / clear,
            _mean([w.service_us() for w in self.clear]),
            _mean([w.service_us() for w in self.sealed]),
            _mean([w.database_us() for w in self.clear]),
            _mean([w.database_us() for w in self.sealed]),
        )


SEALING_HEADER = (
    f"{'round':>6} {'clear/s':>8} {'sealed/s':>9} {'throughput lost':>16}"
    f" {'clear svc µs/append':>20} {'sealed svc µs/append':>21}"
    f" {'clear db µs/append':>19} {'sealed db µs/append':>20}"
)
SEALING_FORMATS = (">8,.0f", ">9,.0f", ">16.1%", ">20,.0f", ">21,.0f", ">19,.0f", ">20,.0f")


@dataclass
class Round:
    """One round's figures."""

    raw: float
    store: float
    http: float
    p50_ms: float
    p99_ms: float
    stream_length: float
    cpu: CpuWindow
    catch_up: CatchUp
    sealed: Sealing | None = None
    # CPU µs per insert or append (database, client, service) of raw, store and HTTP.
    costs: tuple[tuple[float | None, float, float], ...] = ()

    def values(self) -> tuple[float | None, ...]:
        """The round's cells, in the table's order."""
        service, backends = self.cpu.service, self.cpu.backends
        return (
            self.raw,
            self.store,
            self.http,
            self.http / self.raw,
            self.http / self.store,
            self.p50_ms,
            self.p99_ms,
            self.stream_length,
            service,
            None if service is None else service / self.http * 1e6,
            None if backends is None else backends / self.http * 1e6,
            self.cpu.client / self.http * 1e6,
            self.cpu.host,
        )


HEADER = (
    f"{'round':>6} {'raw/s':>7} {'store/s':>8} {'HTTP/s':>7} {'HTTP/raw':>9} {'HTTP/store':>11}"
    f" {'p50 ms':>7} {'p99 ms':>7} {'events/op':>10} {'svc CPU':>8} {'svc µs/append':>14}"
    f" {'db µs/append':>13} {'client µs/append':>17} {'host busy':>10}"
)
FORMATS = (
    *(">7,.0f", ">8,.0f", ">7,.0f", ">9.2f", ">11.2f", ">7.1f", ">7.1f", ">10,.0f"),
    *(">8.0%", ">14,.0f", ">13,.0f", ">17,.0f", ">10.0%"),
)


def row(label: str, values: tuple[float | None, ...], formats: tuple[str, ...] = FORMATS) -> str:
    """One line of a table."""
    cells = [
        format(value, spec) if value is not None else format("-", spec.split(",")[0].split(".")[0])
        for value, spec in zip(values, formats, strict=True)
    ]
    return f"{label:>6} " + " ".join(cells)


def medians(rows: list[tuple[float | None, ...]]) -> tuple[float | None, ...]:
    """Each column's median over the rows."""
    columns = zip(*rows, strict=True)
    return tuple(
        statistics.median(present) if (present := [v for v in column if v is not None]) else None
        for column in columns
    )


@dataclass
class Bench:
    """The three workloads against one service, measured round by round."""

    arguments: argparse.Namespace
    service: Service
    raw: RawInserts
    store: StoreAppends
    http: HttpAppends
    profiler: Profiler | None
    database: str
    sealed_profiler: Profiler | None = None

    async def warm_up(self) -> None:
        """Open the first operations and run each workload briefly."""
        concurrency = self.arguments.concurrency
        await self.http.open(concurrency, self.arguments.history)
        with self.service.paused():
            await rate(concurrency, WARM_UP_SECONDS, self.raw.insert)
            await rate(concurrency, WARM_UP_SECONDS, self.store.append)
        await self.service.quiet()
        await rate(concurrency, WARM_UP_SECONDS, self.http.append)

    async def round(self) -> Round:
        """Raw and store with the service paused, then HTTP on fresh operations."""
        concurrency, seconds = self.arguments.concurrency, self.arguments.seconds
        await self.service.quiet()
        before = self.store.appended
        raw_cpu = CpuWindow(self.service.pid, self.database)
        store_cpu = CpuWindow(self.service.pid, self.database)
        with self.service.paused():
            with raw_cpu.open():
                raw = await rate(concurrency, seconds, self.raw.insert)
            with store_cpu.open():
                store = await rate(concurrency, seconds, self.store.append)
        # The service's projections and Merkle log now take in the store's events.
        catch_up = CatchUp(self.store.appended - before, await self.service.quiet())
        await self.http.open(concurrency, self.arguments.history)
        await self.service.quiet()
        cpu = CpuWindow(self.service.pid, self.database)
        async with self.profiler.window(seconds) if self.profiler else _nothing():
            with cpu.open():
                http = await rate(concurrency, seconds, self.http.append)
        if self.profiler is not None:
            self.profiler.appends += http * seconds
        p50, p99 = _percentiles(self.http.latencies)
        length = statistics.mean(self.http.versions)
        figures = Round(raw, store, http, p50, p99, length, cpu, catch_up)
        figures.costs = (raw_cpu.costs(raw), store_cpu.costs(store), cpu.costs(http))
        if self.http.witness is not None:
            figures.sealed = await self.sealing()
        return figures

    async def window(self, witness: str) -> Window:
        """HTTP appends on fresh operations with the witness's text under `witness`."""
        concurrency, seconds = self.arguments.concurrency, self.arguments.seconds
        self.http.witness = witness
        await self.http.open(concurrency, self.arguments.history)
        await self.service.quiet()
        profiler = self.sealed_profiler if witness == "personal" else self.profiler
        cpu = CpuWindow(self.service.pid, self.database)
        async with profiler.window(seconds) if profiler else _nothing():
            with cpu.open():
                appends = await rate(concurrency, seconds, self.http.append)
        if profiler is not None:
            profiler.appends += appends * seconds
        return Window(appends, cpu)

    async def sealing(self) -> Sealing:
        """The witness's text in the clear, sealed, sealed, in the clear, `--blocks` times."""
        clear: list[Window] = []
        sealed: list[Window] = []
        try:
            for _block in range(self.arguments.blocks):
                clear.append(await self.window("details"))
                sealed.extend([await self.window("personal"), await self.window("personal")])
                clear.append(await self.window("details"))
        finally:
            self.http.witness = "details"
        return Sealing(clear, sealed)


def report(rounds: list[Round]) -> None:
    """What follows the rounds' lines: medians, catch-up, the database's share, sealing."""
    if len(rounds) > 1:
        print(row("median", medians([r.values() for r in rounds])))
    catch_ups = ", ".join(str(r.catch_up) for r in rounds)
    print(f"the service's background work took in the store's appends: {catch_ups}")
    print("CPU per insert or append, µs: database + client + service = all (the rates' ratios")
    print("follow the ratios of these sums when the machine's cores are all busy):")
    for number, r in enumerate(rounds, start=1):
        cells = []
        for name, (database, client, service) in zip(
            ("raw", "store", "HTTP"), r.costs, strict=True
        ):
            if database is None:
                cells.append(f"{name} ? + {client:,.0f} + {service:,.0f}")
            else:
                total = database + client + service
                cells.append(
                    f"{name} {database:,.0f} + {client:,.0f} + {service:,.0f} = {total:,.0f}"
                )
        print(f"  {number}: " + "; ".join(cells))
    measured = [r.sealed for r in rounds if r.sealed is not None]
    sealings = [sealing.values() for sealing in measured]
    if sealings:
        print("\nHTTP appends naming a witness, in the clear and sealed (windows clear, sealed,")
        print("sealed, clear in each block; each rate the mean of its windows):")
        print(SEALING_HEADER)
        for number, sealing in enumerate(sealings, start=1):
            print(row(str(number), sealing, SEALING_FORMATS))
        if len(sealings) > 1:
            print(row("median", medians(sealings), SEALING_FORMATS))
        pooled = Sealing(
            [w for m in measured for w in m.clear], [w for m in measured for w in m.sealed]
        )
        clear, sealed, lost = pooled.values()[:3]
        print(
            f"all {len(pooled.clear) + len(pooled.sealed)} windows pooled: clear {clear:,.0f}/s, "
            f"sealed {sealed:,.0f}/s, throughput lost {lost:.1%}"
        )


async def measure(url: str, arguments: argparse.Namespace, folder: Path) -> None:
    """Start the service, run the rounds and print the table."""
    concurrency: int = arguments.concurrency
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
        await connection.execute(RAW_TABLE)
        server_version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    output = coordinator(url, folder, "token", "create", "--role", "field", "--name", "bench")
    token = output.strip().splitlines()[-1]
    raw_pool = await asyncpg.create_pool(url, min_size=concurrency + 1, max_size=concurrency + 1)
    store_pool = await create_pool(url, min_size=concurrency + 1, max_size=concurrency + 1)
    store = StoreAppends(EventStore(store_pool), concurrency)
    await store.open()
    try:
        async with running_service(url, folder) as service:
            client = LeanClient(service.base, concurrency, {"Authorization": f"Bearer {token}"})
            await client.open()
            profiler = Profiler(service.pid, folder) if arguments.profile else None
            http = HttpAppends(client, witness="details" if arguments.personal else None)
            bench = Bench(
                arguments,
                service,
                RawInserts(raw_pool, concurrency),
                store,
                http,
                profiler,
                database=urlsplit(url).path.lstrip("/"),
                sealed_profiler=(
                    Profiler(service.pid, folder) if profiler and arguments.personal else None
                ),
            )
            print(
                f"PostgreSQL {server_version}; concurrency {concurrency}; {arguments.seconds:g} s "
                f"per measurement; {arguments.history} events per operation before it is "
                f"measured; service pool max "
                f"{os.environ.get('COORDINATOR_POOL_MAX_SIZE', '(default)')}; "
                f"{os.environ.get('COORDINATOR_WORKERS', '1')} service worker(s)"
                f"{'; profiled with py-spy' if profiler else ''}"
            )
            await bench.warm_up()
            print(HEADER)
            rounds = []
            for number in range(1, arguments.rounds + 1):
                rounds.append(await bench.round())
                print(row(str(number), rounds[-1].values()), flush=True)
            report(rounds)
            await client.close()
    finally:
        await raw_pool.close()
        await store_pool.close()
    if profiler is not None:
        profiler.write(Path(arguments.profile))
        print(f"\nthe service's profile (collapsed stacks in {arguments.profile}):")
        print("\n".join(summary(profiler.stacks)))
        sealed = bench.sealed_profiler
        if sealed is not None:
            sealed_path = Path(f"{arguments.profile}.sealed")
            sealed.write(sealed_path)
            print(f"\nthe service's profile in the sealed windows ({sealed_path}):")
            print("\n".join(summary(sealed.stacks)))
            print("\nwhat sealing adds, CPU µs per append (inclusive), clear -> sealed:")
            print("\n".join(growth(profiler, sealed)))


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        return math.nan, math.nan
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def run(arguments: argparse.Namespace) -> None:
    """The benchmark on a scratch database of the chosen server."""
    with (
        server(arguments.database_url) as url,
        tempfile.TemporaryDirectory(prefix="homeward-bench-http-") as folder,
    ):
        async with scratch_database(url) as database:
            await measure(database, arguments, Path(folder))


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("COORDINATOR_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="raw, store, HTTP in turn")
    parser.add_argument("--history", type=int, default=0, help="events per operation first")
    parser.add_argument("--profile", metavar="PATH", help="py-spy the service; stacks to PATH")
    parser.add_argument(
        "--personal",
        action="store_true",
        help="each HTTP append names a witness; HTTP is measured with the witness's details in "
        "the clear and again sealed as personal data (the cost of encryption)",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=1,
        help="with --personal: how many blocks of windows (clear, sealed, sealed, clear) each "
        "round measures; short windows in several blocks follow a machine whose speed drifts",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
