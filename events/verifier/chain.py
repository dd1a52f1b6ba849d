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

from events.verifier.canonical import (
    SAFE_INTEGER,
    NotCanonicalisable,
    canonical_json,
    canonical_text,
    json_string,
)

GENESIS = bytes(32)


def timestamp(moment: datetime) -> str:
    """The one text form of a time inside a hash: UTC, microseconds, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("times in the record carry a zone")
    moment = moment.astimezone(UTC)
    if moment.year < 1000:
        # strftime writes such a year without leading zeros; isoformat would pad it.
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, several times faster (an export writes 20,000).
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


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
    return body_hash_of_text(
        event_id=str(event_id),
        stream_id=str(stream_id),
        event_type=event_type,
        schema_version=schema_version,
        data=data,
        metadata=metadata,
        occurred_at=timestamp(occurred_at),
        recorded_at=timestamp(recorded_at),
    )


def body_hash_of_text(
    *,
    event_id: str,
    stream_id: str,
    event_type: str,
    schema_version: int,
    data: dict[str, Any],
    metadata: dict[str, Any],
    occurred_at: str,
    recorded_at: str,
) -> bytes:
    """`body_hash` over the text forms the hash covers: ids as `str(UUID)`, times as
    `timestamp` writes them. The verifier checks a bundle's text is that form, then hashes it.

    The document's canonical form is written member by member, in RFC 8785 order: the same text
    as canonical_json of the whole document (tests/test_canonical.py pins it), without building,
    walking and sorting it: 9.3 us against 10.2 us per event (ops/bench_fast_paths.py), and
    under load in the service the plain way doubled the body hash's share of processor time.
    """
    # Ids and times are text by type: their member form is json_string's, without _member's test.
    text = (
        f'{{"data":{canonical_text(data)},"event_id":{json_string(event_id)},'
        f'"metadata":{canonical_text(metadata)},"occurred_at":{json_string(occurred_at)},'
        f'"recorded_at":{json_string(recorded_at)},"schema_version":{_member(schema_version)},'
        f'"stream_id":{json_string(stream_id)},"type":{_member(event_type)}}}'
    )
    try:
        return hashlib.sha256(text.encode("utf-8")).digest()
    except UnicodeEncodeError as error:
        raise NotCanonicalisable("text holds a lone surrogate, which is not Unicode") from error


def link_hash(body: bytes, prev: bytes, version: int) -> bytes:
    """The event's hash: its body hash chained to the previous event's hash at its version.

    The canonical document `{"body": hex, "prev": hex, "version": n}` is written out here rather
    than built and encoded: 0.85 us against 3.1 us per event (ops/bench_fast_paths.py), on a
    path every append and every check of a bundle takes. tests/test_canonical.py pins it to
    `canonical_json` of that document.
    """
    text = f'{{"body":"{body.hex()}","prev":"{prev.hex()}","version":{_member(version)}}}'
    return hashlib.sha256(text.encode("ascii")).digest()


def _member(value: object) -> str:
    """The canonical form of one member's value, with the common cases written directly."""
    if type(value) is str:
        return json_string(value)
    if type(value) is int and -SAFE_INTEGER < value < SAFE_INTEGER:
        return str(value)
    return canonical_text(value)
