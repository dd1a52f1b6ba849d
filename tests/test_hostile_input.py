"""Hostile input gets a clear 4xx, never a 500, and no token ever reaches a log line.

Each case was a 500 (or a token in the log) when a security review tried it on a running service.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.service.tokens import create_token
from events.store.connection import create_pool
from events.store.migrate import migrate
from tests.api import Caller, Client, a_case_report
from tests.databases import create_database, drop_database
from tests.services import eventually, running_service, start_service


def nested(depth: int) -> object:
    """A JSON value `depth` lists deep."""
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


async def raw_status(client: Client, header: bytes) -> bytes:
    """The status line the app answers a request whose Authorization header is `header`."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    request = b"GET /v1/operations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    writer.write(request + b"Authorization: " + header + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read(4000)
    writer.close()
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    "header",
    [b"Bearer hw_\xff\xfe", b"Bearer hw_\xc3\xa9", b"Bearer hw_\x7f", b"Bearer " + b"x" * 5000],
    ids=["invalid-utf8", "non-ascii", "delete", "too-long"],
)
async def test_a_token_that_cannot_be_a_token_is_a_4xx(client: Client, header: bytes) -> None:
    """A non-ASCII byte, a control character or a megabyte in the header: refused as unknown
    (401), or as a malformed request by the HTTP parser itself (400); never a 500."""
    status = await raw_status(client, header)
    assert status in {b"HTTP/1.1 401 Unauthorized", b"HTTP/1.0 400 Bad Request"}, status


@pytest.mark.parametrize("depth", [65, 500, 50_000])
async def test_json_nested_too_deep_is_a_400_before_it_is_parsed(field: Caller, depth: int) -> None:
    """A body nesting more than 64 levels is refused, never a RecursionError."""
    report = json.dumps(a_case_report())
    body = '{"data": ' + report[:-1] + ', "extra": ' + "[" * depth + "0" + "]" * depth + "}}"
    response = await field.client.post(
        "/v1/operations",
        data=body,
        headers={"Authorization": f"Bearer {field.token}", "Content-Type": "application/json"},
    )
    assert response.status == 400, await response.text()
    assert "nests deeper than 64" in (await response.json())["detail"]


async def test_json_nested_64_levels_is_still_read(field: Caller) -> None:
    """The limit leaves room for any real payload: 60 levels inside `data` are accepted."""
    report = a_case_report()
    report["extra"] = nested(60)
    response = await field.post("/v1/operations", {"data": report})
    assert response.status == 201, await response.text()


@pytest.mark.parametrize("last", ["9223372036854775808", "-1", "0", "1e9"])
async def test_a_last_event_id_out_of_range_is_a_400(leadership: Caller, last: str) -> None:
    """A resume position the log cannot hold is refused before the database sees it."""
    response = await leadership.client.get(
        "/v1/board/stream",
        headers={"Authorization": f"Bearer {leadership.token}", "Last-Event-ID": last},
    )
    assert response.status == 400, await response.text()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_an_impact_window_beyond_the_calendar_is_a_422(
    leadership: Caller, moment: str
) -> None:
    """A time that has no UTC form (or no zone to place it) is a clear refusal."""
    response = await leadership.get(f"/v1/stats/impact?from={moment.replace('+', '%2B')}")
    assert response.status in {400, 422}, await response.text()
    assert response.status != 500


async def test_an_occurred_at_beyond_the_calendar_is_a_422(field: Caller) -> None:
    """`0001-01-01T00:00:00+14:00` is before year 1 in UTC: refused, not a 500."""
    body = {"occurred_at": "0001-01-01T00:00:00+14:00", "data": a_case_report()}
    response = await field.post("/v1/operations", body)
    assert response.status == 422, await response.text()
    operation = await field.open()
    event = {"type": "StatusNoted", "occurred_at": "0001-01-01T00:00:00+14:00", "data": {}}
    response = await field.post(f"/v1/operations/{operation}/events", {"events": [event]})
    assert response.status == 422, await response.text()


async def test_a_time_inside_a_payload_beyond_the_calendar_is_a_422(field: Caller) -> None:
    """The same for a time in an event's data (a plan's date)."""
    operation = await field.open()
    events = [
        {"type": "InvestigationOpened", "data": {"lead_investigator": "Investigator A"}},
        {
            "type": "RescuePlanned",
            "data": {"planned_for": "0001-01-01T05:00:00+14:00", "risk": "low"},
        },
    ]
    response = await field.post(f"/v1/operations/{operation}/events", {"events": events})
    assert response.status == 422, await response.text()


async def test_every_answer_says_nosniff_and_personal_data_is_never_cached(
    client: Client, field: Caller
) -> None:
    """Browsers never sniff an answer's type, and nothing keeps a survivor's data in a cache."""
    operation = await field.open()
    for path in ["/health", "/openapi.json", f"/v1/operations/{operation}"]:
        response = await field.get(path)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    refused = await client.get("/v1/operations")
    assert refused.headers.get("X-Content-Type-Options") == "nosniff"
    assert refused.headers.get("Server") == "Homeward"  # no software versions to look up
    for path in [f"/v1/operations/{operation}", f"/v1/operations/{operation}/events"]:
        response = await field.get(path)
        assert response.headers.get("Cache-Control") == "no-store", path


async def test_a_header_with_a_control_character_puts_no_token_in_the_log(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path, data_dir: Path
) -> None:
    """aiohttp's own complaint about a bad request line goes through the redaction too."""
    token = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    environment = {"COORDINATOR_DATA_DIR": str(data_dir)}  # the keys of this module's database
    async with running_service(database_url, tmp_path, environment=environment) as service:
        for raw in [
            f"GET /v1/operations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\x01\r\n\r\n",
            f"GET /v1/operations HTTP/1.1\r\nHost: x\r\nX-Evil\x00: Bearer {token}\r\n\r\n",
            f"GET /v1/ope\x01rations?t={token} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n",
        ]:
            reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
            writer.write(raw.encode("latin-1"))
            await writer.drain()
            answer = await reader.read(2000)
            writer.close()
            assert answer.split(b" ", 2)[1].startswith(b"4"), answer[:200]
        await asyncio.sleep(0.5)
        log = service.log_path.read_text(errors="replace")
    assert token not in log
    assert token[3:20] not in log


async def _refused_start(database_url: str, folder: Path, environment: dict[str, str]) -> str:
    """Start a service that must refuse to start; its error output."""
    service = await start_service(database_url, folder, name="refused", environment=environment)
    code = await service.wait(60)
    assert code == 1, service.log_tail()
    return service.log_path.read_text(errors="replace")


@pytest.fixture
async def own_database(server_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A database of this test's own, whose keys no other test made."""
    url = await create_database(server_url)
    pool = await create_pool(url, min_size=1, max_size=2)
    async with pool.acquire() as connection:
        await migrate(connection)
    yield url, pool
    await pool.close()
    await drop_database(server_url, url)


async def test_a_replica_without_the_database_keys_refuses_to_start_naming_them(
    own_database: tuple[str, asyncpg.Pool], tmp_path: Path
) -> None:
    """A key folder that lacks the KEK (or the signing key) the database uses is a clear refusal
    at start, naming the key, never a service that answers 500 on every read."""
    database_url, pool = own_database

    def keys(personal: Path, signing: Path) -> dict[str, str]:
        return {
            "COORDINATOR_PERSONAL_KEY_DIR": str(personal),
            "COORDINATOR_SIGNING_KEY_DIR": str(signing),
        }

    first = tmp_path / "first"
    environment = {"COORDINATOR_CHECKPOINT_INTERVAL_SECONDS": "0.2"}
    environment |= keys(first / "personal", first / "signing")
    token = await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD)
    async with running_service(database_url, first, environment=environment) as service:
        async with aiohttp.ClientSession() as session:
            answer = await session.post(
                f"{service.base_url}/v1/operations",
                json={"data": a_case_report()},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status == 201
        await eventually(
            lambda: bool(service.logged("checkpoint_signed")), 10, "a checkpoint signed"
        )
    kek_id = next((first / "personal").glob("kek-*.key")).stem[4:]
    empty = tmp_path / "empty"
    out = await _refused_start(database_url, empty, keys(empty / "personal", empty / "signing"))
    assert f"wrapped by KEK {kek_id}, whose key file is not in" in out
    assert "Traceback" not in out
    # The personal keys are there, the signing keys are not.
    half = tmp_path / "half"
    out = await _refused_start(database_url, half, keys(first / "personal", half / "signing"))
    key_ids = {line["key_id"] for line in service.logged("checkpoint_signed")}
    assert any(f"signed by key {key_id}, which is not in" in out for key_id in key_ids), out


async def test_appends_that_state_no_version_never_meet_a_version_conflict(field: Caller) -> None:
    """600 appends at once, 30 to each of 20 operations, none stating a version: all land."""
    operations = [await field.open() for _ in range(20)]
    note = {"type": "StatusNoted", "data": {"note": "still searching"}}

    async def append(operation: str) -> int:
        response = await field.post(f"/v1/operations/{operation}/events", {"events": [note]})
        return response.status

    statuses = await asyncio.gather(*(append(op) for op in operations for _ in range(30)))
    assert statuses.count(201) == 600, sorted(set(statuses))
    for operation in operations:
        answer = await (await field.get(f"/v1/operations/{operation}")).json()
        assert answer["version"] == 31
