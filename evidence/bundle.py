"""The prosecution bundle (invariant 6): one operation's record, or a prosecution's record with
the streams linked to it, as a self-checking JSON document.

A bundle holds the operation's events exactly as stored, each with its hash, its place in the Merkle
log and an inclusion proof into a signed checkpoint, plus the checkpoint, the signed stream head
(the last version and hash at export) and the public keys. `events.verifier.bundle_checks` checks it
with no database and no network. A consistency document carries a newer checkpoint with a proof that
its log extends an older checkpoint's log.

    bundle = {"format": "homeward-bundle/2", "operation_id", "exported_at",
              "events": [{event_id, stream_id, version, position, type, schema_version, data,
                          metadata, occurred_at, recorded_at, prev_hash, hash, leaf_index,
                          inclusion_proof: [hex, ...]}, ...],
              "corrections": {original event_id: [correcting event_id, ...]},
              "checkpoint": {"checkpoint": {...}, "signature"},
              "stream_head": {"head": {...}, "signature"}, "public_keys": {...},
              "statement": text}
    consistency = {"format": "homeward-consistency/1", "checkpoint": {...}, "public_keys": {...},
                   "consistency": {"old_size", "new_size", "proof": [hex, ...]}}

A bundle of several streams (events/verifier/multi_stream.py) holds each stream's events,
corrections and signed head, all proven in one checkpoint; some events may be stubs, their data
and metadata withheld and their body hash in their place:

    streams bundle = {"format": "homeward-streams-bundle/1", "primary_stream_id", "exported_at",
                      "streams": [{"stream_id", "kind"?, "events": [event or stub, ...],
                                   "corrections", "stream_head"}, ...],
                      "checkpoint", "public_keys", "statement"}
    stub = {event_id, stream_id, version, position, type, schema_version, occurred_at,
            recorded_at, prev_hash, hash, body_hash, leaf_index, inclusion_proof, "stub": true}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.verifier.bundle_checks import BUNDLE_FORMAT
from events.verifier.chain import body_hash_of_text, timestamp
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.consistency import CONSISTENCY_FORMAT
from events.verifier.event_checks import STUB, corrections_of
from events.verifier.findings import collector_paused
from events.verifier.merkle_proofs import leaf_hash
from events.verifier.multi_stream import STREAMS_BUNDLE_FORMAT
from events.verifier.stream_head import SignedStreamHead
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


class BundleError(ValueError):
    """The events, tree and checkpoint given to the builder do not belong together."""


def build_bundle(
    operation_id: UUID | str,
    events_as_stored: Iterable[Mapping[str, Any]],
    tree: MerkleTree,
    signed_checkpoint: SignedCheckpoint,
    public_keys: Mapping[str, PublicKeyRecord],
    *,
    stream_head: SignedStreamHead,
    exported_at: datetime | None = None,
    check_leaves: bool = True,
) -> dict[str, Any]:
    """Assemble the bundle of one operation's events, proven against `signed_checkpoint`.

    Each stored event is a mapping with at least the fields an event has in the bundle (UUIDs,
    datetimes and bytes are written in the text form that was hashed). The builder refuses
    events that are not where they claim to be in `tree`, or that do not end at `stream_head`,
    so a wrong export fails here, not in front of a court. Without `check_leaves` it leaves
    finding an event that is not its leaf to the verifier, which names how it was changed.
    """
    size = _check_root(tree, signed_checkpoint)
    with collector_paused():
        events = [_as_hashed(stored) for stored in sorted(events_as_stored, key=_version)]
        _prove(events, tree, size, check_leaves=check_leaves)
    _check_head(stream_head, str(operation_id), events, size)
    exported = timestamp(exported_at or datetime.now(UTC))
    return {
        "format": BUNDLE_FORMAT,
        "operation_id": str(operation_id),
        "exported_at": exported,
        "events": events,
        "corrections": corrections_of(events),
        "checkpoint": signed_checkpoint.to_json(),
        "stream_head": stream_head.to_json(),
        "public_keys": {key_id: dict(record) for key_id, record in public_keys.items()},
        "statement": statement(str(operation_id), len(events), signed_checkpoint, exported),
    }


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
    stub: Callable[[str, UUID], bool] | None = None,
    exported_at: datetime | None = None,
    check_leaves: bool = True,
) -> dict[str, Any]:
    """Assemble the bundle of several streams, every event proven against `signed_checkpoint`.

    Streams keep the order given; `primary_stream_id` must be one of them. `stub(type,
    stream_id)` picks the events written as stubs: everything but their data and metadata, with
    their body hash instead, so the chain and the proofs still verify while what they say stays
    out of the file. The builder refuses what `build_bundle` refuses, per stream.
    """
    size = _check_root(tree, signed_checkpoint)
    ids = [str(stream.stream_id) for stream in streams]
    if len(set(ids)) != len(ids) or str(primary_stream_id) not in ids:
        raise BundleError("the streams must be distinct and include the primary stream")
    with collector_paused():
        listed = [
            [_as_hashed(stored) for stored in sorted(stream.events_as_stored, key=_version)]
            for stream in streams
        ]
        # All proofs in one pass: the streams' proofs share the nodes near the root.
        _prove(
            [event for events in listed for event in events], tree, size, check_leaves=check_leaves
        )
        documents = []
        for stream, stream_id, events in zip(streams, ids, listed, strict=True):
            _check_head(stream.stream_head, stream_id, events, size)
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
    return {
        "format": STREAMS_BUNDLE_FORMAT,
        "primary_stream_id": str(primary_stream_id),
        "exported_at": exported,
        "streams": documents,
        "checkpoint": signed_checkpoint.to_json(),
        "public_keys": {key_id: dict(record) for key_id, record in public_keys.items()},
        "statement": streams_statement(
            str(primary_stream_id), counts, _stubs(documents), signed_checkpoint, exported
        ),
    }


def build_consistency(
    signed_checkpoint: SignedCheckpoint,
    old_size: int,
    tree: MerkleTree,
    public_keys: Mapping[str, PublicKeyRecord],
) -> dict[str, Any]:
    """A newer checkpoint with the proof that its log extends the log at `old_size`."""
    new_size = signed_checkpoint.checkpoint.tree_size
    if tree.root(new_size).hex() != signed_checkpoint.checkpoint.root_hash:
        raise BundleError(f"the tree's root at size {new_size} is not the checkpoint's root")
    return {
        "format": CONSISTENCY_FORMAT,
        "checkpoint": signed_checkpoint.to_json(),
        "public_keys": {key_id: dict(record) for key_id, record in public_keys.items()},
        "consistency": {
            "old_size": old_size,
            "new_size": new_size,
            "proof": [node.hex() for node in tree.consistency_proof(old_size, new_size)],
        },
    }


def statement(
    operation_id: str, count: int, signed_checkpoint: SignedCheckpoint, exported_at: str
) -> str:
    """What the bundle proves and how anyone can check it, for the reader of the file."""
    checkpoint = signed_checkpoint.checkpoint
    return (
        f"This file holds the {count} recorded events of operation {operation_id}, "
        f"exported at {exported_at}. Each event's hash is SHA-256 over the RFC 8785 canonical "
        "JSON of its recorded fields (event_id, stream_id, type, schema_version, data, metadata, "
        "occurred_at, recorded_at), chained to the previous event's hash and to its version; the "
        "first event chains to 32 zero bytes. Each event hash is a leaf of Homeward's "
        "append-only Merkle log (RFC 9162, section 2.1), and its inclusion proof leads to the "
        f"root of the log at {checkpoint.tree_size} events, which Ed25519 key {checkpoint.key_id} "
        f"signed at {checkpoint.timestamp}. `coordinator audit verify FILE` checks all of this "
        "with no database and no network and names the first event that fails; compare the "
        "key id with the one Homeward publishes. These checks show that the events here are "
        "recorded unchanged, in order and without gaps, and the stream head, signed by the same "
        "key at export, shows that the last event here was the operation's last when exported. "
        "Corrections are events of their own (EventCorrected, naming the event they correct); "
        "the original stays, and `corrections` lists them beside it. The checks do not show "
        "that what was recorded is true, nor who held a token beyond its name and role."
    )


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
        f"{checkpoint.key_id} signed at {checkpoint.timestamp}; each stream's head, signed by "
        "the same key at export, shows that its last event here was its last. "
        f"{stubs} events are stubs: their data and metadata are withheld and their body hash "
        "stands in their place, so a stub shows that an event of that place in its stream was "
        "recorded unchanged, but not what it said; its type and times are as exported. "
        "`coordinator audit verify FILE` checks all of this with no database and no network "
        "and names the first stream and event that fail; compare the key id with the one "
        "Homeward publishes. The checks do not show that what was recorded is true."
    )


def _check_root(tree: MerkleTree, signed_checkpoint: SignedCheckpoint) -> int:
    """The checkpoint's tree size, once the tree's root at that size is the checkpoint's."""
    size = signed_checkpoint.checkpoint.tree_size
    if tree.root(size).hex() != signed_checkpoint.checkpoint.root_hash:
        raise BundleError(f"the tree's root at size {size} is not the checkpoint's root")
    return size


def _prove(
    events: list[dict[str, Any]], tree: MerkleTree, size: int, *, check_leaves: bool
) -> None:
    """Give each event its inclusion proof at `size`, refusing one that is not in the log there
    (with `check_leaves`, one that is not its leaf)."""
    for event in events:
        index = event["leaf_index"]
        if not 0 <= index < size:
            raise BundleError(f"event {event['event_id']} is not in the log at size {size}")
        if check_leaves and tree.leaf_hash_at(index) != leaf_hash(bytes.fromhex(event["hash"])):
            raise BundleError(f"leaf {index} of the log is not event {event['event_id']}")
    # All proofs in one pass; an operation's proofs share most nodes: each is written once.
    proofs = tree.inclusion_proofs([event["leaf_index"] for event in events], size)
    texts: dict[bytes, str] = {}
    for event, proof in zip(events, proofs, strict=True):
        event["inclusion_proof"] = [
            texts.get(node) or texts.setdefault(node, node.hex()) for node in proof
        ]


def _check_head(
    stream_head: SignedStreamHead, stream_id: str, events: list[dict[str, Any]], size: int
) -> None:
    head = stream_head.head
    if not events or (head.operation_id, head.version, head.head_hash, head.tree_size) != (
        stream_id,
        events[-1]["version"],
        events[-1]["hash"],
        size,
    ):
        raise BundleError("the signed stream head is not the head of these events in this log")


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


def _as_hashed(stored: Mapping[str, Any]) -> dict[str, Any]:
    """One stored event as the bundle holds it: ids, times and hashes as the text hashed."""
    # Field by field rather than a type test per value: a bundle holds ten thousand events.
    return {
        "event_id": _id(stored["event_id"]),
        "stream_id": _id(stored["stream_id"]),
        "version": stored["version"],
        "position": stored["position"],
        "type": stored["type"],
        "schema_version": stored["schema_version"],
        "data": stored["data"],
        "metadata": stored["metadata"],
        "occurred_at": _time(stored["occurred_at"]),
        "recorded_at": _time(stored["recorded_at"]),
        "prev_hash": _hex(stored["prev_hash"]),
        "hash": _hex(stored["hash"]),
        "leaf_index": int(stored["leaf_index"]),
    }


def _version(stored: Mapping[str, Any]) -> int:
    return int(stored["version"])


def _id(value: UUID | str) -> str:
    return value if type(value) is str else str(value)


def _time(value: datetime | str) -> str:
    return value if isinstance(value, str) else timestamp(value)


def _hex(value: bytes | memoryview | str) -> str:
    return value if isinstance(value, str) else bytes(value).hex()
