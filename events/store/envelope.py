"""What the store takes in and gives back: new events, recorded events, and read cursors.

The envelope (id, stream, version, position, times, who recorded it) is kept apart from the
payload (`data`), which the store treats as opaque JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: the payload and who recorded it; the store adds the rest.

    `content_hash` identifies the content for idempotent re-sends. When the caller encrypts parts
    of `data` (so a re-send differs byte for byte) it passes the hash of what the client sent.
    """

    event_id: UUID
    type: str
    data: JSONObject
    occurred_at: datetime
    schema_version: int = 1
    metadata: JSONObject = field(default_factory=dict)
    content_hash: bytes | None = None


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A reader's place in the global order: (epoch, transaction id, position).

    Readers order and checkpoint by this triple, never by position alone, because a transaction
    that began earlier may commit later with a lower position (invariant 3).
    """

    epoch: int
    xid: int
    position: int

    def __str__(self) -> str:
        return f"{self.epoch}.{self.xid}.{self.position}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Read a cursor from its `epoch.xid.position` form."""
        epoch, xid, position = (int(part) for part in text.split("."))
        return cls(epoch, xid, position)


START = Cursor(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as the log holds it."""

    event_id: UUID
    stream_id: UUID
    version: int
    position: int
    cursor: Cursor
    type: str
    schema_version: int
    data: JSONObject
    metadata: JSONObject
    occurred_at: datetime
    recorded_at: datetime
    content_hash: bytes
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class Logged:
    """An event's place in the global order and its hash, without its payload (the Merkle log's
    view of the log, read many times faster than whole events)."""

    cursor: Cursor
    position: int
    stream_id: UUID
    version: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    """The answer to an append: the stream's version after it and each event's place."""

    stream_id: UUID
    version: int
    events: tuple[AppendedEvent, ...]
    duplicate: bool


@dataclass(frozen=True, slots=True)
class AppendedEvent:
    """One appended (or already recorded) event's id, version and global position."""

    event_id: UUID
    version: int
    position: int
    hash: bytes
