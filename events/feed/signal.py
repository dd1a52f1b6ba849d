"""Wake-ups for readers of the log: local appends, and other processes' appends via NOTIFY.

NOTIFY takes a cluster-wide lock at commit and so would serialise every append if sent inside
it. Appends therefore only flag that the log grew; one task per process sends a coalesced NOTIFY
from its own connection afterwards. A wake-up is only a hint: readers always recover from their
durable cursor, and wait with a timeout so a lost notification delays them at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import asyncpg
import structlog

from events.feed.dedicated import keep_dedicated

CHANNEL = "homeward_log"
_RECONNECT_SECONDS = 1.0

log = structlog.get_logger(__name__)


class Waker:
    """One reader's wake-up flag: set when the log may have grown since it was cleared."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def clear(self) -> None:
        """Clear before reading, so a growth during the read is not missed."""
        self._event.clear()

    def set(self) -> None:
        """Mark that the log may have grown."""
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Wait until set, or `seconds` at most."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


class LogSignal:
    """This process's hub of wake-ups; `start` connects it to the other processes."""

    def __init__(self) -> None:
        self._wakers: set[Waker] = set()
        self._dirty = asyncio.Event()
        self._identity = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def register(self) -> Waker:
        """A new waker that every growth of the log sets."""
        waker = Waker()
        self._wakers.add(waker)
        return waker

    def unregister(self, waker: Waker) -> None:
        """Stop waking `waker`."""
        self._wakers.discard(waker)

    def appended(self) -> None:
        """Called after a local append commits: wake local readers, then tell the others."""
        self._wake_all()
        self._dirty.set()

    def _wake_all(self) -> None:
        for waker in self._wakers:
            waker.set()

    def start(self, dsn: str) -> None:
        """Begin listening for, and sending, notifications on `dsn`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(dsn), name="log-signal")

    async def stop(self) -> None:
        """Stop the notification task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, dsn: str) -> None:
        await keep_dedicated(dsn, self._listen, name="log_signal", retry_seconds=_RECONNECT_SECONDS)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        try:
            await connection.add_listener(CHANNEL, self._on_notification)
            self.connected = True
            # Anything may have been appended while we were away.
            self._wake_all()
            await self._publish(connection)
        finally:
            self.connected = False

    async def _publish(self, connection: asyncpg.Connection) -> None:
        while True:
            await self._dirty.wait()
            # Every append flagged before this point is covered by the one NOTIFY below.
            self._dirty.clear()
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, self._identity)

    def _on_notification(
        self, _connection: object, _pid: int, _channel: str, payload: object
    ) -> None:
        if payload != self._identity:
            self._wake_all()
