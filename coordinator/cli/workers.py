"""`coordinator serve` as several worker processes on one port, for machines with several cores.

One Python process uses one core. With `COORDINATOR_WORKERS=N` (N > 1) this supervisor applies
the migrations once, then runs N copies of the service, each binding the same address with
SO_REUSEPORT so that the kernel spreads connections over them. Nothing else changes: the workers
are replicas on one database like any others (each projection and the Merkle log are advanced by
one leader at a time; an append's expected version settles races between workers), so a worker
may die and be restarted without anything acknowledged being lost.

The supervisor forwards SIGTERM and SIGINT (each worker drains its in-flight requests), restarts
a worker that exits on its own, and gives up, stopping the others, when workers keep dying right
after they start (a port in use, a database refusing them). On Linux a worker is stopped (SIGTERM)
when the supervisor dies, even by SIGKILL, so that no orphan keeps serving. Request and append
counters of all workers are summed at `/metrics` through prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import asyncpg
import structlog

from coordinator.settings import Settings
from events.store.migrate import migrate

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.2
RESTART_DELAY_SECONDS = 1.0
# A worker that exits this soon after starting has failed to start, not crashed in service.
EARLY_EXIT_SECONDS = 10.0
EARLY_EXITS_BEFORE_GIVING_UP = 3
KILL_GRACE_SECONDS = 5.0
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_PR_SET_PDEATHSIG = 1


def _stop_with_supervisor() -> None:
    """In a new worker (Linux): be sent SIGTERM if the supervisor dies, killed or not."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Worker:
    """One worker process and when it started."""

    number: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


def worker_environment(settings: Settings, url: str, metrics_dir: Path) -> dict[str, str]:
    """A worker's environment: ours, with everything the flags set, as one plain service."""
    return {
        **os.environ,
        "COORDINATOR_DATABASE_URL": url,  # not on the command line, where `ps` would show it
        "COORDINATOR_DATA_DIR": str(settings.data_dir),
        "COORDINATOR_HOST": settings.host,
        "COORDINATOR_PORT": str(settings.port),
        "COORDINATOR_WORKERS": "1",
        "COORDINATOR_REUSE_PORT": "true",
        METRICS_DIR: str(metrics_dir),
    }


class Supervisor:
    """Runs and watches the workers until it is told to stop."""

    def __init__(self, settings: Settings, url: str, metrics_dir: Path) -> None:
        self._settings = settings
        self._environment = worker_environment(settings, url, metrics_dir)
        self._workers: list[Worker] = []
        self._stopping = False
        self._early_exits = 0

    def _start(self, number: int) -> Worker:
        # The supervisor starts no threads, so running code in the child before exec is safe.
        preexec = _stop_with_supervisor if sys.platform.startswith("linux") else None
        process = subprocess.Popen(
            [sys.executable, "-m", "coordinator", "serve"],
            env=self._environment,
            preexec_fn=preexec,  # noqa: PLW1509
        )
        log.info("worker_started", worker=number, pid=process.pid)
        return Worker(number, process)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("workers_stopping", signal=signal.Signals(signum).name)
        self._stopping = True
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Start the workers and keep them running; the exit code once they have stopped."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._workers = [self._start(n) for n in range(self._settings.workers)]
        while not self._stopping:
            time.sleep(POLL_SECONDS)
            for index, worker in enumerate(self._workers):
                code = worker.process.poll()
                if code is None or self._stopping:
                    continue
                log.warning("worker_exited", worker=worker.number, code=code)
                early = time.monotonic() - worker.started < EARLY_EXIT_SECONDS
                self._early_exits = self._early_exits + 1 if early else 0
                if self._early_exits >= EARLY_EXITS_BEFORE_GIVING_UP:
                    log.error("workers_keep_failing", early_exits=self._early_exits)
                    self._stop(signal.SIGTERM, None)
                    self._wait()
                    return 1
                time.sleep(RESTART_DELAY_SECONDS)
                self._workers[index] = self._start(worker.number)
        return self._wait()

    def _wait(self) -> int:
        deadline = time.monotonic() + self._settings.shutdown_timeout_seconds + KILL_GRACE_SECONDS
        code = 0
        for worker in self._workers:
            try:
                exit_code = worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker_killed", worker=worker.number)
                worker.process.kill()
                exit_code = worker.process.wait()
            code = code or (exit_code if exit_code > 0 else 0)
        return code


async def _migrate(url: str, app_role: str | None) -> None:
    connection = await asyncpg.connect(url)
    try:
        applied = await migrate(connection, app_role=app_role)
    finally:
        await connection.close()
    if applied:
        log.info("migrations_applied", versions=applied)


def supervise(settings: Settings, url: str) -> int:
    """Run `settings.workers` workers on `url` until SIGTERM or SIGINT; the exit code."""
    if settings.port == 0:
        raise SystemExit("several workers need a fixed port (COORDINATOR_PORT), not 0")
    asyncio.run(_migrate(url, settings.app_role))
    metrics_dir = Path(tempfile.mkdtemp(prefix="homeward-metrics-"))
    try:
        return Supervisor(settings, url, metrics_dir).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
