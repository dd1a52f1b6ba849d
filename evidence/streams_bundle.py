"""The bundle of several streams: a prosecution's stream with the operations and survivors' cases
linked to it, every event proven in one signed checkpoint (events/verifier/multi_stream.py checks
it). Some events may be stubs, their data and metadata withheld and their body hash in their place:

    streams bundle = {"format": "homeward-streams-bundle/2", "primary_stream_id", "exported_at",
                      "as_of"?, "streams": [{"stream_id", "kind"?, "events": [event or stub, ...],
                                             "corrections", "stream_head"}, ...],
                      "checkpoint", "checkpoint_note"?, "checkpoint_timestamp"?, "public_keys",
                      "statement", "manifest"}
    stub = {event_id, stream_id, version, position, type, schema_version, occurred_at,
            recorded_at, prev_hash, hash, body_hash, leaf_index, inclusion_proof, "stub": true}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.verifier.chain import body_hash_of_text, timestamp
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.event_checks import STUB, corrections_of
from events.verifier.findings import collector_paused
from events.verifier.outline import STREAMS_BUNDLE_FORMAT
from events.verifier.stream_head import SignedStreamHead
from evidence.bundle import HOW_TO_CHECK
from evidence.bundle_parts import (
    BundleError,
    as_hashed,
    check_head,
    check_root,
    key_records,
    optional_as_of,
    optional_note,
    optional_timestamp,
    prove,
    version_of,
    with_manifest,
)
from evidence.keyring import SigningKeyring
from evidence.merkle_tree import MerkleTree

# A stub's fields before its body hash: an event's, without its data and metadata.
_STUB_KEPT = (
    "event_id",
    "stream_id",
    "version",
    "position",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class StreamToBundle:
    """One stream of a bundle of several: its events as stored, its head signed at export, and
    what kind of stream it is (a reader's aid: "prosecution", "operation", "survivor_case")."""

    stream_id: UUID | str
    events_as_stored: Sequence[Mapping[str, Any]]
    stream_head: SignedStreamHead
    kind: str | None = None


def build_streams_bundle(
    primary_stream_id: UUID | str,
    streams: Sequence[StreamToBundle],
    tree: MerkleTree,
    signed_checkpoint: SignedCheckpoint,
    public_keys: Mapping[str, PublicKeyRecord],
    *,
    keyring: SigningKeyring,
    stub: Callable[[str, UUID], bool] | None = None,
    exported_at: datetime | None = None,
    as_of: datetime | None = None,
    check_leaves: bool = True,
    checkpoint_note: str | None = None,
    checkpoint_timestamp: bytes | None = None,
) -> dict[str, Any]:
    """Assemble the bundle of several streams, every event proven against `signed_checkpoint`,
    and sign its manifest with `keyring`'s active key.

    Streams keep the order given; `primary_stream_id` must be one of them. `stub(type,
    stream_id)` picks the events written as stubs: everything but their data and metadata, with
    their body hash instead, so the chain and the proofs still verify while what they say stays
    out of the file. The builder refuses what `build_bundle` refuses, per stream.
    """
    size = check_root(tree, signed_checkpoint)
    ids = [str(stream.stream_id) for stream in streams]
    if len(set(ids)) != len(ids) or str(primary_stream_id) not in ids:
        raise BundleError("the streams must be distinct and include the primary stream")
    with collector_paused():
        listed = [
            [as_hashed(stored) for stored in sorted(stream.events_as_stored, key=version_of)]
            for stream in streams
        ]
        # All proofs in one pass: the streams' proofs share the nodes near the root.
        prove(
            [event for events in listed for event in events], tree, size, check_leaves=check_leaves
        )
        documents = []
        for stream, stream_id, events in zip(streams, ids, listed, strict=True):
            check_head(stream.stream_head, stream_id, events, size)
            stream_uuid = UUID(stream_id)
            written = [
                _as_stub(event) if stub is not None and stub(event["type"], stream_uuid) else event
                for event in events
            ]
            document: dict[str, Any] = {"stream_id": stream_id}
            if stream.kind is not None:
                document["kind"] = stream.kind
            document |= {
                "events": written,
                "corrections": corrections_of(written),
                "stream_head": stream.stream_head.to_json(),
            }
            documents.append(document)
    exported = timestamp(exported_at or datetime.now(UTC))
    counts = [len(events) for events in listed]
    bundle = {
        "format": STREAMS_BUNDLE_FORMAT,
        "primary_stream_id": str(primary_stream_id),
        "exported_at": exported,
        **optional_as_of(as_of),
        "streams": documents,
        "checkpoint": signed_checkpoint.to_json(),
        **optional_note(checkpoint_note),
        **optional_timestamp(checkpoint_timestamp),
        "public_keys": key_records(public_keys),
        "statement": streams_statement(
            str(primary_stream_id), counts, _stubs(documents), signed_checkpoint, exported
        ),
    }
    with collector_paused():
        return with_manifest(bundle, keyring)


def streams_statement(
    primary_stream_id: str,
    counts: list[int],
    stubs: int,
    signed_checkpoint: SignedCheckpoint,
    exported_at: str,
) -> str:
    """What a bundle of several streams proves and how anyone can check it."""
    checkpoint = signed_checkpoint.checkpoint
    return (
        f"This file holds {sum(counts)} recorded events of {len(counts)} streams, exported at "
        f"{exported_at}: the stream {primary_stream_id} and the streams linked to it. Each "
        "stream is checked as a one-stream bundle is: each event's hash is SHA-256 over the "
        "RFC 8785 canonical JSON of its recorded fields (event_id, stream_id, type, "
        "schema_version, data, metadata, occurred_at, recorded_at), chained to the previous "
        "event's hash and to its version from version 1, and its inclusion proof leads to the "
        f"root of Homeward's Merkle log at {checkpoint.tree_size} events, which Ed25519 key "
        f"{checkpoint.key_id} signed at {checkpoint.timestamp}; each stream's head, signed at "
        "export, shows that its last event here was its last. "
        f"{stubs} events are stubs: their data and metadata are withheld and their body hash "
        "stands in their place, so a stub shows that an event of that place in its stream was "
        "recorded unchanged, but not what it said. " + HOW_TO_CHECK + " The checks do not show "
        "that what was recorded is true."
    )


def _as_stub(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a stub: all but its data and metadata, and the body hash they hashed to."""
    body = body_hash_of_text(
        event_id=event["event_id"],
        stream_id=event["stream_id"],
        event_type=event["type"],
        schema_version=event["schema_version"],
        data=event["data"],
        metadata=event["metadata"],
        occurred_at=event["occurred_at"],
        recorded_at=event["recorded_at"],
    )
    return {
        **{name: event[name] for name in _STUB_KEPT},
        "body_hash": body.hex(),
        "leaf_index": event["leaf_index"],
        "inclusion_proof": event["inclusion_proof"],
        STUB: True,
    }


def _stubs(documents: list[dict[str, Any]]) -> int:
    return sum(STUB in event for document in documents for event in document["events"])
