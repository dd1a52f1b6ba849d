"""A client of the board's live stream that resumes with `Last-Event-ID` whenever it is cut off.

The load test's leadership boards (ops/load_test.py) and the fault tests' watcher
(tests/services.py) are this client: it keeps the highest version seen of each operation, and
counts its connections and what broke them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import aiohttp

try:  # run as a script from ops/, or imported as ops.board_follower
    from sse_reader import SseParser, message_batches
except ImportError:  # pragma: no cover - depends on how the caller was started
    from ops.sse_reader import SseParser, message_batches


class BoardFollower:
    """Follows `GET /v1/board/stream` in the background until stopped."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retry_seconds: float = 0.2,
        read_timeout_seconds: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.versions: dict[str, int] = {}
        self.events = 0
        self.connections = 0
        self.errors: Counter[str] = Counter()
        self.last_event_id: str | None = None
        self._retry_seconds = retry_seconds
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=read_timeout_seconds / 6, sock_read=read_timeout_seconds
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Follow the stream in the background."""
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def shows(self, expected: dict[str, int]) -> bool:
        """Whether every operation in `expected` was seen at (at least) its version."""
        return all(self.versions.get(key, 0) >= version for key, version in expected.items())

    def received(self, row: dict[str, Any], _now: float) -> bool:
        """Note a board row that arrived at `now` (perf_counter); whether it was news."""
        self.events += 1
        key, version = row["operation_id"], row["version"]
        if version <= self.versions.get(key, 0):
            return False
        self.versions[key] = version
        return True

    async def _follow(self) -> None:
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            while True:
                headers = {"Authorization": f"Bearer {self.token}"}
                if self.last_event_id is not None:
                    headers["Last-Event-ID"] = self.last_event_id
                try:
                    async with session.get(
                        f"{self.base_url}/v1/board/stream", headers=headers
                    ) as stream:
                        if stream.status != 200:
                            self.errors[str(stream.status)] += 1
                        else:
                            self.connections += 1
                            await self._read(stream)
                except (aiohttp.ClientError, TimeoutError) as error:
                    self.errors[type(error).__name__] += 1
                await asyncio.sleep(self._retry_seconds)

    async def _read(self, stream: aiohttp.ClientResponse) -> None:
        parser = SseParser()
        async for messages in message_batches(stream.content, parser):
            now = time.perf_counter()
            for message in messages:
                self.received(json.loads(message.data), now)
                if message.event_id is not None:
                    self.last_event_id = message.event_id
