"""Signed checkpoints of the Merkle log (invariant 5): Ed25519 over RFC 8785 canonical JSON.

A checkpoint says "the log held `tree_size` events and its root was `root_hash` at `timestamp`".
The signing keys (evidence/keyring.py) live in files, never in the database, so a copy of the
database cannot forge a checkpoint; every old public key is kept with the period it was in use.
Verification needs only the standard library and `cryptography`: the offline verifier imports it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.verifier.canonical import canonical_json

ORIGIN = "homeward"
_BODY_FIELDS = ("origin", "tree_size", "root_hash", "timestamp", "key_id")


class CheckpointRejected(ValueError):
    """A checkpoint that does not verify: malformed, unknown key or bad signature."""


class PublicKeyRecord(TypedDict):
    """One verifying key as published: raw Ed25519 public key (base64) and when it was in use."""

    public_key: str
    created_at: str
    retired_at: str | None


def key_id_of(raw_public_key: bytes) -> str:
    """A key's id: the first 16 hex characters of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement: this log, at this size, had this root at this time."""

    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    origin: str = ORIGIN

    def body(self) -> dict[str, Any]:
        """The JSON object that is signed."""
        return {field: getattr(self, field) for field in _BODY_FIELDS}

    def message(self) -> bytes:
        """The exact bytes the signature covers: the body's RFC 8785 form."""
        return canonical_json(self.body())


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its Ed25519 signature; `to_json` is its published form."""

    checkpoint: Checkpoint
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """`{"checkpoint": {origin, tree_size, root_hash, timestamp, key_id}, "signature"}`."""
        return {
            "checkpoint": self.checkpoint.body(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: Any) -> SignedCheckpoint:
        """Read the published form, refusing anything that is not exactly that shape."""
        if not isinstance(document, dict) or set(document) != {"checkpoint", "signature"}:
            raise CheckpointRejected("a signed checkpoint has exactly a checkpoint and a signature")
        body = document["checkpoint"]
        if not isinstance(body, dict) or set(body) != set(_BODY_FIELDS):
            raise CheckpointRejected(
                f"a checkpoint has exactly the fields {', '.join(_BODY_FIELDS)}"
            )
        size = body["tree_size"]
        if type(size) is not int or not 0 <= size < 2**53:
            raise CheckpointRejected("tree_size is not a whole number of events")
        if not all(isinstance(body[name], str) for name in _BODY_FIELDS if name != "tree_size"):
            raise CheckpointRejected("origin, root_hash, timestamp and key_id are text")
        root = body["root_hash"]
        if len(root) != 64 or root != root.lower() or not _is_hex(root):
            raise CheckpointRejected("root_hash is not 64 lowercase hex digits")
        checkpoint = Checkpoint(
            tree_size=size,
            root_hash=root,
            timestamp=body["timestamp"],
            key_id=body["key_id"],
            origin=body["origin"],
        )
        return cls(checkpoint, _b64(document["signature"], "signature"))


def verify_checkpoint(
    signed: SignedCheckpoint, public_keys: Mapping[str, PublicKeyRecord]
) -> Checkpoint:
    """Return the checkpoint if a known key, in use at its timestamp, signed it; else raise."""
    checkpoint = signed.checkpoint
    if checkpoint.origin != ORIGIN:
        raise CheckpointRejected(f"the checkpoint is from {checkpoint.origin!r}, not {ORIGIN!r}")
    verify_signed_by(
        checkpoint.key_id, checkpoint.timestamp, checkpoint.message(), signed.signature, public_keys
    )
    return checkpoint


def verify_signed_by(
    key_id: str,
    signed_at: str,
    message: bytes,
    signature: bytes,
    public_keys: Mapping[str, PublicKeyRecord],
    *,
    what: str = "checkpoint",
) -> None:
    """Raise CheckpointRejected unless key `key_id`, in use at `signed_at`, signed `message`."""
    record = public_keys.get(key_id)
    if record is None:
        raise CheckpointRejected(f"key {key_id} is not among the known public keys")
    if not isinstance(record, dict):
        raise CheckpointRejected(f"the public key record of {key_id} is not an object")
    raw = _b64(record.get("public_key"), "public_key")
    # The id is a fingerprint: a key listed under someone else's id is a substitution.
    if len(raw) != 32 or key_id_of(raw) != key_id:
        raise CheckpointRejected(f"the public key listed as {key_id} is not that key")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except InvalidSignature:
        raise CheckpointRejected(f"the signature does not verify with key {key_id}") from None
    moment = _instant(signed_at, f"the {what}'s timestamp")
    if moment < _instant(record.get("created_at"), "the key's created_at"):
        raise CheckpointRejected(f"the {what} predates key {key_id}")
    retired_at = record.get("retired_at")
    # A retired key must not vouch for anything later, even if its private half leaks.
    if retired_at is not None and moment > _instant(retired_at, "the key's retired_at"):
        raise CheckpointRejected(f"key {key_id} was retired before this {what}")


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def b64(value: Any, name: str) -> bytes:
    """The bytes `value` writes in canonical base64; CheckpointRejected if it is anything else."""
    return _b64(value, name)


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise CheckpointRejected(f"{name} is not base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointRejected(f"{name} is not valid base64") from None
    # One written form only: unused low bits in the last digit would decode the same.
    if base64.b64encode(raw).decode("ascii") != value:
        raise CheckpointRejected(f"{name} is not base64 in its one canonical form")
    return raw


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise CheckpointRejected(f"{name} is not a time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CheckpointRejected(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CheckpointRejected(f"{name} has no zone")
    return moment
