"""The prosecution bundle (invariant 6): one operation's record as a self-checking JSON document,
and the consistency document of a newer checkpoint.

A bundle holds the operation's events exactly as stored, each with its hash, its place in the Merkle
log and an inclusion proof into a signed checkpoint, plus the checkpoint, the signed stream head
(the last version and hash at export), the public keys and the signed manifest over all of it.
`events.verifier.bundle_checks` checks it with no database and no network. A consistency document
carries a newer checkpoint with a proof that its log extends an older checkpoint's log. A bundle
of several streams is evidence/streams_bundle.py's.

    bundle = {"format": "homeward-bundle/3", "operation_id", "exported_at", "as_of"?,
              "events": [{event_id, stream_id, version, position, type, schema_version, data,
                          metadata, occurred_at, recorded_at, prev_hash, hash, leaf_index,
                          inclusion_proof: [hex, ...]}, ...],
              "corrections": {original event_id: [correcting event_id, ...]},
              "checkpoint": {"checkpoint": {...}, "signature"}, "checkpoint_note"?: text,
              "checkpoint_timestamp"?: base64 DER,
              "stream_head": {"head": {...}, "signature"}, "public_keys": {...},
              "statement": text, "manifest": {"manifest": {...}, "signature"}}
    consistency = {"format": "homeward-consistency/1", "checkpoint": {...}, "public_keys": {...},
                   "consistency": {"old_size", "new_size", "proof": [hex, ...]}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from events.verifier.chain import timestamp
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.consistency import CONSISTENCY_FORMAT
from events.verifier.event_checks import corrections_of
from events.verifier.findings import collector_paused
from events.verifier.outline import BUNDLE_FORMAT
from events.verifier.stream_head import SignedStreamHead
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

__all__ = ["BundleError", "build_bundle", "build_consistency", "statement"]

# What the reader of a bundle must know about checking it: shared by both bundles' statements.
HOW_TO_CHECK = (
    "`coordinator audit verify FILE --keys KEYS` checks all of this with no database and no "
    "network, with KEYS the public keys fetched from Homeward separately (GET "
    "/v1/audit/public-key), or `--key-id ID` with the key id Homeward publishes; it names the "
    "first event that fails. Without them it exits 3: the keys a file carries prove nothing "
    "about who signed it. The manifest, signed by Homeward's key at export, covers every other "
    "field of the file, this statement included."
)


def build_bundle(
    operation_id: UUID | str,
    events_as_stored: Iterable[Mapping[str, Any]],
    tree: MerkleTree,
    signed_checkpoint: SignedCheckpoint,
    public_keys: Mapping[str, PublicKeyRecord],
    *,
    stream_head: SignedStreamHead,
    keyring: SigningKeyring,
    exported_at: datetime | None = None,
    as_of: datetime | None = None,
    check_leaves: bool = True,
    checkpoint_note: str | None = None,
    checkpoint_timestamp: bytes | None = None,
) -> dict[str, Any]:
    """Assemble the bundle of one operation's events, proven against `signed_checkpoint`, and
    sign its manifest with `keyring`'s active key.

    Each stored event is a mapping with at least the fields an event has in the bundle (UUIDs,
    datetimes and bytes are written in the text form that was hashed). The builder refuses
    events that are not where they claim to be in `tree`, or that do not end at `stream_head`,
    so a wrong export fails here, not in front of a court. Without `check_leaves` it leaves
    finding an event that is not its leaf to the verifier, which names how it was changed.
    `as_of` records that the bundle is of the record as known at that time; `checkpoint_note`
    is the checkpoint's signed note with its cosignatures (evidence/checkpoint_note.py), and
    `checkpoint_timestamp` an RFC 3161 token over that note (evidence/timestamping.py).
    """
    size = check_root(tree, signed_checkpoint)
    with collector_paused():
        events = [as_hashed(stored) for stored in sorted(events_as_stored, key=version_of)]
        prove(events, tree, size, check_leaves=check_leaves)
    check_head(stream_head, str(operation_id), events, size)
    exported = timestamp(exported_at or datetime.now(UTC))
    bundle = {
        "format": BUNDLE_FORMAT,
        "operation_id": str(operation_id),
        "exported_at": exported,
        **optional_as_of(as_of),
        "events": events,
        "corrections": corrections_of(events),
        "checkpoint": signed_checkpoint.to_json(),
        **optional_note(checkpoint_note),
        **optional_timestamp(checkpoint_timestamp),
        "stream_head": stream_head.to_json(),
        "public_keys": key_records(public_keys),
        "statement": statement(str(operation_id), len(events), signed_checkpoint, exported),
    }
    with collector_paused():
        return with_manifest(bundle, keyring)


def build_consistency(
    signed_checkpoint: SignedCheckpoint,
    old_size: int,
    tree: MerkleTree,
    public_keys: Mapping[str, PublicKeyRecord],
) -> dict[str, Any]:
    """A newer checkpoint with the proof that its log extends the log at `old_size`."""
    new_size = check_root(tree, signed_checkpoint)
    return {
        "format": CONSISTENCY_FORMAT,
        "checkpoint": signed_checkpoint.to_json(),
        "public_keys": key_records(public_keys),
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
        f"signed at {checkpoint.timestamp}. " + HOW_TO_CHECK + " These checks show that the "
        "events here are recorded unchanged, in order and without gaps, and the stream head, "
        "signed at export, shows that the last event here was the operation's last when "
        "exported. Corrections are events of their own (EventCorrected, naming the event they "
        "correct); the original stays, and `corrections` lists them beside it. The checks do not "
        "show that what was recorded is true, nor who held a token beyond its name and role."
    )
