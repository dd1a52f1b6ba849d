"""The log's signing keys: Ed25519 key files under one directory, never in the database.

Rotation keeps every old public key, with the period it was in use, so checkpoints signed before
a rotation stay verifiable for as long as a case runs; the old private key is destroyed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.verifier.chain import timestamp
from events.verifier.checkpoints import Checkpoint, PublicKeyRecord, SignedCheckpoint, key_id_of
from events.verifier.manifest import Manifest, SignedManifest
from events.verifier.stream_head import SignedStreamHead, StreamHead

if (
    sys.platform != "win32"
):  # The verifier also runs on a lawyer's Windows laptop; signing does not.
    import fcntl


class KeyFileExposed(PermissionError):
    """A private key file that others than its owner may read: it is not used to sign."""


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
        key_id, private_key = self.signer()
        checkpoint = Checkpoint(
            tree_size=tree_size,
            root_hash=root.hex(),
            timestamp=timestamp(self._clock()),
            key_id=key_id,
        )
        return SignedCheckpoint(checkpoint, private_key.sign(checkpoint.message()))

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The active key's id and private key, read together (for other signed statements)."""
        self._ensure()
        # Read the active id and its key under one shared lock, so a rotation in another process
        # cannot delete the key between the two reads. (flock locks do not nest: never hold two.)
        with self._lock(exclusive=False):
            keyring = self._read()
            assert keyring is not None  # noqa: S101 -- _ensure wrote it and nothing deletes it
            key_id = str(keyring["active"])
            return key_id, self._private_key(key_id)

    def now(self) -> str:
        """The keyring clock's current time, in the text form signed statements carry."""
        return timestamp(self._clock())

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
        raw = raw_public_key(private_key)
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


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 bytes of an Ed25519 private key's public half."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def sign_stream_head(
    keyring: SigningKeyring, operation_id: str, version: int, head_hash: bytes, tree_size: int
) -> SignedStreamHead:
    """Sign, now, that `operation_id` ended at `version` with `head_hash` in a log of tree_size."""
    key_id, private_key = keyring.signer()
    head = StreamHead(
        operation_id=operation_id,
        version=version,
        head_hash=head_hash.hex(),
        tree_size=tree_size,
        timestamp=keyring.now(),
        key_id=key_id,
    )
    return SignedStreamHead(head, private_key.sign(head.message()))


def sign_manifest(keyring: SigningKeyring, digest: bytes) -> SignedManifest:
    """Sign, now, the manifest of a bundle whose canonical form (without manifest) is `digest`."""
    key_id, private_key = keyring.signer()
    manifest = Manifest(sha256=digest.hex(), timestamp=keyring.now(), key_id=key_id)
    return SignedManifest(manifest, private_key.sign(manifest.message()))
