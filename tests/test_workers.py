"""`coordinator serve` with several workers: one port, counters summed, a dead worker replaced."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.tokens import create_token
from tests.api import a_case_report
from tests.services import Service, eventually, running_service

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads workers and sockets from /proc"
)

WORKERS = {"COORDINATOR_WORKERS": "2"}
OPENED = re.compile(
    r'^homeward_http_requests_total\{method="POST",route="/v1/operations",status="201"\} (\S+)$',
    re.MULTILINE,
)


def workers_of(service: Service) -> list[int]:
    """The supervisor's worker processes."""
    path = Path(f"/proc/{service.pid}/task/{service.pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def alive(pid: int) -> bool:
    """Whether a process (or its unreaped remains) exists."""
    return Path(f"/proc/{pid}").exists()


def listeners(port: int) -> int:
    """Sockets listening on `port` (one per worker)."""
    wanted = f":{port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1].endswith(wanted) and row[3] == "0A")


async def new_token(database_url: str, role: Role = Role.FIELD) -> str:
    """A new token of `role` (field by default)."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        return await create_token(pool, f"workers-{os.urandom(3).hex()}", role)
    finally:
        await pool.close()


async def open_operations(service: Service, token: str, count: int) -> None:
    """Open `count` operations, each on a new connection (so the kernel spreads them)."""
    connector = aiohttp.TCPConnector(force_close=True)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        for _ in range(count):
            async with session.post(
                f"{service.base_url}/v1/operations", json={"data": a_case_report()}
            ) as response:
                assert response.status == 201, await response.text()


async def opened_count(service: Service, token: str) -> float:
    """The operations opened, as /metrics counts them (scraped with an admin token)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{service.base_url}/metrics", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        found = OPENED.search(await response.text())
    return float(found.group(1)) if found else 0.0


async def test_workers_share_one_port_and_their_counters(database_url: str, tmp_path: Path) -> None:
    async with running_service(database_url, tmp_path, environment=WORKERS) as service:
        await eventually(lambda: listeners(service.port) == 2, 30, "both workers listening")
        assert len(workers_of(service)) == 2
        await open_operations(service, await new_token(database_url), 12)
        scraper = await new_token(database_url, Role.ADMIN)
        # Whichever worker answers the scrape, it counts what both of them answered.
        for _ in range(6):
            assert await opened_count(service, scraper) == 12


async def test_a_worker_that_dies_is_replaced_and_all_stop_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    async with running_service(database_url, tmp_path, environment=WORKERS) as service:
        await eventually(lambda: listeners(service.port) == 2, 30, "both workers listening")
        first = workers_of(service)
        os.kill(first[0], signal.SIGKILL)
        await eventually(
            lambda: first[0] not in workers_of(service) and len(workers_of(service)) == 2,
            30,
            "a new worker in place of the killed one",
        )
        await eventually(lambda: listeners(service.port) == 2, 30, "the new worker listening")
        assert service.logged("worker_exited")
        await open_operations(service, await new_token(database_url), 4)
        workers = workers_of(service)
        service.terminate()
        assert await service.wait(40) == 0
    assert not any(alive(pid) for pid in workers)


async def test_workers_stop_when_their_supervisor_is_killed(
    database_url: str, tmp_path: Path
) -> None:
    async with running_service(database_url, tmp_path, environment=WORKERS) as service:
        await eventually(lambda: len(workers_of(service)) == 2, 30, "two workers")
        workers = workers_of(service)
        service.kill()
        await service.wait(10)
        await eventually(
            lambda: not any(alive(pid) for pid in workers), 40, "the orphaned workers gone"
        )
