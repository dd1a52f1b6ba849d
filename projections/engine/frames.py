"""Messages between a rebuild and its helper processes: pickled values, each after its length.

Only ever between a rebuilding process and the helpers it started itself, over their pipes: a
pickle runs code when read, so nothing from anywhere else may come through here.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any, BinaryIO

_LENGTH = 8


def _framed(value: Any) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(_LENGTH, "big") + payload


async def write_frame(writer: asyncio.StreamWriter, value: Any) -> None:
    """Send `value` down a pipe of the event loop."""
    writer.write(_framed(value))
    await writer.drain()


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next value from a pipe of the event loop (IncompleteReadError once it is closed)."""
    size = int.from_bytes(await reader.readexactly(_LENGTH), "big")
    return pickle.loads(await reader.readexactly(size))  # noqa: S301  our own helper's message


def send(stream: BinaryIO, value: Any) -> None:
    """Send `value` down a blocking pipe."""
    stream.write(_framed(value))
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """The next value from a blocking pipe (EOFError once it is closed)."""
    header = stream.read(_LENGTH)
    if len(header) < _LENGTH:
        raise EOFError("the rebuilding process closed the pipe")
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the rebuilding process closed the pipe")
    return pickle.loads(payload)  # noqa: S301  from the process that started this one
