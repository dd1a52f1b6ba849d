"""The access log (invariant 8): every read of an operation is recorded, chained and guarded."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coordinator.domain.actors import Role
from coordinator.settings import Settings
from evidence.access_chain import first_broken_entry
from tests.api import Caller, event


@pytest.fixture(scope="module")
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real app on the module's database, with its own keys, signing every 100 ms."""
    return Settings(
        database_url=database_url,
        signing_key_dir=Path(tmp_path_factory.mktemp("keys")),
        checkpoint_interval_seconds=0.1,
    )


async def entries_of(caller: Caller, operation: str | None = None) -> list[dict[str, Any]]:
    """Every access-log entry (of one operation), following the pages."""
    entries: list[dict[str, Any]] = []
    after = 0
    while True:
        query = f"after={after}&limit=7" + (f"&operation_id={operation}" if operation else "")
        response = await caller.get(f"/v1/audit/access-log?{query}")
        assert response.status == 200, await response.text()
        page = await response.json()
        entries += page["entries"]
        if page["next_after"] is None:
            return entries
        after = page["next_after"]


def as_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries as served, turned back into the stored values the chain covers."""
    return [
        {
            **entry,
            "accessed_at": datetime.fromisoformat(entry["accessed_at"]),
            "operation_id": uuid.UUID(entry["operation_id"]),
            "prev_hash": bytes.fromhex(entry["prev_hash"]),
            "hash": bytes.fromhex(entry["hash"]),
        }
        for entry in entries
    ]


async def get_with_request_id(caller: Caller, path: str, request_id: str) -> int:
    """GET `path` with a request id of our choosing; the status."""
    headers = {"Authorization": f"Bearer {caller.token}", "X-Request-Id": request_id}
    response = await caller.client.get(path, headers=headers)
    return response.status


async def test_each_read_of_an_operation_is_logged_with_who_what_and_request(
    callers: dict[Role, Caller],
) -> None:
    """Details, events and both forms of the trail each leave one entry naming the reader."""
    field, legal, admin = callers[Role.FIELD], callers[Role.LEGAL], callers[Role.ADMIN]
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="a note"))
    reads = [
        (callers[Role.LEADERSHIP], "", "operation", "json"),
        (field, "/events", "events", "json"),
        (legal, "/audit-trail", "audit_trail", "json"),
        (admin, "/audit-trail?format=html", "audit_trail", "html"),
    ]
    for number, (caller, suffix, _, _) in enumerate(reads):
        path = f"/v1/operations/{operation}{suffix}"
        assert await get_with_request_id(caller, path, f"read-{number}") == 200
    logged = await entries_of(legal, operation)
    assert [(e["what"], e["format"], e["request_id"]) for e in logged] == [
        (what, page_format, f"read-{number}")
        for number, (_, _, what, page_format) in enumerate(reads)
    ]
    names = [caller.token for caller, *_ in reads]
    assert [e["actor_role"] for e in logged] == ["leadership", "field", "legal", "admin"]
    assert all(e["actor_name"] and e["actor_name"] not in names for e in logged)
    assert all(name not in str(logged) for name in names)


async def test_only_legal_and_admin_may_read_the_access_log(callers: dict[Role, Caller]) -> None:
    """The record of who read what is itself for legal and admin only."""
    for role, caller in callers.items():
        response = await caller.get("/v1/audit/access-log")
        assert response.status == (200 if role in {Role.LEGAL, Role.ADMIN} else 403)


async def test_a_read_that_finds_nothing_is_not_logged_as_a_read(
    callers: dict[Role, Caller],
) -> None:
    """A 404 read no operation's details, so it leaves no entry about one."""
    missing = uuid.uuid4()
    response = await callers[Role.FIELD].get(f"/v1/operations/{missing}")
    assert response.status == 404
    assert await entries_of(callers[Role.LEGAL], str(missing)) == []


async def test_the_access_log_chain_verifies_after_concurrent_reads(
    callers: dict[Role, Caller],
) -> None:
    """Forty reads at once still make one unbroken chain, entry after entry."""
    field = callers[Role.FIELD]
    operation = await field.open()
    statuses = await asyncio.gather(*(field.get(f"/v1/operations/{operation}") for _ in range(40)))
    assert {response.status for response in statuses} == {200}
    everything = await entries_of(callers[Role.ADMIN])
    assert [e["entry"] for e in everything] == list(range(1, len(everything) + 1))
    assert first_broken_entry(as_rows(everything)) is None
    assert len(await entries_of(callers[Role.ADMIN], operation)) == 40


async def test_the_access_log_refuses_change(
    callers: dict[Role, Caller], pool: asyncpg.Pool
) -> None:
    """Entries cannot be updated, deleted or truncated away."""
    operation = await callers[Role.FIELD].open()
    assert (await callers[Role.FIELD].get(f"/v1/operations/{operation}")).status == 200
    for statement in (
        "UPDATE access_log SET actor_name = 'someone else'",
        "DELETE FROM access_log",
        "TRUNCATE access_log",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await pool.execute(statement)


async def test_an_entry_edited_behind_the_triggers_back_breaks_the_chain(
    callers: dict[Role, Caller], pool: asyncpg.Pool, database_url: str
) -> None:
    """A superuser who rewrites who read a file leaves a chain that fails at that entry."""
    field = callers[Role.FIELD]
    operation = await field.open()
    assert (await field.get(f"/v1/operations/{operation}")).status == 200
    target = (await entries_of(callers[Role.LEGAL], operation))[-1]["entry"]
    rogue = await asyncpg.connect(database_url)
    try:
        await rogue.execute("SET session_replication_role = replica")
        await rogue.execute("UPDATE access_log SET actor_name = 'nobody' WHERE entry = $1", target)
    finally:
        await rogue.close()
    rows = await pool.fetch("SELECT * FROM access_log ORDER BY entry")
    assert first_broken_entry([dict(row) for row in rows]) == target


@pytest.mark.parametrize("query", ["operation_id=nope", "after=-1", "limit=x", "after=²"])
async def test_bad_access_log_queries_are_400(callers: dict[Role, Caller], query: str) -> None:
    """A query the access log cannot answer is refused with a sentence, never a 500."""
    response = await callers[Role.LEGAL].get(f"/v1/audit/access-log?{query}")
    assert response.status == 400
    assert (await response.json())["error"] == "bad_request"
