"""The key-encryption keys (KEKs): files outside the database that wrap every data key.

The key directory holds one file per KEK (`kek-<id>.key`, 32 random bytes, mode 0600) and
`active`, naming the KEK that wraps new data keys. Rotation adds a KEK and re-wraps the data keys
(`coordinator keys rotate`); older KEK files may be removed once nothing is wrapped by them.
The same directory holds the HMAC key that fingerprints personal data for idempotent re-sends.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

_KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """A key file is missing, malformed or readable by others."""


def _write_secret(path: Path, secret: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)


def _read_secret(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise KeyFileError(f"{path} is readable by others; chmod 600 it")
    secret = path.read_bytes()
    if len(secret) != _KEY_BYTES:
        raise KeyFileError(f"{path} does not hold a {_KEY_BYTES}-byte key")
    return secret


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """Every KEK by id, the active one, and the fingerprint key."""

    keys: dict[str, bytes]
    active_id: str
    fingerprint_key: bytes

    @property
    def active(self) -> bytes:
        """The KEK that wraps new data keys."""
        return self.keys[self.active_id]


def _new_kek(folder: Path) -> str:
    secret = secrets.token_bytes(_KEY_BYTES)
    kek_id = hashlib.sha256(secret).hexdigest()[:16]
    _write_secret(folder / f"kek-{kek_id}.key", secret)
    return kek_id


def load_keks(folder: Path) -> KeyEncryptionKeys:
    """The KEKs in `folder`, creating the folder and a first KEK on first use."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        raise KeyFileError(f"{folder} is open to others; chmod 700 it")
    active_file = folder / "active"
    if not active_file.exists():
        active_file.write_text(_new_kek(folder))
    fingerprint_file = folder / "fingerprint.key"
    if not fingerprint_file.exists():
        _write_secret(fingerprint_file, secrets.token_bytes(_KEY_BYTES))
    keys = {
        path.name.removeprefix("kek-").removesuffix(".key"): _read_secret(path)
        for path in folder.glob("kek-*.key")
    }
    active_id = active_file.read_text().strip()
    if active_id not in keys:
        raise KeyFileError(f"the active KEK {active_id} has no key file in {folder}")
    return KeyEncryptionKeys(keys, active_id, _read_secret(fingerprint_file))


def add_kek(folder: Path) -> str:
    """Create a new KEK and make it the active one; returns its id."""
    load_keks(folder)
    kek_id = _new_kek(folder)
    (folder / "active").write_text(kek_id)
    return kek_id


def destroy_keks(folder: Path, kek_ids: list[str]) -> list[str]:
    """Overwrite and remove the files of `kek_ids` (never the active one); returns those removed.

    With a KEK gone, every copy of a data key it wrapped (in old table pages, the WAL, backups)
    can no longer be unwrapped: this is what makes an erasure final beyond the live database.
    """
    active = (folder / "active").read_text().strip()
    removed = []
    for kek_id in kek_ids:
        if kek_id == active:
            raise KeyFileError(f"the active KEK {kek_id} cannot be destroyed; rotate first")
        path = folder / f"kek-{kek_id}.key"
        if not path.exists():
            continue
        with path.open("r+b") as file:
            file.write(secrets.token_bytes(_KEY_BYTES))
            file.flush()
            os.fsync(file.fileno())
        path.unlink()
        removed.append(kek_id)
    return removed
