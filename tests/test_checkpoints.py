"""Signed checkpoints: Ed25519 over canonical JSON, keys in 0600 files, rotation keeps old keys."""

from __future__ import annotations

import base64
import hashlib
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.verifier.canonical import canonical_json
from events.verifier.chain import timestamp
from events.verifier.checkpoints import (
    Checkpoint,
    CheckpointRejected,
    PublicKeyRecord,
    SignedCheckpoint,
    verify_checkpoint,
)
from evidence.keyring import KeyFileExposed, SigningKeyring

pytestmark = pytest.mark.unit

ROOT = hashlib.sha256(b"a root").digest()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock."""
    return Clock()


@pytest.fixture
def keyring(tmp_path: Path, clock: Clock) -> SigningKeyring:
    """A keyring in a fresh directory."""
    return SigningKeyring(tmp_path / "keys", clock=clock)


def test_a_signed_checkpoint_verifies_with_the_published_keys(keyring: SigningKeyring) -> None:
    """sign() gives a checkpoint that verify_checkpoint accepts with public_keys()."""
    signed = keyring.sign(42, ROOT)
    checkpoint = verify_checkpoint(signed, keyring.public_keys())
    assert checkpoint.tree_size == 42
    assert checkpoint.root_hash == ROOT.hex()
    assert checkpoint.origin == "homeward"
    assert checkpoint.timestamp == "2025-03-01T08:00:00.000000Z"


def test_the_signature_covers_the_canonical_json_of_the_body(keyring: SigningKeyring) -> None:
    """Any Ed25519 tool verifies the signature over the RFC 8785 form of the checkpoint body."""
    published = keyring.sign(7, ROOT).to_json()
    raw = base64.b64decode(keyring.public_keys()[published["checkpoint"]["key_id"]]["public_key"])
    Ed25519PublicKey.from_public_bytes(raw).verify(
        base64.b64decode(published["signature"]), canonical_json(published["checkpoint"])
    )


def test_the_published_form_reads_back_to_the_same_checkpoint(keyring: SigningKeyring) -> None:
    """from_json(to_json()) is the identity, and the result still verifies."""
    signed = keyring.sign(3, ROOT)
    again = SignedCheckpoint.from_json(signed.to_json())
    assert again == signed
    verify_checkpoint(again, keyring.public_keys())


def test_the_key_id_is_a_fingerprint_of_the_public_key(keyring: SigningKeyring) -> None:
    """key_id is the first 16 hex digits of SHA-256 over the raw public key."""
    key_id = keyring.active_key_id
    raw = base64.b64decode(keyring.public_keys()[key_id]["public_key"])
    assert key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_a_changed_checkpoint_no_longer_verifies(keyring: SigningKeyring) -> None:
    """Changing the size, root or time of a signed checkpoint breaks its signature."""
    signed = keyring.sign(10, ROOT)
    for changed in (
        replace(signed.checkpoint, tree_size=11),
        replace(signed.checkpoint, root_hash=hashlib.sha256(b"other").hexdigest()),
        replace(signed.checkpoint, timestamp="2025-03-01T08:00:01.000000Z"),
    ):
        with pytest.raises(CheckpointRejected, match="signature does not verify"):
            verify_checkpoint(replace(signed, checkpoint=changed), keyring.public_keys())


def test_a_checkpoint_signed_by_another_keyring_is_rejected(
    keyring: SigningKeyring, tmp_path: Path, clock: Clock
) -> None:
    """A checkpoint whose key is not among ours is refused as an unknown key."""
    other = SigningKeyring(tmp_path / "other", clock=clock)
    with pytest.raises(CheckpointRejected, match="not among the known public keys"):
        verify_checkpoint(other.sign(10, ROOT), keyring.public_keys())


def test_a_foreign_key_listed_under_our_key_id_is_rejected(
    keyring: SigningKeyring, tmp_path: Path, clock: Clock
) -> None:
    """Substituting another public key under our key id fails the fingerprint check."""
    other = SigningKeyring(tmp_path / "other", clock=clock)
    forged = other.sign(10, ROOT)
    ours = keyring.active_key_id
    forged = replace(forged, checkpoint=replace(forged.checkpoint, key_id=ours))
    keys = {ours: other.public_keys()[other.active_key_id]}
    with pytest.raises(CheckpointRejected, match="is not that key"):
        verify_checkpoint(forged, keys)


def test_rotation_keeps_older_checkpoints_verifiable(keyring: SigningKeyring, clock: Clock) -> None:
    """After rotate(), checkpoints of the old key and of the new key both verify."""
    before = keyring.sign(5, ROOT)
    clock.advance(days=30)
    old_id = keyring.active_key_id
    new_id = keyring.rotate()
    clock.advance(seconds=1)
    after = keyring.sign(6, ROOT)
    keys = keyring.public_keys()
    assert new_id != old_id
    assert after.checkpoint.key_id == new_id
    assert keys[old_id]["retired_at"] == "2025-03-31T08:00:00.000000Z"
    assert keys[new_id]["retired_at"] is None
    verify_checkpoint(before, keys)
    verify_checkpoint(after, keys)


def test_a_retired_key_cannot_vouch_for_a_later_checkpoint(
    keyring: SigningKeyring, clock: Clock, tmp_path: Path
) -> None:
    """A checkpoint made with a retired key after its retirement is rejected."""
    old_id = keyring.active_key_id
    old_key = serialization.load_pem_private_key(
        (tmp_path / "keys" / "private" / f"{old_id}.pem").read_bytes(), password=None
    )
    assert isinstance(old_key, Ed25519PrivateKey)
    keyring.rotate()
    clock.advance(days=1)
    # Someone who kept a copy of the old private key signs with it after the rotation.
    late = Checkpoint(99, ROOT.hex(), timestamp(clock()), old_id)
    forged = SignedCheckpoint(late, old_key.sign(late.message()))
    with pytest.raises(CheckpointRejected, match="retired before this checkpoint"):
        verify_checkpoint(forged, keyring.public_keys())


def test_rotation_destroys_the_old_private_key(keyring: SigningKeyring, tmp_path: Path) -> None:
    """Only the active key's private half stays on disk after a rotation."""
    old_id = keyring.active_key_id
    new_id = keyring.rotate()
    private = sorted(path.name for path in (tmp_path / "keys" / "private").iterdir())
    assert private == [f"{new_id}.pem"]
    assert old_id in keyring.public_keys()


def test_private_keys_are_files_only_their_owner_can_read(
    keyring: SigningKeyring, tmp_path: Path
) -> None:
    """The private key file is mode 0600 and its directories 0700."""
    key_id = keyring.active_key_id
    key_file = tmp_path / "keys" / "private" / f"{key_id}.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "private").stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in key_file.read_bytes()
    assert "PRIVATE" not in (tmp_path / "keys" / "keyring.json").read_text()


def test_a_key_file_readable_by_others_is_not_used(keyring: SigningKeyring, tmp_path: Path) -> None:
    """sign() refuses a private key whose file others may read."""
    key_file = tmp_path / "keys" / "private" / f"{keyring.active_key_id}.pem"
    key_file.chmod(0o644)
    with pytest.raises(KeyFileExposed):
        keyring.sign(1, ROOT)


def test_a_second_keyring_on_the_same_directory_uses_the_same_key(
    keyring: SigningKeyring, tmp_path: Path, clock: Clock
) -> None:
    """The key is generated once, on first use, and then read back by every process."""
    first = keyring.active_key_id
    assert SigningKeyring(tmp_path / "keys", clock=clock).active_key_id == first
    assert len(keyring.public_keys()) == 1


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"checkpoint": {}, "signature": ""},
        {"checkpoint": None, "signature": "AA=="},
        "not an object",
    ],
)
def test_malformed_published_checkpoints_are_refused(document: object) -> None:
    """from_json rejects anything that is not exactly the published shape."""
    with pytest.raises(CheckpointRejected):
        SignedCheckpoint.from_json(document)


def test_extra_or_odd_fields_are_refused(keyring: SigningKeyring) -> None:
    """An unsigned extra field, a bad root or a non-base64 signature is refused on reading."""
    good = keyring.sign(1, ROOT).to_json()
    extra = {**good, "checkpoint": {**good["checkpoint"], "note": "unsigned"}}
    bad_root = {**good, "checkpoint": {**good["checkpoint"], "root_hash": "ZZ" * 32}}
    bad_size = {**good, "checkpoint": {**good["checkpoint"], "tree_size": True}}
    bad_signature = {**good, "signature": "not base64!"}
    for document in (extra, bad_root, bad_size, bad_signature):
        with pytest.raises(CheckpointRejected):
            SignedCheckpoint.from_json(document)


def test_unknown_public_key_records_are_checked_not_trusted(keyring: SigningKeyring) -> None:
    """A public key record that is not base64 is reported, not crashed on."""
    signed = keyring.sign(1, ROOT)
    keys: dict[str, PublicKeyRecord] = {
        signed.checkpoint.key_id: {"public_key": "%%%", "created_at": "x", "retired_at": None}
    }
    with pytest.raises(CheckpointRejected, match="base64"):
        verify_checkpoint(signed, keys)
