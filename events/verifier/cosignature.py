"""Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519, `cosignature/v1`) on checkpoints.

A witness that checked a checkpoint extends every checkpoint it saw before adds the line

    — <witness name> base64(key ID || u64 big-endian timestamp || Ed25519 signature)

with key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4], over the message

    cosignature/v1
    time <timestamp, POSIX seconds>
    <the checkpoint note text, extension lines included>

Witness keys are given as vkeys (`name+hex(id)+base64(0x04 || key)`), one a line. Standard
library and `cryptography` only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.verifier.signed_note import (
    COSIGNATURE_V1,
    NoteRejected,
    NoteSignature,
    SignedNote,
    VerifierKey,
    read_vkey,
)

HEADER = "cosignature/v1"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: which witness, and when it says it cosigned (POSIX seconds)."""

    witness: str
    key_id: bytes
    timestamp: int


def cosigned_message(note_text: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosignature v1 signs."""
    return f"{HEADER}\ntime {timestamp}\n{note_text}".encode()


def cosign(private_key: Ed25519PrivateKey, key: VerifierKey, note_text: str, now: int) -> str:
    """The cosignature line (with newline) of witness `key` over `note_text` at time `now`."""
    if key.kind != COSIGNATURE_V1 or not 0 <= now < 2**63:
        raise NoteRejected("a cosignature needs a type 0x04 key and a time from 0 to 2^63 - 1")
    signature = private_key.sign(cosigned_message(note_text, now))
    return NoteSignature(key.name, key.key_id, struct.pack(">Q", now) + signature).line()


def read_witness_keys(text: str) -> list[VerifierKey]:
    """The witness vkeys of a file, one a line (blank lines and `#` comments skipped)."""
    keys = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key = read_vkey(stripped)
        if key.kind != COSIGNATURE_V1:
            raise NoteRejected(f"the key of {key.name} is not a cosignature key (type 0x04)")
        keys.append(key)
    if not keys:
        raise NoteRejected("the witness keys file lists no key")
    return keys


def verify_cosignatures(note: SignedNote, witnesses: Iterable[VerifierKey]) -> list[Cosignature]:
    """The cosignatures of `witnesses` on `note`, each verified; a line of a known witness that
    fails refuses the note (NoteRejected). Lines of unknown keys are ignored, as the spec says."""
    known = {(key.name, key.key_id): key for key in witnesses if key.kind == COSIGNATURE_V1}
    found: dict[tuple[str, bytes], Cosignature] = {}
    for line in note.signatures:
        key = known.get((line.name, line.key_id))
        if key is None:
            continue
        if len(line.signature) != 8 + 64:
            raise NoteRejected(f"the cosignature of {line.name} is not a timestamped signature")
        (timestamp,) = struct.unpack(">Q", line.signature[:8])
        if timestamp >= 2**63:
            raise NoteRejected(f"the cosignature of {line.name} has a time beyond 2^63 - 1")
        message = cosigned_message(note.text, timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(line.signature[8:], message)
        except InvalidSignature:
            raise NoteRejected(f"the cosignature of witness {line.name} does not verify") from None
        found.setdefault((key.name, key.key_id), Cosignature(key.name, key.key_id, timestamp))
    return list(found.values())
