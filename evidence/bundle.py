"""The prosecution bundle (invariant 6): one operation's record as a self-checking JSON document.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.verifier.bundle_checks import BUNDLE_FORMAT, corrections_of
from events.verifier.chain import timestamp
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.consistency import CONSISTENCY_FORMAT
from events.verifier.findings import collector_paused
from events.verifier.merkle_proofs import leaf_hash
from events.verifier.stream_head import SignedStreamHead
from evidence.merkle_tree import MerkleTree


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
    checkpoint = signed_checkpoint.checkpoint
    size = checkpoint.tree_size
    if tree.root(size).hex() != checkpoint.root_hash:
        raise BundleError(f"the tree's root at size {size} is not the checkpoint's root")
    with collector_paused():
        events = [_as_hashed(stored) for stored in sorted(events_as_stored, key=_version)]
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
    head = stream_head.head
    if not events or (head.operation_id, head.version, head.head_hash, head.tree_size) != (
        str(operation_id),
        events[-1]["version"],
        events[-1]["hash"],
        size,
    ):
        raise BundleError("the signed stream head is not the head of these events in this log")
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
