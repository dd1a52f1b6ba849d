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
    SignedCheckpoint,
    b64,
    verify_signed_by,
)
from events.verifier.findings import Reason, Stop
from events.verifier.merkle_proofs import hash_from_hex

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
        if hash_from_hex(body["head_hash"]) is None:
            raise CheckpointRejected("the stream head's head_hash is not lower-case hex SHA-256")
        raw = b64(document["signature"], "the stream head's signature")
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


def check_stream_head(
    document: Any, stream_id: str, events: list[Any], signed: SignedCheckpoint, keys: Any
) -> StreamHead:
    """The stream's signed head, if it is of `stream_id`, proven in the checkpoint's log, and ends
    exactly at the last of `events` (events already checked); else Stop.

    A head beyond the last event names the version missing from the end; one before it, or with
    another hash, names the last event.
    """
    try:
        head = verify_stream_head(SignedStreamHead.from_json(document), keys)
    except CheckpointRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the stream head is refused: {error}") from None
    last = events[-1]
    if head.operation_id != stream_id:
        raise Stop(Reason.WRONG_OPERATION, f"the stream head is of {head.operation_id}")
    if head.tree_size != signed.checkpoint.tree_size:
        sentence = (
            f"the stream head was proven in a log of {head.tree_size} events, the checkpoint is "
            f"of {signed.checkpoint.tree_size}"
        )
        raise Stop(Reason.STREAM_HEAD_MISMATCH, sentence)
    if head.version > last["version"]:
        missing = last["version"] + 1
        gap = f"{missing}" if head.version == missing else f"{missing} to {head.version}"
        sentence = (
            f"the signed stream head says the stream had {head.version} events; "
            f"version {gap} is missing from the end"
        )
        raise Stop(Reason.MISSING_EVENT, sentence, version=missing)
    if head.version < last["version"] or head.head_hash != last["hash"]:
        sentence = (
            f"the signed stream head ends at version {head.version} with hash "
            f"{head.head_hash[:16]}..., not at this event"
        )
        raise Stop(Reason.STREAM_HEAD_MISMATCH, sentence, last)
    return head
