"""Signed checkpoints of the Merkle log (invariant 5): Ed25519 over RFC 8785 canonical JSON.

A checkpoint says "the log held `tree_size` events and its root was `root_hash` at `timestamp`".
The signing keys live in files under one directory, never in the database, so a copy of the
database cannot forge a checkpoint. Rotation keeps every old public key, with the period it was
in use, so checkpoints signed before a rotation stay verifiable for as long as a case runs.
Verification needs only the standard library and `cryptography`: the offline verifier imports it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.canonical import canonical_json
from events.integrity import timestamp

if (
    sys.platform != "win32"
):  # The verifier also runs on a lawyer's Windows laptop; signing does not.
    import fcntl

ORIGIN = "homeward"
_BODY_FIELDS = ("origin", "tree_size", "root_hash", "timestamp", "key_id")


class CheckpointRejected(ValueError):
    """A checkpoint that does not verify: malformed, unknown key or bad signature."""


class KeyFileExposed(PermissionError):
    """A private key file that others than its owner may read: it is not used to sign."""


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
    record = public_keys.get(checkpoint.key_id)
    if record is None:
        raise CheckpointRejected(f"key {checkpoint.key_id} is not among the known public keys")
    if not isinstance(record, dict):
        raise CheckpointRejected(f"the public key record of {checkpoint.key_id} is not an object")
    raw = _b64(record.get("public_key"), "public_key")
    # The id is a fingerprint: a key listed under someone else's id is a substitution.
    if len(raw) != 32 or key_id_of(raw) != checkpoint.key_id:
        raise CheckpointRejected(f"the public key listed as {checkpoint.key_id} is not that key")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signed.signature, checkpoint.message())
    except InvalidSignature:
        raise CheckpointRejected(
            f"the signature does not verify with key {checkpoint.key_id}"
        ) from None
    signed_at = _instant(checkpoint.timestamp, "the checkpoint's timestamp")
    if signed_at < _instant(record.get("created_at"), "the key's created_at"):
        raise CheckpointRejected(f"the checkpoint predates key {checkpoint.key_id}")
    retired_at = record.get("retired_at")
    # A retired key must not vouch for anything later, even if its private half leaks.
    if retired_at is not None and signed_at > _instant(retired_at, "the key's retired_at"):
        raise CheckpointRejected(f"key {checkpoint.key_id} was retired before this checkpoint")
    return checkpoint


class SigningKeyring:
    """The log's signing keys, as files under `directory` (created 0700).

    `keyring.json` lists every public key with its period of use and names the active one;
    `private/<key_id>.pem` holds the active private key (PKCS #8, mode 0600). A rotation writes
    the new key, records the old one as retired, then deletes the old private key. Several
    processes on one host may share the directory: changes happen under an exclusive lock.
    """

    def __init__(
        self, directory: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._directory = directory
        self._clock = clock

    @property
    def active_key_id(self) -> str:
        """The id of the key that signs now (generated on first use)."""
        return str(self._ensure()["active"])

    def public_keys(self) -> dict[str, PublicKeyRecord]:
        """Every key ever used, active or retired, by key id."""
        return dict(self._ensure()["keys"])

    def sign(self, tree_size: int, root: bytes) -> SignedCheckpoint:
        """Sign a checkpoint of the log at `tree_size` with root `root`, now."""
        if len(root) != 32:
            raise ValueError("a Merkle root is 32 bytes")
        self._ensure()
        # Read the active id and its key under one shared lock, so a rotation in another process
        # cannot delete the key between the two reads. (flock locks do not nest: never hold two.)
        with self._lock(exclusive=False):
            keyring = self._read()
            assert keyring is not None  # noqa: S101 -- _ensure wrote it and nothing deletes it
            key_id = str(keyring["active"])
            private_key = self._private_key(key_id)
        checkpoint = Checkpoint(
            tree_size=tree_size,
            root_hash=root.hex(),
            timestamp=timestamp(self._clock()),
            key_id=key_id,
        )
        return SignedCheckpoint(checkpoint, private_key.sign(checkpoint.message()))

    def rotate(self) -> str:
        """Make a new active key, retire the old one (public half kept), return the new id."""
        self._ensure()
        with self._lock(exclusive=True):
            keyring = self._read()
            assert keyring is not None  # noqa: S101 -- _ensure wrote it and nothing deletes it
            old = str(keyring["active"])
            now = timestamp(self._clock())
            keys: dict[str, PublicKeyRecord] = dict(keyring["keys"])
            keys[old] = {**keys[old], "retired_at": now}
            new = self._generate(keys, now)
            (self._directory / "private" / f"{old}.pem").unlink(missing_ok=True)
            return new

    def _ensure(self) -> dict[str, Any]:
        keyring = self._read()
        if keyring is not None:
            return keyring
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self._directory / "private").mkdir(mode=0o700, exist_ok=True)
        with self._lock(exclusive=True):
            keyring = self._read()  # another process may have generated it while we waited
            if keyring is None:
                self._generate({}, timestamp(self._clock()))
                keyring = self._read()
        assert keyring is not None  # noqa: S101 -- just written under the lock
        return keyring

    def _generate(self, keys: dict[str, PublicKeyRecord], now: str) -> str:
        private_key = Ed25519PrivateKey.generate()
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        key_id = key_id_of(raw)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL with mode 0600 at creation: the key is never readable by others, not even briefly.
        path = self._directory / "private" / f"{key_id}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        keys[key_id] = {
            "public_key": base64.b64encode(raw).decode("ascii"),
            "created_at": now,
            "retired_at": None,
        }
        self._write({"active": key_id, "keys": keys})
        return key_id

    def _private_key(self, key_id: str) -> Ed25519PrivateKey:
        path = self._directory / "private" / f"{key_id}.pem"
        if path.stat().st_mode & 0o077:
            raise KeyFileExposed(f"{path} may be read by others than its owner; chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError(f"{path} does not hold an Ed25519 private key")
        return key

    def _read(self) -> dict[str, Any] | None:
        try:
            text = (self._directory / "keyring.json").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        keyring: dict[str, Any] = json.loads(text)
        return keyring

    def _write(self, keyring: dict[str, Any]) -> None:
        # Write-then-rename, so a reader sees the old keyring or the new one, never half of one.
        path = self._directory / "keyring.json"
        temporary = path.with_suffix(".json.tmp")
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(keyring, file, indent=2, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
        directory = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextlib.contextmanager
    def _lock(self, *, exclusive: bool) -> Iterator[None]:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self._directory / ".lock").open("a") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise CheckpointRejected(f"{name} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointRejected(f"{name} is not valid base64") from None


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
