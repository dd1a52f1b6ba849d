"""The service's projections: built, run in the background, and followed by the live board feed.

Every replica runs a runner per projection; only the leader of each advances it (see
projections/engine/runner.py). Every replica listens for board changes so its own SSE clients are
fed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from coordinator.http.app_keys import DATABASE_URL, SETTINGS, SIGNAL, STORE
from coordinator.service.projection_set import build_projections
from events.feed.dedicated import keep_dedicated
from projections.engine.runner import ProjectionRunner
from projections.read_models.board import BOARD_CHANNEL

log = structlog.get_logger(__name__)


LIVE = frozenset({"board"})
"""Projections pushed to clients as they change; the others are read on request."""
GATHER_SECONDS = 0.05
"""How long a projection read on request waits after a batch, to apply what follows together."""


class BoardFeed:
    """Fans board changes, announced by the board's leader at commit, out to local SSE clients."""

    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self.listening = False
        # Clients that joined while nothing listened (at start, or while the database was away):
        # a change committed after their snapshot and before the LISTEN would never reach them.
        self._unheard: set[asyncio.Queue[dict[str, Any]]] = set()

    @property
    def clients(self) -> int:
        """How many SSE clients this replica is feeding."""
        return len(self._clients)

    def join(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every changed board row from now on."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        self._clients.add(queue)
        if not self.listening:
            self._unheard.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop feeding `queue`."""
        self._clients.discard(queue)
        self._unheard.discard(queue)

    def start(self, dsn: str) -> None:
        """Listen for board changes."""
        self._task = asyncio.create_task(self._listen(dsn), name="board-feed")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        rows = json.loads(str(payload))
        for queue in list(self._clients):
            for row in rows:
                if queue.qsize() >= queue.maxsize - 1:
                    # A client this far behind reconnects and resumes from its last event id.
                    self._clients.discard(queue)
                    queue.put_nowait(RESYNC)
                    break
                queue.put_nowait(row)

    async def _listen(self, dsn: str) -> None:
        await keep_dedicated(dsn, self._follow, name="board_feed")

    async def _follow(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(BOARD_CHANNEL, self._deliver)
            self.listening = True
            # Those who joined before this took their snapshot unheard: they resume from their
            # last event id, now that every change reaches them.
            self._disconnect(self._unheard)
            await lost.wait()
        finally:
            self.listening = False
            # Changes may have been missed: clients reconnect and resume from their event id.
            self.disconnect_all()

    def disconnect_all(self) -> None:
        """End every client's stream; each reconnects and resumes from its last event id."""
        self._disconnect(self._clients)

    def _disconnect(self, queues: set[asyncio.Queue[dict[str, Any]]]) -> None:
        for queue in list(queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(RESYNC)
            self._clients.discard(queue)
            self._unheard.discard(queue)


RESYNC: dict[str, Any] = {"resync": True}
RUNNERS = web.AppKey("runners", list[ProjectionRunner])
BOARD_FEED = web.AppKey("board_feed", BoardFeed)


async def run_projections(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the runners and the board feed; stop them on shutdown."""
    store = app[STORE]
    runners = [
        ProjectionRunner(
            projection,
            store,
            app[SIGNAL],
            app[DATABASE_URL],
            gather_seconds=0.0 if projection.name in LIVE else GATHER_SECONDS,
        )
        for projection in build_projections(
            store, cache_size=app[SETTINGS].projection_cache_operations
        )
    ]
    feed = BoardFeed()
    feed.start(app[DATABASE_URL])
    tasks = [
        asyncio.create_task(runner.run(), name=f"projection-{runner.projection.name}")
        for runner in runners
    ]
    app[RUNNERS] = runners
    app[BOARD_FEED] = feed
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await feed.stop()
