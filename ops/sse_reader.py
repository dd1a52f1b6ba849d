"""Reading a server-sent event stream (the board's `/v1/board/stream`) as a client does.

Shared by ops/load_test.py's board clients and tests/services.py's `BoardFollower`, so both read
the stream the same way. Only what the board sends is handled: `id`, `event` and `data` fields
(several `data` lines are joined), comments, and LF or CRLF line endings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True, slots=True)
class Message:
    """One dispatched event: its id (the last one the stream set), its type and its data.

    A client resumes with `Last-Event-ID` from the id of the last message it handled, never from
    an id line whose message has not arrived whole.
    """

    event_id: str | None
    event: str
    data: str


class SseParser:
    """Turns the stream's bytes, in whatever chunks they arrive, into complete messages."""

    def __init__(self) -> None:
        self._buffer = b""
        self._last_event_id: str | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Message]:
        """The messages `chunk` completes (an unfinished line waits for the next chunk)."""
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        messages = []
        for line in lines:
            message = self._line(line.removesuffix(b"\r").decode())
            if message is not None:
                messages.append(message)
        return messages

    def _line(self, line: str) -> Message | None:
        if not line:  # a blank line dispatches the event gathered so far
            message = None
            if self._data:
                message = Message(
                    self._last_event_id, self._event or "message", "\n".join(self._data)
                )
            self._event, self._data = "", []
            return message
        if line.startswith(":"):  # a comment (keep-alive)
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_event_id = value
        return None


async def message_batches(
    content: aiohttp.StreamReader, parser: SseParser
) -> AsyncIterator[list[Message]]:
    """The messages of each chunk as it arrives (a batch per chunk, possibly empty)."""
    async for chunk in content.iter_any():
        yield parser.feed(chunk)
