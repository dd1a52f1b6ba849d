"""The checkpoint as a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint), signed by the log's key:

    <origin>                      this deployment's log, e.g. homeward.example/3f9c0a6e1b2d4c58
    <tree size>                   decimal, no leading zeroes
    <base64 root hash>            RFC 6962 root at that size
    access-log <n> <base64 hash>  extension: the access log's entry count and head hash then

    — <origin> <base64(key ID || Ed25519 signature over the four lines above)>

The key ID is signed-note's for Ed25519 (type 0x01) under the key name `origin`. Witnesses add
cosignature lines (events/verifier/cosignature.py). The only extension line is the access-log
anchor (events/verifier/access_anchor.py reads exported access logs against it); any other is
refused. Standard library and `cryptography` only.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.verifier.signed_note import (
    ED25519,
    NoteRejected,
    SignedNote,
    canonical_b64,
    check_key_name,
    key_id,
)

ACCESS_LOG = "access-log"
GENESIS = bytes(32)


@dataclass(frozen=True, slots=True)
class AccessAnchor:
    """The access log at a checkpoint: how many entries it held and its last entry's hash."""

    entries: int
    head: bytes

    def line(self) -> str:
        """The extension line (without its newline)."""
        return f"{ACCESS_LOG} {self.entries} {base64.b64encode(self.head).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class NoteCheckpoint:
    """The body of a checkpoint note: origin, size, root, and the access log's anchor if any."""

    origin: str
    tree_size: int
    root: bytes
    access: AccessAnchor | None = None

    def text(self) -> str:
        """The note text the log signs (and witnesses cosign)."""
        root = base64.b64encode(self.root).decode("ascii")
        lines = [self.origin, str(self.tree_size), root]
        if self.access is not None:
            lines.append(self.access.line())
        return "".join(line + "\n" for line in lines)


def read_checkpoint_text(text: str) -> NoteCheckpoint:
    """The checkpoint a note text states, read strictly; NoteRejected if it is not one."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or "" in lines[:-1]:
        raise NoteRejected("a checkpoint is at least three non-empty lines, each ending in newline")
    origin, size, root_text, *extensions = lines[:-1]
    check_key_name(origin)
    if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
        raise NoteRejected("the checkpoint's tree size is not a decimal without leading zeroes")
    if int(size) >= 2**63:
        raise NoteRejected("the checkpoint's tree size is out of range")
    root = canonical_b64(root_text, "the checkpoint's root hash")
    if len(root) != 32:
        raise NoteRejected("the checkpoint's root hash is not 32 bytes")
    access = None
    for line in extensions:
        if access is not None:
            raise NoteRejected("the checkpoint has an extension line no check covers")
        access = _access_anchor(line)
    return NoteCheckpoint(origin, int(size), root, access)


def _access_anchor(line: str) -> AccessAnchor:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != ACCESS_LOG:
        raise NoteRejected(f"the checkpoint has an extension line no check covers: {line[:40]!r}")
    count = parts[1]
    if not (count.isascii() and count.isdigit()) or (count != "0" and count.startswith("0")):
        raise NoteRejected("the access-log anchor's count is not a decimal without leading zeroes")
    head = canonical_b64(parts[2], "the access-log anchor's hash")
    if len(head) != 32 or int(count) >= 2**63 or (int(count) == 0) != (head == GENESIS):
        raise NoteRejected("the access-log anchor's hash is not a 32-byte head of that count")
    return AccessAnchor(int(count), head)


def log_key_ids(origin: str, public_keys: Mapping[str, Any]) -> dict[bytes, bytes]:
    """The note key ID of each usable Ed25519 key record under the key name `origin`, mapped to
    its raw public key (records that are not 32-byte base64 keys are left out)."""
    found: dict[bytes, bytes] = {}
    for record in public_keys.values():
        text = record.get("public_key") if isinstance(record, Mapping) else None
        try:
            raw = canonical_b64(text, "a public key") if isinstance(text, str) else b""
        except NoteRejected:
            continue
        if len(raw) == 32:
            found[key_id(origin, ED25519, raw)] = raw
    return found


def verify_log_note(note: SignedNote, public_keys: Mapping[str, Any]) -> NoteCheckpoint:
    """The checkpoint of `note` once one of `public_keys` signed it under the key name of its
    origin; a signature line of a known key that fails refuses the whole note, as the spec says
    it should. Lines of other keys (witnesses) are ignored here."""
    checkpoint = read_checkpoint_text(note.text)
    known = log_key_ids(checkpoint.origin, public_keys)
    verified = False
    for line in note.signatures:
        raw = known.get(line.key_id) if line.name == checkpoint.origin else None
        if raw is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(line.signature, note.text.encode())
        except InvalidSignature:
            sentence = f"the log's signature on the note does not verify ({line.name})"
            raise NoteRejected(sentence) from None
        verified = True
    if not verified:
        raise NoteRejected("no known key of the log signed the checkpoint note")
    return checkpoint
