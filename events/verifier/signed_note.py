"""C2SP signed notes (c2sp.org/signed-note): text, a blank line, then `— <key name> <base64>`
signature lines, each signature being a 4-byte key ID followed by the signature proper.

    key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    vkey   = <key name>+<hex(key ID)>+<base64(signature type || public key)>

Type 0x01 is an Ed25519 signature over the note text; type 0x04 a timestamped Ed25519 witness
cosignature (events/verifier/cosignature.py). Read strictly: valid UTF-8, no control character
but newline, one canonical base64 form. Standard library and `cryptography` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014"
# The spec asks verifiers to accept at least 16 signatures; a bound keeps a crafted file small.
MAX_SIGNATURES = 64
_SPACES = frozenset(" \t\n\r\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(code) for code in range(0x2000, 0x200B)
)


class NoteRejected(ValueError):
    """A note that is not a well-formed signed note, or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte ID and the signature that follows it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The line as the note writes it, with its newline."""
        raw = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH} {self.name} {raw}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """The note text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        """The signed note as published."""
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key as a signed-note verifier knows it: name, ID, type and raw key."""

    name: str
    key_id: bytes
    kind: int
    public_key: bytes

    def vkey(self) -> str:
        """The key in the C2SP vkey text form."""
        material = base64.b64encode(bytes([self.kind]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{material}"


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    """The 4-byte key ID the spec recommends (and mandates for cosignatures)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


def verifier_key(name: str, kind: int, public_key: bytes) -> VerifierKey:
    """The verifier key of an Ed25519 public key under `name` for signature type `kind`."""
    check_key_name(name)
    return VerifierKey(name, key_id(name, kind, public_key), kind, public_key)


def read_vkey(text: str) -> VerifierKey:
    """A vkey `name+hex(id)+base64(type || key)`, checked: its ID is the ID of its key."""
    # The base64 key may itself hold a plus; the name and the hex ID cannot.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteRejected(f"{text!r} is not a vkey (name+id+key)")
    name, written_id, material = parts
    check_key_name(name)
    raw = canonical_b64(material, "the vkey's key")
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteRejected(f"the vkey of {name} is not an Ed25519 key (type 0x01 or 0x04)")
    key = verifier_key(name, raw[0], raw[1:])
    if written_id != key.key_id.hex():
        raise NoteRejected(f"the vkey of {name} states an ID that is not its key's")
    return key


def check_key_name(name: str) -> None:
    """NoteRejected unless `name` is a key name: non-empty, no Unicode space, no plus."""
    if not name or "+" in name or any(char in _SPACES for char in name) or _has_control(name):
        raise NoteRejected(f"{name!r} is not a key name (non-empty, no spaces, no plus)")


def parse_note(data: str | bytes) -> SignedNote:
    """Read a signed note strictly; NoteRejected with one sentence if it is not one."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteRejected("the note is not UTF-8") from None
    if not isinstance(data, str):
        raise NoteRejected("the note is not text")
    if _has_control(data.replace("\n", "")):
        raise NoteRejected("the note holds a control character other than newline")
    if not data.endswith("\n"):
        raise NoteRejected("the note does not end with a newline")
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteRejected("the note has no blank line before its signatures")
    text, lines = data[: split + 1], data[split + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteRejected(f"the note has no signature, or more than {MAX_SIGNATURES}")
    return SignedNote(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> NoteSignature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise NoteRejected("a signature line is not '— <key name> <base64>'")
    check_key_name(parts[1])
    raw = canonical_b64(parts[2], "a signature")
    if len(raw) < 5:
        raise NoteRejected("a signature is shorter than its key ID")
    return NoteSignature(parts[1], raw[:4], raw[4:])


def canonical_b64(text: str, what: str) -> bytes:
    """The bytes of standard base64 `text` in its one canonical form; else NoteRejected."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteRejected(f"{what} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteRejected(f"{what} is not base64 in its one canonical form")
    return raw


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 for char in text)
