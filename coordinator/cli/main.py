"""The `coordinator` command line: serve, migrate, and the administrative commands."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import os
import shlex
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from coordinator.cli import (
    audit_commands,
    backup_commands,
    import_command,
    key_commands,
    rebuild_command,
    report_command,
    witness_command,
)
from coordinator.cli.collector import settle_collector
from coordinator.cli.workers import supervise
from coordinator.database import database_url
from coordinator.domain.actors import Role
from coordinator.errors import CoordinatorError, StartupRefused
from coordinator.http.app import create_app
from coordinator.http.app_keys import POOL
from coordinator.logging import configure_logging
from coordinator.service.tokens import create_token, list_tokens, revoke_token
from coordinator.settings import Settings
from events.store.migrate import migrate, migrated_pool

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coordinator", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: embedded PostgreSQL)")
    parser.add_argument("--data-dir", help="folder for the embedded database and key files")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    commands.add_parser("migrate", help="bring the database schema up to date")
    token = commands.add_parser("token", help="create, list and revoke access tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; it is printed once")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--name", required=True, help="who holds it, e.g. field-team-lao-cai")
    create.add_argument(
        "--team",
        help="a field token's team: it reads and records only operations its team is assigned "
        "to (without one, a field token is not scoped)",
    )
    token_commands.add_parser("list", help="list tokens (never the tokens themselves)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    rebuild_command.add_arguments(commands)
    backup_commands.add_arguments(commands)
    key_commands.add_arguments(commands)
    import_command.add_arguments(commands)
    audit_commands.add_arguments(commands)
    witness_command.add_arguments(commands)
    report_command.add_arguments(commands)
    return parser


def _settings(arguments: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("database_url", "data_dir", "host", "port"):
        value = getattr(arguments, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (Linux, macOS), else asyncio's own."""
    try:
        import uvloop  # noqa: PLC0415  optional: not on Windows
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


FIRST_TOKEN_NAME = "first-admin"


def _port_taken(host: str, port: int) -> bool:
    """Whether another program already listens on `host:port`, asked before anything starts."""
    if port == 0:
        return False
    try:
        with socket.create_server((host, port)):
            return False
    except OSError as error:
        return error.errno == errno.EADDRINUSE  # another error (a name): run_app will say it


def _port_taken_sentence(settings: Settings) -> str:
    return (
        f"error: {settings.host}:{settings.port} is already in use; stop what listens there "
        "or serve on another port with --port or COORDINATOR_PORT"
    )


def _own_command() -> str:
    """This program as the user started it, to repeat in advice (`.venv/bin/coordinator`)."""
    program = Path(sys.argv[0])
    if program.name != "coordinator":  # python -m coordinator
        program = Path(sys.executable)
        suffix = " -m coordinator"
    else:
        suffix = ""
    relative = os.path.relpath(program.absolute())
    shown = relative if "/" in relative and not relative.startswith("..") else str(program)
    return shlex.quote(shown) + suffix


async def _settle_collector(_app: web.Application) -> None:
    """After startup: the collector's settings for a long-running process."""
    frozen = settle_collector()
    log.info("collector_settled", frozen_objects=frozen, thresholds=list(gc.get_threshold()))


@dataclass
class _Welcome:
    """What `serve` prints, beside its log, once it listens: where, and how to make the first
    token while there is none."""

    settings: Settings
    tokens: int = 0

    async def count_tokens(self, app: web.Application) -> None:
        """Count the active tokens (an on_startup hook: after migrations, before listening)."""
        self.tokens = sum(info.revoked_at is None for info in await list_tokens(app[POOL]))

    def first_token_command(self) -> str:
        """The command that creates the first token, with the data folder `serve` was given."""
        data_dir = ""
        if self.settings.database_url is None and self.settings.data_dir != Path(".coordinator"):
            data_dir = f" --data-dir {shlex.quote(str(self.settings.data_dir))}"
        return f"{_own_command()}{data_dir} token create --role admin --name {FIRST_TOKEN_NAME}"

    def print(self, _banner: str) -> None:
        """aiohttp's `print` hook, called once every socket listens."""
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        url = f"http://{host}:{self.settings.port}"
        print(f"Homeward is listening on {url} (the API is described at {url}/docs)")
        if not self.tokens:
            print(f"No token yet; create the first one with: {self.first_token_command()}")
        sys.stdout.flush()


def serve(settings: Settings) -> int:
    """Run the service until SIGINT or SIGTERM, letting in-flight requests finish.

    With several workers this process supervises them (coordinator/cli/workers.py).
    """
    if not settings.reuse_port and _port_taken(settings.host, settings.port):
        print(_port_taken_sentence(settings), file=sys.stderr)
        return 1
    with database_url(settings, owner=True) as url:
        if settings.workers > 1:
            log.info(
                "service_starting", host=settings.host, port=settings.port, workers=settings.workers
            )
            code = supervise(settings, url)
            log.info("service_stopped")
            return code
        log.info("service_starting", host=settings.host, port=settings.port)
        app = create_app(settings, url)
        welcome = _Welcome(settings)
        app.on_startup.append(welcome.count_tokens)
        app.on_startup.append(_settle_collector)
        try:
            web.run_app(
                app,
                host=settings.host,
                port=settings.port,
                shutdown_timeout=settings.shutdown_timeout_seconds,
                print=None if settings.reuse_port else welcome.print,  # not once per worker
                access_log=None,
                reuse_port=settings.reuse_port or None,
                loop=event_loop(),
            )
        except StartupRefused as refused:
            print(f"error: {refused}", file=sys.stderr)
            return 1
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            # Taken by another program between the check above and the bind.
            print(_port_taken_sentence(settings), file=sys.stderr)
            return 1
        log.info("service_stopped")
    return 0


async def _tokens(url: str, arguments: argparse.Namespace) -> int:
    pool = await migrated_pool(url, max_size=2)
    try:
        if arguments.token_command == "create":
            token = await create_token(
                pool, arguments.name, Role(arguments.role), team=arguments.team
            )
            team = f", team {arguments.team}" if arguments.team else ""
            print(f"token for {arguments.name} ({arguments.role}{team}); shown once, keep it safe:")
            print(token)
        elif arguments.token_command == "list":
            for info in await list_tokens(pool):
                state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
                team = info.team or ("(no team: not scoped)" if info.role is Role.FIELD else "-")
                created = f"{info.created_at:%Y-%m-%d}"
                print(f"{info.name}\t{info.role.value}\t{created}\t{state}\t{team}")
        else:
            await revoke_token(pool, arguments.name)
            print(f"revoked {arguments.name}")
    except CoordinatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    return 0


async def _migrate(url: str, app_role: str | None) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        return await migrate(connection, app_role=app_role)
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coordinator` console script."""
    arguments = _parser().parse_args(argv)
    settings = _settings(arguments)
    configure_logging(settings.log_format, settings.log_level)
    if arguments.command == "serve":
        return serve(settings)
    if arguments.command == "migrate":
        with database_url(settings) as url:
            applied = asyncio.run(_migrate(url, settings.app_role))
        print(f"applied migrations: {applied or 'none (up to date)'}")
    elif arguments.command == "projections":
        with database_url(settings) as url:
            return asyncio.run(rebuild_command.run(url, arguments))
    elif arguments.command == "token":
        with database_url(settings) as url:
            return asyncio.run(_tokens(url, arguments))
    elif arguments.command == "import-csv":
        with database_url(settings) as url:
            return asyncio.run(import_command.run(url, arguments))
    elif arguments.command == "keys":
        with database_url(settings) as url:
            return asyncio.run(key_commands.run(url, settings, retire=arguments.retire))
    elif arguments.command in {"backup", "restore"}:
        return backup_commands.run(settings, arguments)
    elif arguments.command == "audit":
        return audit_commands.run(settings, arguments)
    elif arguments.command == "witness":
        return witness_command.run(arguments)
    elif arguments.command == "report":
        with database_url(settings) as url:
            return asyncio.run(report_command.run(url, arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
