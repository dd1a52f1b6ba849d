"""The signed stream head: "operation X had V events, the last with hash H, in a log of N".

A bundle's inclusion proofs show that each event in it was recorded; they cannot show that no
event was left out after the last one. The exporter therefore signs the stream's head, with the
log's key, at export time, and the verifier checks that the bundle ends exactly there. Standard
library and `cryptography` only, like the verifier.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from events.verifier.canonical import canonical_json
from events.verifier.checkpoints import (
    ORIGIN,
    CheckpointRejected,
    PublicKeyRecord,
    verify_signed_by,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
KIND = "stream-head"
_FIELDS = (
    "statement",
    "origin",
    "operation_id",
    "version",
    "head_hash",
    "tree_size",
    "timestamp",
    "key_id",
)
_NUMBERS = ("version", "tree_size")


@dataclass(frozen=True, slots=True)
class StreamHead:
    """An operation's last version and hash when exported, and the log size it was proven in."""

    operation_id: str
    version: int
    head_hash: str
    tree_size: int
    timestamp: str
    key_id: str
    origin: str = ORIGIN
    statement: str = KIND

    def body(self) -> dict[str, Any]:
        """The JSON object that is signed."""
        return {name: getattr(self, name) for name in _FIELDS}

    def message(self) -> bytes:
        """The exact bytes the signature covers: the body's RFC 8785 form."""
        return canonical_json(self.body())


@dataclass(frozen=True, slots=True)
class SignedStreamHead:
    """A stream head with its Ed25519 signature; `to_json` is its form in a bundle."""

    head: StreamHead
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """`{"head": {statement, origin, operation_id, version, ...}, "signature"}`."""
        return {"head": self.head.body(), "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, document: Any) -> SignedStreamHead:
        """Read the bundle's form, refusing anything that is not exactly that shape."""
        if not isinstance(document, dict) or set(document) != {"head", "signature"}:
            raise CheckpointRejected("a signed stream head has exactly a head and a signature")
        body = document["head"]
        if not isinstance(body, dict) or set(body) != set(_FIELDS):
            raise CheckpointRejected(f"a stream head has exactly the fields {', '.join(_FIELDS)}")
        numbers = (body["version"], body["tree_size"])
        if not all(type(number) is int and 0 < number < 2**53 for number in numbers):
            raise CheckpointRejected("version and tree_size are whole numbers of events")
        if not all(
            isinstance(body[name], str) for name in _FIELDS if name not in {"version", "tree_size"}
        ):
            raise CheckpointRejected("the stream head's other fields are text")
        signature = document["signature"]
        try:
            raw = base64.b64decode(signature, validate=True) if isinstance(signature, str) else b""
        except ValueError:
            raw = b""
        if not raw:
            raise CheckpointRejected("the stream head's signature is not base64")
        return cls(StreamHead(**{name: body[name] for name in _FIELDS}), raw)


def verify_stream_head(
    signed: SignedStreamHead, public_keys: Mapping[str, PublicKeyRecord]
) -> StreamHead:
    """Return the head if a known key, in use at its timestamp, signed it; else raise."""
    head = signed.head
    if head.origin != ORIGIN or head.statement != KIND:
        raise CheckpointRejected(f"the stream head is not a {ORIGIN} {KIND} statement")
    verify_signed_by(
        head.key_id,
        head.timestamp,
        head.message(),
        signed.signature,
        public_keys,
        what="stream head",
    )
    return head
