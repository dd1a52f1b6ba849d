"""The hash chain of each operation's stream (invariant 5), computed the same way everywhere.

An event's hash links three things, as RFC 8785 canonical JSON:

    body_hash = SHA-256(canonical({"event_id", "stream_id", "type", "schema_version", "data",
                                   "metadata", "occurred_at", "recorded_at"}))
    hash      = SHA-256(canonical({"body": hex(body_hash), "prev": hex(prev_hash),
                                   "version": version}))

where `prev_hash` is the hash of the stream's previous event (32 zero bytes for the first). The
database computes the second line inside the append (it alone knows the previous hash at commit),
so its canonical form is spelt out in SQL too; `link_hash` here is the reference. This module uses
only the standard library so that the offline verifier can import it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.canonical import canonical_json

GENESIS = bytes(32)


def timestamp(moment: datetime) -> str:
    """The one text form of a time inside a hash: UTC, microseconds, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("times in the record carry a zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content_hash(event_type: str, schema_version: int, data: dict[str, Any]) -> bytes:
    """What makes a re-sent event the same event: its type, schema version and payload."""
    document = {"type": event_type, "schema_version": schema_version, "data": data}
    return hashlib.sha256(canonical_json(document)).digest()


def body_hash(
    *,
    event_id: UUID,
    stream_id: UUID,
    event_type: str,
    schema_version: int,
    data: dict[str, Any],
    metadata: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
) -> bytes:
    """SHA-256 of everything recorded about one event except its place in the chain."""
    document = {
        "event_id": str(event_id),
        "stream_id": str(stream_id),
        "type": event_type,
        "schema_version": schema_version,
        "data": data,
        "metadata": metadata,
        "occurred_at": timestamp(occurred_at),
        "recorded_at": timestamp(recorded_at),
    }
    return hashlib.sha256(canonical_json(document)).digest()


def link_hash(body: bytes, prev: bytes, version: int) -> bytes:
    """The event's hash: its body hash chained to the previous event's hash at its version."""
    document = {"body": body.hex(), "prev": prev.hex(), "version": version}
    return hashlib.sha256(canonical_json(document)).digest()
