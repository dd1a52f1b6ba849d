"""A lean HTTP/1.1 client for load generators: one keep-alive connection per worker.

A benchmark measures the service, not its client; on a small machine an ordinary client library
spends as much CPU per request as the service's own handler, and takes it from the service. This
one does only what a load generator needs: write a request, read one answer with a
Content-Length (the service always sends one for these calls), keep the connection open.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


class ClientError(Exception):
    """The connection closed or the answer could not be read."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: its status and body."""

    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101  a TCP connection
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ClientError("the service closed the connection")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._lost)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        length = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            self._waiter.set_exception(ClientError(f"no Content-Length in {head[0]!r}"))
            return
        if len(self._buffer) < end + 4 + length:
            return
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        self._waiter.set_result(Answer(int(head[0].split(" ", 2)[1]), body))

    async def request(self, head: bytes, body: bytes) -> Answer:
        if self._lost is not None or self._transport is None:
            raise ClientError("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(head + body)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LeanClient:
    """`size` keep-alive connections to one service; caller `n` uses connection `n`."""

    def __init__(self, base: str, size: int, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._size = size
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._connections: list[_Connection] = []

    async def open(self) -> None:
        """Open every connection."""
        loop = asyncio.get_running_loop()
        for _ in range(self._size):
            _, connection = await loop.create_connection(_Connection, self._host, self._port)
            self._connections.append(connection)

    async def post(self, n: int, path: str, body: bytes) -> Answer:
        """POST `body` (JSON) to `path` on connection `n`."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._fixed}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        return await self._connections[n].request(head, body)

    async def close(self) -> None:
        """Close every connection."""
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        await asyncio.sleep(0)
