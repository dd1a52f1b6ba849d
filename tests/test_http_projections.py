"""Operation status list, the board (JSON and live stream), impact figures, and rebuilds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.projection_set import build_projections, rebuilt_projection
from events.store.event_store import EventStore
from projections.engine.rebuild import ProjectionBusy, rebuild
from tests.api import Caller, Client, a_survivor, event, to_approval


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15) -> None:
    """Wait until the projections have caught up enough for `check`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "projection did not catch up"
        await asyncio.sleep(0.05)


async def settled(caller: Caller, path: str) -> Any:
    """The answer of `path` once two reads 0.3 s apart agree: the projections have caught up."""
    previous = await (await caller.get(path)).json()
    for _ in range(50):
        await asyncio.sleep(0.3)
        current = await (await caller.get(path)).json()
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"{path} did not settle")


async def rescued_operation(callers: dict[Role, Caller], survivors: list[dict[str, Any]]) -> str:
    """An operation whose rescue freed `survivors`."""
    field = callers[Role.FIELD]
    operation = await field.open()
    await field.record(operation, *to_approval())
    await callers[Role.LEADERSHIP].record(operation, event("RescueApproved"))
    await field.record(operation, event("RescueExecuted", outcome="success", survivors=survivors))
    return operation


async def test_operations_list_filters_by_stage_and_country(callers: dict[Role, Caller]) -> None:
    """The status list answers every role and filters by stage and country."""
    field, leadership = callers[Role.FIELD], callers[Role.LEADERSHIP]
    operation = await field.open(suspected_country="KH")

    async def listed() -> bool:
        body = await (await leadership.get("/v1/operations?stage=reported&country=KH")).json()
        return operation in {row["operation_id"] for row in body["operations"]}

    await eventually(listed)
    other = await (await leadership.get("/v1/operations?stage=approved&country=KH")).json()
    assert operation not in {row["operation_id"] for row in other["operations"]}
    bad = await leadership.get("/v1/operations?stage=flying")
    assert bad.status == 422


async def test_the_board_shows_open_operations_without_personal_data(
    callers: dict[Role, Caller],
) -> None:
    """Board rows carry stage, version, survivors counted and flags, never a name."""
    operation = await rescued_operation(callers, [a_survivor(), a_survivor()])
    leadership = callers[Role.LEADERSHIP]

    async def on_board() -> bool:
        body = await (await leadership.get("/v1/board")).json()
        rows = {row["operation_id"]: row for row in body["operations"]}
        return operation in rows and rows[operation]["version"] == 8

    await eventually(on_board)
    body = await (await leadership.get("/v1/board")).json()
    row = next(r for r in body["operations"] if r["operation_id"] == operation)
    assert row["stage"] == "rescued"
    assert row["survivors"] == 2
    assert "Survivor Name" not in json.dumps(body)
    assert (await callers[Role.FIELD].get("/v1/board")).status == 403


async def test_awaiting_approval_is_flagged(callers: dict[Role, Caller]) -> None:
    """A plan waiting for leadership is flagged on the board."""
    field = callers[Role.FIELD]
    operation = await field.open()
    await field.record(operation, *to_approval())

    async def flagged() -> bool:
        body = await (await callers[Role.ADMIN].get("/v1/board")).json()
        rows = {row["operation_id"]: row for row in body["operations"]}
        return operation in rows and "awaiting_approval" in rows[operation]["flags"]

    await eventually(flagged)


async def read_events(response: Any, count: int) -> list[tuple[int, dict[str, Any]]]:
    """Read `count` server-sent events (id, data) from a streaming response."""
    found: list[tuple[int, dict[str, Any]]] = []
    buffer = ""
    while len(found) < count:
        chunk = await asyncio.wait_for(response.content.readany(), 10)
        assert chunk, "the stream ended"
        buffer += chunk.decode()
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "id" in lines:
                found.append((int(lines["id"]), json.loads(lines["data"])))
    return found


async def test_the_board_stream_pushes_changes_and_resumes_from_last_event_id(
    client: Client, callers: dict[Role, Caller]
) -> None:
    """A new operation arrives live; reconnecting with Last-Event-ID replays what was missed."""
    leadership, field = callers[Role.LEADERSHIP], callers[Role.FIELD]
    headers = {"Authorization": f"Bearer {leadership.token}"}
    first = await field.open()

    async def on_board() -> bool:
        body = await (await leadership.get("/v1/board")).json()
        return first in {row["operation_id"] for row in body["operations"]}

    await eventually(on_board)
    stream = await client.get("/v1/board/stream", headers=headers)
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    snapshot_size = len((await (await leadership.get("/v1/board")).json())["operations"])
    snapshot = await read_events(stream, snapshot_size)
    assert first in {row["operation_id"] for _, row in snapshot}
    live = await field.open()
    ((position, row),) = await read_events(stream, 1)
    assert row["operation_id"] == live
    stream.close()

    missed = [await field.open(), await field.open()]
    resumed = await client.get(
        "/v1/board/stream", headers={**headers, "Last-Event-ID": str(position)}
    )

    replayed = await read_events(resumed, 2)
    assert [row["operation_id"] for _, row in replayed] == missed
    resumed.close()


async def test_impact_counts_rescued_survivors_as_published(
    callers: dict[Role, Caller],
) -> None:
    """Figures count survivors of successful rescues by country, gender, minors, exploitation
    (as admins see them: exact; leadership sees small counts as "<5")."""
    admin = callers[Role.ADMIN]
    before = await settled(admin, "/v1/stats/impact")  # earlier tests' rescues counted first
    await rescued_operation(
        callers,
        [
            a_survivor(found_in_country="CN", gender="female", age_at_rescue=17),
            a_survivor(found_in_country="CN", gender="female", age_at_rescue=22),
            a_survivor(
                found_in_country="VN",
                gender="male",
                age_at_rescue=13,
                exploitation="labour",
                form="garment_factory",
            ),
        ],
    )

    async def counted() -> bool:
        body = await (await admin.get("/v1/stats/impact")).json()
        return body["people_rescued"] == before["people_rescued"] + 3

    await eventually(counted)
    after = await (await admin.get("/v1/stats/impact")).json()
    assert after["operations"] == before["operations"] + 1
    assert after["minors"] == before["minors"] + 2
    assert after["by_country"].get("VN", 0) == before["by_country"].get("VN", 0) + 1
    assert after["by_gender"].get("male", 0) == before["by_gender"].get("male", 0) + 1
    assert after["by_exploitation"]["labour"] == before["by_exploitation"].get("labour", 0) + 1
    assert (await callers[Role.LEADERSHIP].get("/v1/stats/impact?from=2999-01-01")).status == 200
    assert (await admin.get("/v1/stats/impact?from=yesterday")).status == 422
    assert (await callers[Role.FIELD].get("/v1/stats/impact")).status == 403


async def test_ready_reports_projection_lag(client: Client) -> None:
    """/ready lists each projection's lag."""
    body = await (await client.get("/ready")).json()
    assert set(body["checks"]["projection_lag_seconds"]) == {
        "alerts",
        "board",
        "impact",
        "operation_status",
        "survivor_status",
    }


TABLES = {
    "operation_status": "SELECT * FROM operation_status ORDER BY operation_id",
    "board": "SELECT * FROM board ORDER BY operation_id",
    "impact": "SELECT * FROM impact_survivors ORDER BY survivor_id",
    "alerts": "SELECT * FROM alert_operations ORDER BY operation_id",
    "alert_journeys": "SELECT * FROM alert_journeys ORDER BY survivor_id, operation_id",
}


CHECKPOINTS = (
    "SELECT name, epoch, xid, position, events_applied FROM projection_checkpoints ORDER BY name"
)


async def test_a_rebuild_ends_identical_to_the_live_projection(
    client: Client, callers: dict[Role, Caller], database_url: str, pool: asyncpg.Pool
) -> None:
    """Stopping the live runners and rebuilding each projection gives the same rows."""
    await rescued_operation(callers, [a_survivor()])
    head = await pool.fetchval("SELECT count(*) FROM events")

    async def caught_up() -> bool:
        applied = await pool.fetch("SELECT name, events_applied FROM projection_checkpoints")
        return len(applied) == 5 and all(row["events_applied"] == head for row in applied)

    await eventually(caught_up)
    live = {name: [dict(r) for r in await pool.fetch(sql)] for name, sql in TABLES.items()}
    live_checkpoints = await pool.fetch(CHECKPOINTS)
    store = EventStore(pool)
    projections = build_projections(store)
    with pytest.raises(ProjectionBusy):
        await rebuild(projections[0], store, database_url)
    await client.server.close()  # the app's runners release their leads
    for projection in build_projections(store, live=False):
        assert (
            await rebuild(projection, store, database_url, workers=2, factory=rebuilt_projection)
            == head
        )
    rebuilt = {name: [dict(r) for r in await pool.fetch(sql)] for name, sql in TABLES.items()}
    assert rebuilt == live
    assert await pool.fetch(CHECKPOINTS) == live_checkpoints
    assert live["board"]
