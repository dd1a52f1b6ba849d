"""A newcomer's first hour: the docs page's order, helpful errors, what `serve` prints, quiet
commands, and a README whose settings table and commands match the program."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import make_mocked_request

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.http.docs_order import ADMIN_TAGS
from coordinator.http.openapi import OPENAPI, RouteDoc, build_document, docs_page
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.catalogue import EVENT_TYPES, KIND_EVENT_TYPES, StreamKind
from tests.api import Caller, event
from tests.databases import create_database, drop_database
from tests.services import BIN, Service, start_service, stop_service

README = Path(__file__).resolve().parents[1] / "README.md"
FIELDS = {f"COORDINATOR_{name.upper()}" for name in Settings.model_fields}
FIRST_TOKEN_ARGUMENTS = "token create --role admin --name first-admin"  # noqa: S105  a command
FIRST_TOKEN_COMMAND = f".venv/bin/coordinator {FIRST_TOKEN_ARGUMENTS}"


def _section_order(html: str) -> list[str]:
    """`METHOD path` of each endpoint section of the docs page, top to bottom."""
    return [
        f"{method} {path}"
        for method, path in re.findall(
            r'<span class="m \w+">(\w+)</span><code>([^<]+)</code>', html
        )
    ]


@pytest.mark.unit
async def test_the_docs_page_lists_the_field_teams_calls_first_and_the_admin_ones_last() -> None:
    """Open an operation, append to it and read it come first; privacy and service come last."""
    app = create_app(Settings(), "postgresql://unused")
    page = await docs_page(make_mocked_request("GET", "/docs", app=app))
    assert page.text is not None
    order = _section_order(page.text)
    assert order[:4] == [
        "POST /v1/operations",
        "POST /v1/operations/{operation_id}/events",
        "GET /v1/operations/{operation_id}",
        "GET /v1/operations/{operation_id}/events",
    ]
    admin = {f"{doc.method} {doc.path}" for doc in app[OPENAPI].routes if doc.tag in ADMIN_TAGS}
    assert {"DELETE /v1/survivors/{survivor_id}/personal-data", "GET /metrics"} <= admin
    assert set(order[-len(admin) :]) == admin
    assert sorted(order) == sorted(f"{doc.method} {doc.path}" for doc in app[OPENAPI].routes)


@pytest.mark.unit
def test_a_new_part_of_the_api_is_listed_before_the_admin_calls() -> None:
    """A tag the document does not know yet (alerts) goes after the teams' tags, before admin."""
    routes = [
        RouteDoc("GET", "/health", "Liveness.", None, tag="service", needs_database=False),
        RouteDoc("GET", "/v1/alerts", "Alerts.", frozenset({Role.LEADERSHIP}), tag="alerts"),
        RouteDoc("GET", "/v1/board", "The board.", frozenset({Role.LEADERSHIP}), tag="board"),
        RouteDoc("POST", "/v1/operations", "Open.", frozenset({Role.FIELD}), success=201),
    ]
    document = build_document(routes)
    assert [tag["name"] for tag in document["tags"]] == ["operations", "board", "alerts", "service"]
    assert list(document["paths"]) == ["/v1/operations", "/v1/board", "/v1/alerts", "/health"]
    assert "open an operation" in document["tags"][0]["description"]


async def test_an_unknown_event_type_lists_the_valid_types_of_each_stream(field: Caller) -> None:
    """A type the catalogue lacks is a 422 naming every type an operation (and each other kind
    of stream) records."""
    operation_id = await field.open()
    response = await field.post(
        f"/v1/operations/{operation_id}/events", {"events": [event("Nope")]}
    )
    assert response.status == 422
    detail = (await response.json())["detail"]
    assert detail.startswith("'Nope' is not an event type")
    on_operation = detail.split("on an operation: ")[1].split(";")[0].split(", ")
    assert set(on_operation) == KIND_EVENT_TYPES[StreamKind.OPERATION]
    on_case = detail.split("on a survivor's case: ")[1].split(";")[0].split(", ")
    assert set(on_case) == KIND_EVENT_TYPES[StreamKind.SURVIVOR_CASE]
    on_prosecution = detail.split("on a prosecution: ")[1].split(", ")
    assert set(on_prosecution) == KIND_EVENT_TYPES[StreamKind.PROSECUTION]


async def test_a_misspelt_event_type_suggests_the_one_meant(field: Caller) -> None:
    """`LeadRecordd` is answered with `did you mean LeadRecorded?`, on a survivor's case too."""
    operation_id = await field.open()
    response = await field.post(
        f"/v1/operations/{operation_id}/events", {"events": [event("LeadRecordd")]}
    )
    assert response.status == 422
    assert "(did you mean LeadRecorded?)" in (await response.json())["detail"]
    response = await field.post(
        f"/v1/survivors/{uuid.uuid4()}/events", {"events": [event("ConsentRecordd")]}
    )
    assert response.status == 422
    detail = (await response.json())["detail"]
    assert "(did you mean ConsentRecorded?)" in detail
    assert all(name in detail for name in EVENT_TYPES), "the suggestion comes with the lists"


def _printed(service: Service) -> list[str]:
    """What the service printed beside its JSON log lines."""
    text = service.log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if line and not line.startswith("{")]


async def _served_once(database_url: str, folder: Path) -> list[str]:
    service = await start_service(database_url, folder)
    try:
        await service.wait_ready()
    finally:
        await stop_service(service)
    return _printed(service)


async def test_serve_prints_its_address_and_the_first_token_command_until_a_token_exists(
    server_url: str, tmp_path: Path
) -> None:
    """The first start on a new database says where it listens and how to create the first
    token; once a token exists it says only where."""
    database_url = await create_database(server_url)
    try:
        printed = await _served_once(database_url, tmp_path / "first")
        assert len(printed) == 2, printed
        assert re.fullmatch(
            r"Homeward is listening on http://127\.0\.0\.1:\d+ "
            r"\(the API is described at http://127\.0\.0\.1:\d+/docs\)",
            printed[0],
        )
        command = printed[1].removeprefix("No token yet; create the first one with: ")
        # The program as the test started it (its path from here), then the exact arguments.
        program = os.path.relpath(BIN / "coordinator")  # noqa: ASYNC240  no I/O: a path's text
        assert command == f"{program} {FIRST_TOKEN_ARGUMENTS}", command

        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        try:
            await create_token(pool, "first-admin", Role.ADMIN)
        finally:
            await pool.close()
        printed = await _served_once(database_url, tmp_path / "second")
        assert len(printed) == 1, printed
        assert printed[0].startswith("Homeward is listening on http://127.0.0.1:")
    finally:
        await drop_database(server_url, database_url)


def _plain_environment(data_dir: Path) -> dict[str, str]:
    """A shell's environment with no database configured and no XDG_RUNTIME_DIR (cron, sudo)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("COORDINATOR_") and name != "XDG_RUNTIME_DIR"
    }
    return {**environment, "COORDINATOR_DATA_DIR": str(data_dir), "COORDINATOR_LOG_FORMAT": "json"}


async def _run(environment: dict[str, str], *arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "coordinator"),
        *arguments,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_port_in_use_is_one_sentence_and_exit_status_1() -> None:
    """`serve` on a port another program listens on says so in one line, with no traceback and
    without starting the embedded database."""
    folder = Path(tempfile.mkdtemp(prefix="homeward-first-contact-"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            code, out, err = await _run(
                _plain_environment(folder / "data"), "serve", "--port", str(port)
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    assert code == 1
    assert out == ""
    assert err == (
        f"error: 127.0.0.1:{port} is already in use; stop what listens there or serve on "
        "another port with --port or COORDINATOR_PORT\n"
    )


async def test_a_port_taken_at_the_bind_itself_is_one_sentence_too(database_url: str) -> None:
    """A worker (which binds with SO_REUSEPORT and skips the early check) that finds the port
    taken also answers in one sentence, after starting the app."""
    folder = Path(tempfile.mkdtemp(prefix="homeward-first-contact-"))
    # The session's key folders, which belong to the module's database.
    keys = Path(os.environ["COORDINATOR_DATA_DIR"]) / "keys"
    environment = {
        **_plain_environment(folder / "data"),
        "COORDINATOR_REUSE_PORT": "true",
        "COORDINATOR_PERSONAL_KEY_DIR": str(keys / "personal"),
        "COORDINATOR_SIGNING_KEY_DIR": str(keys),
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            code, _out, err = await _run(
                environment, "--database-url", database_url, "serve", "--port", str(port)
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    assert code == 1
    assert "Traceback" not in err
    assert f"error: 127.0.0.1:{port} is already in use;" in err.splitlines()[-1]


async def test_a_command_borrowing_the_embedded_database_is_quiet() -> None:
    """`token create` on the embedded database prints its token and nothing about starting or
    stopping the database, and no XDG_RUNTIME_DIR warning, at the default log level."""
    folder = Path(tempfile.mkdtemp(prefix="homeward-first-contact-"))
    try:
        code, out, err = await _run(
            _plain_environment(folder / "data"),
            *FIRST_TOKEN_ARGUMENTS.split(),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert code == 0, err
    assert out.splitlines()[0] == "token for first-admin (admin); shown once, keep it safe:"
    assert out.splitlines()[1].startswith("hw_")
    assert "XDG_RUNTIME_DIR" not in err
    assert "stopped" not in err
    assert "embedded" not in err
    assert err == ""


def _readme_settings() -> list[str]:
    """Every `COORDINATOR_*` name in the first cell of a row of the README's settings table."""
    names: list[str] = []
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `COORDINATOR_") and len(cells) == 3:
            names += re.findall(r"`(COORDINATOR_[A-Z0-9_]+)`", cells[0])
    return names


@pytest.mark.unit
def test_the_readme_settings_table_lists_every_setting_once() -> None:
    """Each Settings field has a row in the README's table, and each row names a setting."""
    listed = _readme_settings()
    missing = sorted(FIELDS - set(listed))
    assert not missing, f"add {missing} to the settings table of README.md (Running it)"
    assert sorted(set(listed) - FIELDS) == [], "these are not settings (any more)"
    assert len(listed) == len(set(listed)), "a setting is listed twice"


def _shell_commands(text: str) -> list[str]:
    """The commands of the README's shell blocks (a line ending in a backslash continues)."""
    commands: list[str] = []
    in_block = False
    continued = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```sh"
            continued = False
            continue
        if in_block and line.strip() and not line.lstrip().startswith("#"):
            if not continued:
                commands.append(line.strip())
            continued = line.rstrip().endswith("\\")
    return commands


@pytest.mark.unit
def test_the_readme_runs_coordinator_in_one_form() -> None:
    """Every shell command of the README starts `.venv/bin/coordinator` (or the server's
    installed path), never bare `coordinator` or `python -m coordinator`."""
    text = README.read_text()
    commands = _shell_commands(text)
    assert any(command.startswith(".venv/bin/coordinator ") for command in commands)
    bare = [command for command in commands if command.startswith("coordinator ")]
    assert bare == []
    assert "python -m coordinator" not in text
    assert "ops/backup" not in text
    assert "ops/restore" not in text


@pytest.mark.unit
def test_the_readme_starts_with_the_two_commands_and_says_how_to_upgrade() -> None:
    """The first code block is the two commands; an upgrade section backs up, pulls, runs
    ops/setup and migrates."""
    text = README.read_text()
    assert _shell_commands(text)[:2] == [
        "ops/serve    # runs the service on http://127.0.0.1:8080 with an embedded PostgreSQL",
        "ops/test     # installs what it needs and runs lint, type checks and the whole test suite",
    ]
    upgrading = text.split("## Upgrading\n")[1].split("\n## ")[0]
    for step in ("coordinator backup", "git pull", "ops/setup", "coordinator migrate", "keys"):
        assert step in upgrading, step
    assert FIRST_TOKEN_COMMAND in text
