"""What both bundle builders share: events as the bundle writes them, their proofs, the checks that
the inputs belong together, and the signed manifest that closes a bundle.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from events.verifier.chain import timestamp
from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.manifest import MANIFEST, bundle_digest
from events.verifier.merkle_proofs import leaf_hash
from events.verifier.stream_head import SignedStreamHead
from evidence.keyring import SigningKeyring, sign_manifest
from evidence.merkle_tree import MerkleTree


class BundleError(ValueError):
    """The events, tree and checkpoint given to the builder do not belong together."""


def with_manifest(bundle: dict[str, Any], keyring: SigningKeyring) -> dict[str, Any]:
    """`bundle` closed by its manifest, signed now with the keyring's active key: the last step of
    building, since the manifest covers every other member."""
    bundle[MANIFEST] = sign_manifest(keyring, bundle_digest(bundle)).to_json()
    return bundle


def key_records(public_keys: Mapping[str, PublicKeyRecord]) -> dict[str, dict[str, Any]]:
    """The public keys as a bundle carries them."""
    return {key_id: dict(record) for key_id, record in public_keys.items()}


def optional_as_of(as_of: datetime | None) -> dict[str, str]:
    """The bundle's `as_of` member, if the export was of the record as known then."""
    return {} if as_of is None else {"as_of": timestamp(as_of)}


def optional_note(checkpoint_note: str | None) -> dict[str, str]:
    """The bundle's `checkpoint_note` member: the checkpoint as a C2SP signed note with the
    witnesses' cosignatures, if the checkpoint has one (those signed since migration 0015)."""
    return {} if checkpoint_note is None else {"checkpoint_note": checkpoint_note}


def optional_timestamp(token: bytes | None) -> dict[str, str]:
    """The bundle's `checkpoint_timestamp` member: the RFC 3161 token over the checkpoint note, in
    base64 DER, if the checkpoint was time-stamped (evidence/timestamping.py)."""
    return {} if token is None else {"checkpoint_timestamp": base64.b64encode(token).decode()}


def check_root(tree: MerkleTree, signed_checkpoint: SignedCheckpoint) -> int:
    """The checkpoint's tree size, once the tree's root at that size is the checkpoint's."""
    size = signed_checkpoint.checkpoint.tree_size
    if tree.root(size).hex() != signed_checkpoint.checkpoint.root_hash:
        raise BundleError(f"the tree's root at size {size} is not the checkpoint's root")
    return size


def prove(events: list[dict[str, Any]], tree: MerkleTree, size: int, *, check_leaves: bool) -> None:
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


def check_head(
    stream_head: SignedStreamHead, stream_id: str, events: list[dict[str, Any]], size: int
) -> None:
    """Refuse a signed stream head that is not the head of `events` in the log of `size`."""
    head = stream_head.head
    if not events or (head.operation_id, head.version, head.head_hash, head.tree_size) != (
        stream_id,
        events[-1]["version"],
        events[-1]["hash"],
        size,
    ):
        raise BundleError("the signed stream head is not the head of these events in this log")


def as_hashed(stored: Mapping[str, Any]) -> dict[str, Any]:
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


def version_of(stored: Mapping[str, Any]) -> int:
    """The sort key of stored events: their version."""
    return int(stored["version"])


def _id(value: UUID | str) -> str:
    return value if type(value) is str else str(value)


def _time(value: datetime | str) -> str:
    return value if isinstance(value, str) else timestamp(value)


def _hex(value: bytes | memoryview | str) -> str:
    return value if isinstance(value, str) else bytes(value).hex()
