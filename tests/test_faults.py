"""Faults on the real service: a replica killed under load, a database restart, an orderly stop.

Every test runs `coordinator serve` as a subprocess (tests/services.py) and writes the way field
teams do: client-chosen event ids, each batch re-sent until it is acknowledged with a 201. What
the service acknowledged must then be in the log exactly once, at the version it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.tokens import create_token
from ops.board_follower import BoardFollower
from tests.api import a_case_report
from tests.services import (
    Service,
    embedded_postgres,
    eventually,
    running_service,
    start_service,
    stop_service,
)

OCCURRED_AT = "2026-10-01T08:00:00+07:00"
PROJECTIONS = {"alerts", "board", "impact", "operation_status", "survivor_status"}
# A request that has no answer after this long counts as a hang.
REQUEST_SECONDS = 10.0


def leads_everything(service: Service) -> bool:
    """Whether the service's log says it leads every projection and the Merkle log."""
    projections = {line["projection"] for line in service.logged("projection_leading")}
    return projections == PROJECTIONS and bool(service.logged("merkle_log_leading"))


async def tokens(database_url: str) -> dict[Role, str]:
    """A field and a leadership token on the database."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        return {
            role: await create_token(pool, f"faults-{role.value}-{uuid.uuid4().hex[:6]}", role)
            for role in (Role.FIELD, Role.LEADERSHIP)
        }
    finally:
        await pool.close()


class FieldLoad:
    """Field teams appending through the replicas; each batch is re-sent until acknowledged.

    `acknowledged` maps every event id answered with a 201 to its operation and version;
    `outcomes` counts every attempt's outcome per replica (a status, `connection` or `hang`).
    """

    def __init__(self, replicas: list[str], token: str, *, clients: int = 8) -> None:
        self.replicas = replicas
        self.acknowledged: dict[str, tuple[str, int]] = {}
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.error_bodies: list[dict[str, Any]] = []
        self.operations: list[str] = []
        self._headers = {"Authorization": f"Bearer {token}"}
        self._clients = clients
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def count(self) -> int:
        """How many events were acknowledged so far."""
        return len(self.acknowledged)

    def final_versions(self) -> dict[str, int]:
        """Each operation's last acknowledged version."""
        versions: dict[str, int] = {}
        for operation, version in self.acknowledged.values():
            versions[operation] = max(versions.get(operation, 0), version)
        return versions

    async def start(self) -> None:
        """Start the clients."""
        timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._tasks = [asyncio.create_task(self._client(n)) for n in range(self._clients)]

    async def until(self, count: int, seconds: float = 30) -> None:
        """Wait until `count` events are acknowledged in all."""

        async def reached() -> bool:
            for task in self._tasks:
                if task.done():
                    task.result()  # a client that gave up fails the test here
            return self.count >= count

        await eventually(reached, seconds, f"{count} events acknowledged")

    async def stop(self) -> None:
        """Let every client finish its batch in hand, then stop."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        if self._session is not None:
            await self._session.close()

    async def _client(self, number: int) -> None:
        operation, opening_id = str(uuid.uuid4()), str(uuid.uuid4())
        opening: dict[str, Any] = {
            "operation_id": operation,
            "event_id": opening_id,
            "occurred_at": OCCURRED_AT,
            "data": a_case_report(),
        }
        await self._send(number, "/v1/operations", opening, [opening_id])
        self.operations.append(operation)
        sent = 0
        while not self._stopping.is_set():
            event_ids = [str(uuid.uuid4()) for _ in range(1 + sent % 2)]
            batch = [
                {
                    "event_id": event_id,
                    "type": "StatusNoted",
                    "occurred_at": OCCURRED_AT,
                    "data": {"note": f"client {number} update {sent + i}", "place": "Lao Cai"},
                }
                for i, event_id in enumerate(event_ids)
            ]
            sent += len(batch)
            await self._send(
                number, f"/v1/operations/{operation}/events", {"events": batch}, event_ids
            )

    async def _send(
        self, number: int, path: str, body: dict[str, Any], event_ids: list[str]
    ) -> None:
        assert self._session is not None
        for attempt in range(400):
            replica = self.replicas[(number + attempt) % len(self.replicas)]
            outcome = await self._attempt(replica + path, body, event_ids)
            self.outcomes[(replica, outcome)] += 1
            if outcome == "201":
                return
            await asyncio.sleep(0.05)
        pytest.fail(f"a batch was never acknowledged: {self.outcomes}")

    async def _attempt(self, url: str, body: dict[str, Any], event_ids: list[str]) -> str:
        assert self._session is not None
        try:
            async with self._session.post(url, json=body, headers=self._headers) as response:
                answer = await response.json()
                if response.status != 201:
                    self.error_bodies.append(answer)
                    return str(response.status)
        except TimeoutError:
            return "hang"
        except aiohttp.ClientConnectionError:
            return "connection"
        operation = answer["operation_id"]
        if "events" in answer:
            for event in answer["events"]:
                self.acknowledged[event["event_id"]] = (operation, event["version"])
        else:
            self.acknowledged[event_ids[0]] = (operation, answer["version"])
        return "201"


async def assert_log_holds_exactly(database_url: str, load: FieldLoad) -> None:
    """Every acknowledged event is in the log once, at the version answered, and nothing else."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT event_id::text, stream_id::text, version FROM events "
            "WHERE stream_id = ANY($1::uuid[]) ORDER BY stream_id, version",
            load.operations,
        )
    finally:
        await connection.close()
    stored = {row["event_id"]: (row["stream_id"], row["version"]) for row in rows}
    assert len(stored) == len(rows), "an event id is stored twice"
    lost = set(load.acknowledged) - set(stored)
    assert not lost, f"{len(lost)} acknowledged events are not in the log"
    assert stored == load.acknowledged, "the log holds events nobody acknowledged, or moved ones"
    for operation, version in load.final_versions().items():
        versions = [row["version"] for row in rows if row["stream_id"] == operation]
        assert versions == list(range(1, version + 1)), f"{operation} has gaps"


async def board_versions(session: aiohttp.ClientSession, service: Service, token: str) -> Any:
    """The operations on a replica's board, by id, with their versions."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{service.base_url}/v1/board", headers=headers) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    return {row["operation_id"]: row["version"] for row in body["operations"]}


async def open_operation(session: aiohttp.ClientSession, service: Service, token: str) -> str:
    """Open one operation through `service`."""
    async with session.post(
        f"{service.base_url}/v1/operations",
        json={"data": a_case_report()},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["operation_id"])


@contextlib.asynccontextmanager
async def following(service: Service, token: str) -> AsyncIterator[BoardFollower]:
    """A board client on the service's server-sent events for the block."""
    follower = BoardFollower(service.base_url, token)
    follower.start()
    try:
        yield follower
    finally:
        await follower.stop()


async def test_killing_a_replica_under_load_loses_nothing_and_the_survivor_takes_over(
    database_url: str, tmp_path: Path
) -> None:
    """SIGKILL one of two replicas mid-load: nothing acknowledged is lost, the board goes on."""
    token = await tokens(database_url)
    field, leadership = token[Role.FIELD], token[Role.LEADERSHIP]
    async with running_service(database_url, tmp_path, name="first") as first:
        # The first replica leads the projections and the Merkle log: the one to kill.
        await eventually(lambda: leads_everything(first), 10, "first leads")
        async with (
            running_service(database_url, tmp_path, name="survivor") as survivor,
            following(survivor, leadership) as follower,
            aiohttp.ClientSession() as session,
        ):
            load = FieldLoad([first.base_url, survivor.base_url], field)
            await load.start()
            await load.until(150)
            first.kill()
            assert await first.wait(5) == -9
            killed_at = load.count
            opened = await open_operation(session, survivor, field)

            async def on_board() -> bool:
                return opened in await board_versions(session, survivor, leadership)

            takeover = await eventually(on_board, 5, "an operation opened after the kill on board")
            await load.until(killed_at + 250)
            await load.stop()

            assert leads_everything(survivor), survivor.log_tail()
            await assert_log_holds_exactly(database_url, load)
            for (replica, outcome), count in load.outcomes.items():
                allowed = {"201", "connection"} if replica == first.base_url else {"201"}
                assert outcome in allowed, f"{count} x {outcome} from {replica}"
            expected = load.final_versions()

            async def caught_up() -> bool:
                shown = await board_versions(session, survivor, leadership)
                return all(shown.get(key) == version for key, version in expected.items())

            await eventually(caught_up, 5, "the survivor's board shows every acknowledged event")
            await eventually(
                lambda: follower.shows({**expected, opened: 1}),
                5,
                "the survivor's board stream shows every acknowledged event",
            )
    print(  # noqa: T201  the figures, for whoever reads the run with -s
        f"replica kill: {load.count} acknowledged ({killed_at} before the kill), "
        f"board caught up {takeover:.2f} s after the kill, outcomes {dict(load.outcomes)}"
    )


class Readers:
    """Leadership and field reads in a loop, counting each answer's status per path."""

    def __init__(self, service: Service, reads: list[tuple[str, str]]) -> None:
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self._base = service.base_url
        self._reads = reads
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading."""
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        """Stop reading."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _read(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping.is_set():
                for path, token in self._reads:
                    headers = {"Authorization": f"Bearer {token}"}
                    try:
                        async with session.get(self._base + path, headers=headers) as response:
                            await response.read()
                            outcome = str(response.status)
                    except TimeoutError:
                        outcome = "hang"
                    except aiohttp.ClientConnectionError:
                        outcome = "connection"
                    self.outcomes[(path, outcome)] += 1
                await asyncio.sleep(0.05)


async def test_a_database_restart_under_load_answers_503_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    """PostgreSQL restarts under load: clear 503s meanwhile, then it serves again, nothing lost."""
    async with (
        embedded_postgres() as postgres,
        running_service(postgres.url, tmp_path) as service,
    ):
        token = await tokens(postgres.url)
        field, leadership = token[Role.FIELD], token[Role.LEADERSHIP]
        async with following(service, leadership) as follower, aiohttp.ClientSession() as session:
            load = FieldLoad([service.base_url], field, clients=6)
            await load.start()
            await load.until(60)
            some_operation = load.operations[0]
            readers = Readers(
                service,
                [
                    ("/v1/board", leadership),
                    ("/v1/operations", leadership),
                    ("/v1/stats/impact", leadership),
                    (f"/v1/operations/{some_operation}", field),
                ],
            )
            readers.start()
            await load.until(120)
            await asyncio.to_thread(postgres.stop)
            stopped_at = load.count
            await asyncio.sleep(2)  # down for two seconds, under load
            await asyncio.to_thread(postgres.start)
            recovered = await eventually(
                lambda: load.count > stopped_at + 100, 20, "appends acknowledged again"
            )
            await readers.stop()
            await load.stop()

            appends: Counter[str] = Counter()
            for (_, outcome), count in load.outcomes.items():
                appends[outcome] += count
            assert set(appends) <= {"201", "503"}, appends
            assert appends["503"] > 0, "the restart was never noticed"
            assert {body["error"] for body in load.error_bodies} == {"database_unavailable"}
            for (path, outcome), count in readers.outcomes.items():
                assert outcome in {"200", "503"}, f"{count} x {outcome} from {path}"
            await assert_log_holds_exactly(postgres.url, load)
            expected = load.final_versions()

            async def caught_up() -> bool:
                shown = await board_versions(session, service, leadership)
                return all(shown.get(key) == version for key, version in expected.items())

            await eventually(caught_up, 10, "the board shows every acknowledged event")
            await eventually(
                lambda: follower.shows(expected), 10, "the board stream resumes and shows them"
            )

            readiness: list[Any] = []

            async def ready() -> bool:
                async with session.get(f"{service.base_url}/ready") as response:
                    readiness.append(await response.json())
                    return response.status == 200

            try:
                await eventually(ready, 10, "/ready answers 200 again")
            except AssertionError as error:
                raise AssertionError(f"{error}; it said {readiness[-1]}") from None
    print(  # noqa: T201  the figures, for whoever reads the run with -s
        f"database restart: {load.count} acknowledged, appends {dict(appends)}, "
        f"serving again {recovered:.2f} s after the start, board stream connections "
        f"{follower.connections}, reads {dict(readers.outcomes)}"
    )


async def append(
    session: aiohttp.ClientSession, service: Service, token: str, operation: str
) -> tuple[int, dict[str, Any]]:
    """One StatusNoted append through `service`: its status and answer."""
    body = {"events": [{"type": "StatusNoted", "data": {"note": "crossing at dawn"}}]}
    async with session.post(
        f"{service.base_url}/v1/operations/{operation}/events",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        return response.status, await response.json()


async def test_sigterm_lets_in_flight_appends_finish_and_refuses_new_connections(
    database_url: str, tmp_path: Path
) -> None:
    """SIGTERM: stop listening, answer every append already in flight, then exit 0."""
    token = await tokens(database_url)
    field, leadership = token[Role.FIELD], token[Role.LEADERSHIP]
    shutdown_timeout = 20.0
    service = await start_service(
        database_url,
        tmp_path,
        environment={"COORDINATOR_SHUTDOWN_TIMEOUT_SECONDS": str(shutdown_timeout)},
    )
    locker = await asyncpg.connect(database_url)
    watcher = await asyncpg.connect(database_url)
    try:
        await service.wait_ready()
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            following(service, leadership) as follower,
        ):
            # One operation per append: appends to one operation wait for each other anyway.
            operations = list(
                await asyncio.gather(*(open_operation(session, service, field) for _ in range(30)))
            )
            await eventually(lambda: follower.shows(dict.fromkeys(operations, 1)), 5, "board")
            # A lock that appends wait for keeps them in flight for as long as the test wants.
            transaction = locker.transaction()
            await transaction.start()
            await locker.execute("LOCK TABLE events IN SHARE MODE")
            in_flight = [
                asyncio.create_task(append(session, service, field, operation))
                for operation in operations
            ]

            async def waiting_for_the_lock() -> bool:
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'homeward' AND wait_event_type = 'Lock'"
                )
                return int(waiting) >= 1

            # Appends arriving together share one INSERT (group commit): the first waits for the
            # lock in the database, the rest wait for it in the service. Give them all time to
            # arrive before the stop.
            await eventually(waiting_for_the_lock, 10, "appends in flight")
            await asyncio.sleep(1.0)
            service.terminate()
            await asyncio.sleep(0.5)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", service.port)
            assert not any(task.done() for task in in_flight)
            assert service.running
            await transaction.rollback()
            released = asyncio.get_running_loop().time()
            answers = await asyncio.gather(*in_flight)
            code = await service.wait(shutdown_timeout + 5)
            exited = asyncio.get_running_loop().time() - released
    finally:
        await locker.close()
        await watcher.close()
        await stop_service(service)
    assert [status for status, _ in answers] == [201] * len(in_flight), answers
    assert code == 0, service.log_tail()
    stored = await count_events(database_url, operations)
    assert stored == len(operations) + len(in_flight)
    assert exited < 5, f"exited {exited:.1f} s after the last append could finish"


async def count_events(database_url: str, operations: list[str]) -> int:
    """How many events the operations hold."""
    connection = await asyncpg.connect(database_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM events WHERE stream_id = ANY($1::uuid[])", operations
            )
        )
    finally:
        await connection.close()
