"""Need-to-know: a field team reads and records only the operations it is assigned to, unless it
breaks the glass with a stated reason, which is served, logged and listed for admins."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse

from coordinator.domain.actors import Role
from coordinator.errors import InvalidInput
from coordinator.service.tokens import create_token, list_tokens
from tests.api import Caller, Client, a_survivor, event

REASON = "mother called at night: the girl is in danger now"


class TeamCaller(Caller):
    """A field token of one team, which may also break the glass."""

    async def send(
        self, method: str, path: str, body: Any = None, *, glass: str | None = None
    ) -> ClientResponse:
        """`method` on `path` with this token, and `X-Break-Glass: glass` when given."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if glass is not None:
            headers["X-Break-Glass"] = glass
        return await self.client.request(method, path, json=body, headers=headers)


async def a_team_member(client: Client, pool: asyncpg.Pool, team: str) -> TeamCaller:
    """A field token of `team`, under a fresh name."""
    name = f"field-{team}-{uuid.uuid4().hex[:6]}"
    return TeamCaller(client, await create_token(pool, name, Role.FIELD, team=team))


@pytest.fixture(scope="module")
async def team_a(client: Client, pool: asyncpg.Pool) -> TeamCaller:
    """A field team that opens the operations here."""
    return await a_team_member(client, pool, "Lao Cai")


@pytest.fixture(scope="module")
async def team_b(client: Client, pool: asyncpg.Pool) -> TeamCaller:
    """Another field team, assigned to none of them unless a test assigns it."""
    return await a_team_member(client, pool, "Ha Giang")


def note(text: str = "checked in") -> dict[str, Any]:
    """A harmless event to append."""
    return event("StatusNoted", note=text)


async def error_of(response: ClientResponse) -> tuple[int, str]:
    """The status and error code of an answer."""
    return response.status, (await response.json())["error"]


async def break_glass_list(admin: Caller) -> list[dict[str, Any]]:
    """Every break-the-glass request listed for admins."""
    response = await admin.get("/v1/audit/break-glass?limit=1000")
    assert response.status == 200, await response.text()
    reads: list[dict[str, Any]] = (await response.json())["reads"]
    return reads


async def access_log(admin: Caller, operation: str) -> list[dict[str, Any]]:
    """The access log's entries of one operation."""
    response = await admin.get(f"/v1/audit/access-log?operation_id={operation}&limit=1000")
    assert response.status == 200, await response.text()
    entries: list[dict[str, Any]] = (await response.json())["entries"]
    return entries


async def test_a_team_not_assigned_is_refused_details_events_and_appends(
    team_a: TeamCaller, team_b: TeamCaller
) -> None:
    """Team B gets 403 not_assigned on the details, the events and an append of team A's
    operation, and its append records nothing."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}"
    assert await error_of(await team_b.send("GET", path)) == (403, "not_assigned")
    assert await error_of(await team_b.send("GET", f"{path}/events")) == (403, "not_assigned")
    refused = await team_b.send("POST", f"{path}/events", {"events": [note()]})
    assert await error_of(refused) == (403, "not_assigned")
    details = await (await team_a.send("GET", path)).json()
    assert details["version"] == 1


async def test_the_reporting_team_is_served_its_operation(team_a: TeamCaller) -> None:
    """The team whose token opened the operation reads and records it without any header."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}"
    assert (await team_a.send("GET", path)).status == 200
    assert (await team_a.send("GET", f"{path}/events")).status == 200
    assert (await team_a.send("POST", f"{path}/events", {"events": [note()]})).status == 201


async def test_breaking_the_glass_serves_logs_and_lists_each_request(
    team_a: TeamCaller, team_b: TeamCaller, admin: Caller, pool: asyncpg.Pool
) -> None:
    """With X-Break-Glass, team B is served details, events and an append; each request is in
    the break-glass list with its reason, token name, team and time, and in the access log."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}"
    before = len(await break_glass_list(admin))
    assert (await team_b.send("GET", path, glass=REASON)).status == 200
    events = await team_b.send("GET", f"{path}/events", glass=REASON)
    assert events.status == 200
    assert len((await events.json())["events"]) == 1
    appended = await team_b.send("POST", f"{path}/events", {"events": [note()]}, glass=REASON)
    assert appended.status == 201, await appended.text()
    listed = [r for r in (await break_glass_list(admin))[before:] if r["operation_id"] == operation]
    name = next(t.name for t in await list_tokens(pool) if t.team == "Ha Giang")
    assert [r["what"] for r in listed] == ["operation", "events", "append"]
    assert {(r["reason"], r["actor_name"], r["team"]) for r in listed} == {
        (REASON, name, "Ha Giang")
    }
    assert all(r["accessed_at"] for r in listed)
    logged = {e["entry"]: e for e in await access_log(admin, operation)}
    for read in listed:
        entry = logged[read["entry"]]
        assert entry["what"] == f"{read['what']} (break-glass)"
        assert entry["actor_name"] == name
        assert entry["accessed_at"] == read["accessed_at"]


async def test_an_assigned_team_that_sends_the_header_is_not_listed(
    team_a: TeamCaller, admin: Caller
) -> None:
    """A header sent by a team that needs none is no break of the glass: read as usual."""
    operation = await team_a.open()
    assert (await team_a.send("GET", f"/v1/operations/{operation}", glass=REASON)).status == 200
    assert all(r["operation_id"] != operation for r in await break_glass_list(admin))
    assert [e["what"] for e in await access_log(admin, operation)] == ["operation"]


@pytest.mark.parametrize(
    "reason",
    ["", "          ", "too short", "x" * 501, "a reason with a \x85 control character"],
    ids=["empty", "blank", "nine characters", "501 characters", "control character"],
)
async def test_a_reason_that_is_not_10_to_500_printable_characters_is_400_and_serves_nothing(
    team_a: TeamCaller, team_b: TeamCaller, admin: Caller, reason: str
) -> None:
    """An empty, blank, too short, too long or control-character reason is a 400 on every
    route, and nothing is served, appended, logged or listed."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}"
    before = len(await break_glass_list(admin))
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/events", None),
        ("POST", "/events", {"events": [note()]}),
    ]:
        response = await team_b.send(method, path + suffix, body, glass=reason)
        assert await error_of(response) == (400, "bad_request")
        assert "X-Break-Glass" in (await response.json())["detail"]
    assert len(await break_glass_list(admin)) == before
    assert await access_log(admin, operation) == []
    assert (await (await team_a.send("GET", path)).json())["version"] == 1


async def test_team_assigned_lets_a_team_in_and_team_unassigned_takes_it_away(
    team_a: TeamCaller, team_b: TeamCaller
) -> None:
    """A TeamAssigned by an assigned team opens the operation to team B; a TeamUnassigned
    closes it again."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}"
    await team_a.record(operation, event("TeamAssigned", team="Ha Giang"))
    assert (await team_b.send("GET", path)).status == 200
    assert (await team_b.send("POST", f"{path}/events", {"events": [note()]})).status == 201
    await team_a.record(operation, event("TeamUnassigned", team="Ha Giang"))
    assert await error_of(await team_b.send("GET", path)) == (403, "not_assigned")


async def test_a_team_cannot_assign_itself_even_breaking_the_glass(
    team_a: TeamCaller, team_b: TeamCaller
) -> None:
    """Team B's TeamAssigned of itself is a 403, with or without the header: breaking the glass
    lets it in once, it does not assign it."""
    operation = await team_a.open()
    body = {"events": [event("TeamAssigned", team="Ha Giang")]}
    path = f"/v1/operations/{operation}/events"
    assert await error_of(await team_b.send("POST", path, body)) == (403, "not_assigned")
    assert await error_of(await team_b.send("POST", path, body, glass=REASON)) == (
        403,
        "forbidden",
    )
    assert await error_of(await team_b.send("GET", f"/v1/operations/{operation}")) == (
        403,
        "not_assigned",
    )


async def test_team_unassigned_needs_the_team_assigned_and_assigned_a_new_one(
    team_a: TeamCaller,
) -> None:
    """Unassigning a team that is not assigned, or assigning one that is, breaks a rule."""
    operation = await team_a.open()
    path = f"/v1/operations/{operation}/events"
    unassign = {"events": [event("TeamUnassigned", team="Ha Giang")]}
    assign = {"events": [event("TeamAssigned", team="Lao Cai")]}
    assert await error_of(await team_a.send("POST", path, unassign)) == (422, "rule_broken")
    assert await error_of(await team_a.send("POST", path, assign)) == (422, "rule_broken")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEGAL, Role.LEADERSHIP])
async def test_admin_legal_and_leadership_are_not_scoped(
    team_a: TeamCaller, callers: dict[Role, Caller], role: Role
) -> None:
    """Roles other than field read a team's operation without breaking any glass."""
    operation = await team_a.open()
    assert (await callers[role].get(f"/v1/operations/{operation}")).status == 200
    if role is not Role.LEADERSHIP:  # leadership reads no events (its role matrix)
        assert (await callers[role].get(f"/v1/operations/{operation}/events")).status == 200


async def test_a_field_token_without_a_team_keeps_its_access(
    team_a: TeamCaller, field: Caller
) -> None:
    """A field token made before teams (no team) is not scoped, so an upgrade locks no one out;
    it may not change the teams, belonging to none."""
    operation = await team_a.open()
    assert (await field.get(f"/v1/operations/{operation}")).status == 200
    await field.record(operation, note())
    refused = await field.post(
        f"/v1/operations/{operation}/events", {"events": [event("TeamAssigned", team="X Team")]}
    )
    assert await error_of(refused) == (403, "forbidden")


async def test_an_admin_assigns_a_team_to_an_operation_it_opened(
    admin: Caller, team_b: TeamCaller
) -> None:
    """An operation reported by an admin has no team until one is assigned; then it is open."""
    operation = await admin.open()
    path = f"/v1/operations/{operation}"
    assert await error_of(await team_b.send("GET", path)) == (403, "not_assigned")
    await admin.record(operation, event("TeamAssigned", team="Ha Giang"))
    assert (await team_b.send("GET", path)).status == 200


async def test_the_list_of_operations_stays_open_to_every_team(team_b: TeamCaller) -> None:
    """The list shows no personal data and is not narrowed: need-to-know guards the details."""
    assert (await team_b.send("GET", "/v1/operations")).status == 200


async def test_only_admin_reads_the_break_glass_list(callers: dict[Role, Caller]) -> None:
    """Field, legal and leadership get 403 on the list; admin reads it."""
    for role, caller in callers.items():
        expected = 200 if role is Role.ADMIN else 403
        assert (await caller.get("/v1/audit/break-glass")).status == expected


async def test_a_survivors_case_is_open_to_the_teams_of_the_operations_that_found_her(
    team_a: TeamCaller, team_b: TeamCaller, admin: Caller
) -> None:
    """Her case is served to team A, whose operation registered her; team B gets 403
    not_assigned unless it breaks the glass, which is listed."""
    operation = await team_a.open()
    survivor = a_survivor()
    await team_a.record(operation, event("SurvivorRecovered", how="escaped", survivors=[survivor]))
    path = f"/v1/survivors/{survivor['survivor_id']}"
    assert (await team_a.send("GET", path)).status == 200
    assert await error_of(await team_b.send("GET", path)) == (403, "not_assigned")
    assert (await team_b.send("GET", path, glass=REASON)).status == 200
    listed = await break_glass_list(admin)
    assert listed[-1]["operation_id"] == survivor["survivor_id"]
    assert listed[-1]["what"] == "survivor"


async def test_a_break_glass_record_cannot_be_changed(pool: asyncpg.Pool) -> None:
    """The break-glass list is part of the record: an UPDATE or DELETE is refused."""
    for statement in [
        "UPDATE break_glass_reads SET reason = 'nothing to see'",
        "DELETE FROM break_glass_reads",
    ]:
        await pool.execute(
            "INSERT INTO break_glass_reads VALUES ($1, now(), 'x', 'y', $2, 'operation', "
            "'a reason long enough', 'r')",
            -int(uuid.uuid4().int % 10**9) - 1,
            uuid.uuid4(),
        )
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await pool.execute(statement)


async def test_a_team_is_only_for_field_tokens_and_is_listed(pool: asyncpg.Pool) -> None:
    """`token create --team` is refused for other roles; `token list` shows the team."""
    with pytest.raises(InvalidInput):
        await create_token(pool, f"legal-{uuid.uuid4().hex[:6]}", Role.LEGAL, team="Lao Cai")
    with pytest.raises(InvalidInput):
        await create_token(pool, f"field-{uuid.uuid4().hex[:6]}", Role.FIELD, team=" padded ")
    name = f"field-{uuid.uuid4().hex[:6]}"
    await create_token(pool, name, Role.FIELD, team="Dien Bien")
    assert {t.name: t.team for t in await list_tokens(pool)}[name] == "Dien Bien"
