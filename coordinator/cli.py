"""The `coordinator` command line: serve, migrate, and the administrative commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from coordinator.app import create_app
from coordinator.database import database_url
from coordinator.logging import configure_logging
from coordinator.settings import Settings
from events.migrate import migrate

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
    return parser


def _settings(arguments: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("database_url", "data_dir", "host", "port"):
        value = getattr(arguments, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def serve(settings: Settings) -> None:
    """Run the service until SIGINT or SIGTERM, letting in-flight requests finish."""
    with database_url(settings) as url:
        log.info("service_starting", host=settings.host, port=settings.port)
        web.run_app(
            create_app(settings, url),
            host=settings.host,
            port=settings.port,
            shutdown_timeout=settings.shutdown_timeout_seconds,
            print=None,
            access_log=None,
        )
        log.info("service_stopped")


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
        serve(settings)
    elif arguments.command == "migrate":
        with database_url(settings) as url:
            applied = asyncio.run(_migrate(url, settings.app_role))
        print(f"applied migrations: {applied or 'none (up to date)'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
