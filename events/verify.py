"""The offline verifier of prosecution bundles and of checkpoint consistency (invariant 6).

It imports only the standard library, `cryptography` and the integrity modules, so the legal
team can run it on any machine, years later, with no database and no network. It stops at the
first failure and names the event and the rule it breaks.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from events.canonical import NotCanonicalisable
from events.checkpoints import CheckpointRejected, PublicKeyRecord, SignedCheckpoint
from events.checkpoints import verify_checkpoint as _verify_signature
from events.integrity import GENESIS, body_hash, link_hash
from events.merkle import InclusionChecker, verify_consistency

BUNDLE_FORMAT = "homeward-bundle/1"
CONSISTENCY_FORMAT = "homeward-consistency/1"

# Each event's fields and their JSON types; `position` is informative and not hashed.
_EVENT_FIELDS: tuple[tuple[str, type], ...] = (
    ("event_id", str),
    ("stream_id", str),
    ("version", int),
    ("type", str),
    ("schema_version", int),
    ("data", dict),
    ("metadata", dict),
    ("occurred_at", str),
    ("recorded_at", str),
    ("prev_hash", str),
    ("hash", str),
    ("leaf_index", int),
    ("inclusion_proof", list),
)
# The one text form of a time inside a hash (events.integrity.timestamp), matched without
# formatting each time again: every field has a fixed width, so a parse that succeeds on text
# of this shape formats back to the same text.
_HASHED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class Reason(StrEnum):
    """Why a bundle or a pair of checkpoints failed."""

    MALFORMED = "malformed"
    WRONG_OPERATION = "wrong_operation"
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_CHAIN = "broken_chain"
    MISSING_EVENT = "missing_event"
    REORDERED_OR_DUPLICATE = "reordered_or_duplicate"
    BAD_PROOF = "bad_proof"
    BAD_SIGNATURE = "bad_signature"


@dataclass(frozen=True, slots=True)
class Failure:
    """The first thing that did not verify, and the event it concerns (None: the checkpoint)."""

    reason: Reason
    sentence: str
    event_id: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What was checked in a bundle, and the first failure if there was one."""

    ok: bool
    operation_id: str | None
    events_total: int
    events_verified: int
    proofs_verified: int
    signature_verified: bool
    tree_size: int | None
    key_id: str | None
    keys_from: str  # "bundle": the keys came with the file; "trusted": given to the verifier
    first_failure: Failure | None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON, for machines and for the record."""
        return asdict(self)

    def summary(self) -> str:
        """One sentence for a person."""
        failure = self.first_failure
        if failure is None:
            return (
                f"Verified: all {self.events_total} events of operation {self.operation_id} hash "
                "to their stored hashes, chain in order from version 1 without gaps, and are in "
                f"the Merkle log of {self.tree_size} events signed by key {self.key_id}"
                + (
                    "."
                    if self.keys_from == "trusted"
                    else " (a key the bundle itself carries: compare its id with the one "
                    "Homeward publishes)."
                )
            )
        where = "" if failure.event_id is None else f" at event {failure.event_id}"
        version = "" if failure.version is None else f" (version {failure.version})"
        return f"NOT verified, {failure.reason}{where}{version}: {failure.sentence}."


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """Whether a newer checkpoint's log extends an older checkpoint's log."""

    ok: bool
    old_size: int | None
    new_size: int | None
    failure: Failure | None

    def summary(self) -> str:
        """One sentence for a person."""
        if self.failure is None:
            return (
                f"Consistent: the log of {self.new_size} events extends the log of "
                f"{self.old_size} events; nothing recorded before was changed or removed."
            )
        return f"NOT consistent, {self.failure.reason}: {self.failure.sentence}."


class _Stop(Exception):
    """Control flow inside this module: the first failure, carried out of nested checks."""

    def __init__(self, reason: Reason, sentence: str, event: Any = None) -> None:
        event_id = event.get("event_id") if isinstance(event, dict) else None
        version = event.get("version") if isinstance(event, dict) else None
        self.failure = Failure(
            reason,
            sentence,
            event_id if isinstance(event_id, str) else None,
            version if isinstance(version, int) and not isinstance(version, bool) else None,
        )


def verify_bundle(
    bundle: Any, *, trusted_keys: Mapping[str, PublicKeyRecord] | None = None
) -> VerificationReport:
    """Check a bundle event by event, then its checkpoint's signature; stop at the first failure.

    Per event, in bundle order: shape, operation, version sequence (missing, out of order,
    duplicate), hash (body and link recomputed), chain (prev_hash), inclusion proof. Checking
    each event fully before the next names an inserted event itself, not its innocent successor.
    `trusted_keys`, fetched from Homeward separately, replaces the keys the bundle carries.
    """
    events = bundle.get("events") if isinstance(bundle, dict) else None
    operation_id = bundle.get("operation_id") if isinstance(bundle, dict) else None
    verified = 0
    signed: SignedCheckpoint | None = None
    failure: Failure | None = None
    with _cyclic_collector_paused():
        try:
            signed = _read_head(bundle)
            for _ in _check_events(bundle["events"], bundle["operation_id"], signed):
                verified += 1
            keys = bundle["public_keys"] if trusted_keys is None else trusted_keys
            _check_signature(signed, keys)
        except _Stop as stop:
            failure = stop.failure
    return VerificationReport(
        ok=failure is None,
        operation_id=operation_id if isinstance(operation_id, str) else None,
        events_total=len(events) if isinstance(events, list) else 0,
        events_verified=verified,
        proofs_verified=verified,
        signature_verified=failure is None,
        tree_size=signed.checkpoint.tree_size if signed else None,
        key_id=signed.checkpoint.key_id if signed else None,
        keys_from="bundle" if trusted_keys is None else "trusted",
        first_failure=failure,
    )


@contextlib.contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Pause the cycle collector: checking makes no cycles, and its full passes over a large
    bundle's objects cost a third of the checking time. Reference counting still frees all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_head(bundle: Any) -> SignedCheckpoint:
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise _Stop(Reason.MALFORMED, f"the file is not a {BUNDLE_FORMAT} bundle")
    if not isinstance(bundle.get("operation_id"), str) or not isinstance(
        bundle.get("events"), list
    ):
        raise _Stop(Reason.MALFORMED, "the bundle lacks its operation_id or its events")
    if not bundle["events"]:
        raise _Stop(Reason.MISSING_EVENT, "the bundle holds no events")
    if not isinstance(bundle.get("public_keys"), dict):
        raise _Stop(Reason.MALFORMED, "the bundle lacks its public keys")
    return _read_checkpoint(bundle.get("checkpoint"))


def _check_events(events: list[Any], operation_id: str, signed: SignedCheckpoint) -> Any:
    """Yield once per event that passes every check; raise _Stop at the first that does not."""
    root = bytes.fromhex(signed.checkpoint.root_hash)
    proofs = InclusionChecker(signed.checkpoint.tree_size, root)
    # How often each version is still to come, to tell an event out of place from a gap.
    versions = (event.get("version") for event in events if type(event) is dict)
    ahead = Counter(version for version in versions if type(version) is int)
    previous_hash, expected = GENESIS, 1
    seen_ids: set[str] = set()
    for event in events:
        _check_shape(event)
        version, event_id = event["version"], event["event_id"]
        ahead[version] -= 1
        if event["stream_id"] != operation_id:
            raise _Stop(Reason.WRONG_OPERATION, f"it belongs to {event['stream_id']}", event)
        if version < expected:
            what = "this event appears twice" if event_id in seen_ids else "a second event"
            raise _Stop(Reason.REORDERED_OR_DUPLICATE, f"{what} claims version {version}", event)
        if version > expected and ahead[expected] > 0:
            sentence = f"version {version} comes before version {expected}"
            raise _Stop(Reason.REORDERED_OR_DUPLICATE, sentence, event)
        if version > expected:
            gap = f"{expected}" if version == expected + 1 else f"{expected} to {version - 1}"
            raise _Stop(Reason.MISSING_EVENT, f"version {gap} is missing before it", event)
        stored, prev = _hash(event, "hash"), _hash(event, "prev_hash")
        if link_hash(_body_hash(event), prev, version) != stored:
            raise _Stop(Reason.HASH_MISMATCH, "its recorded fields do not hash to its hash", event)
        if prev != previous_hash:
            sentence = (
                "its prev_hash is not the previous event's hash"
                if version > 1
                else "the first event's prev_hash is not 32 zero bytes"
            )
            raise _Stop(Reason.BROKEN_CHAIN, sentence, event)
        proof = _hashes(event["inclusion_proof"], event, "inclusion_proof")
        if not proofs.check(stored, event["leaf_index"], proof):
            sentence = (
                f"its inclusion proof from leaf {event['leaf_index']} does not lead to the "
                f"checkpoint's root at {signed.checkpoint.tree_size} events"
            )
            raise _Stop(Reason.BAD_PROOF, sentence, event)
        seen_ids.add(event_id)
        previous_hash, expected = stored, version + 1
        yield event


def _check_shape(event: Any) -> None:
    if not isinstance(event, dict):
        raise _Stop(Reason.MALFORMED, "an event is not a JSON object")
    for name, kind in _EVENT_FIELDS:
        # Exact types, as JSON parsing gives them: a bool is not a version number.
        if type(event.get(name)) is not kind:
            raise _Stop(Reason.MALFORMED, f"its {name} is missing or not {kind.__name__}", event)


def _body_hash(event: dict[str, Any]) -> bytes:
    """The body hash, computed as the server computes it, over text that must be the hashed text.

    The hash covers the canonical text of ids and times; text written otherwise (even the same
    instant in another zone) is not what was recorded, so it counts as a hash mismatch.
    """
    try:
        event_id, stream_id = UUID(event["event_id"]), UUID(event["stream_id"])
        times = (event["occurred_at"], event["recorded_at"])
        if (
            str(event_id) != event["event_id"]
            or str(stream_id) != event["stream_id"]
            or not all(_HASHED_TIME.fullmatch(text) for text in times)
        ):
            raise ValueError("not the hashed text")  # noqa: TRY301 -- same outcome as a bad parse
        return body_hash(
            event_id=event_id,
            stream_id=stream_id,
            event_type=event["type"],
            schema_version=event["schema_version"],
            data=event["data"],
            metadata=event["metadata"],
            occurred_at=datetime.fromisoformat(times[0]),
            recorded_at=datetime.fromisoformat(times[1]),
        )
    except (ValueError, NotCanonicalisable):
        sentence = "its ids or times are not written as they were hashed"
        raise _Stop(Reason.HASH_MISMATCH, sentence, event) from None
    except RecursionError:
        # A crafted file can nest data deeper than any event the server accepts.
        raise _Stop(Reason.MALFORMED, "its data is nested too deeply", event) from None


def _hash(event: dict[str, Any], name: str) -> bytes:
    return _hashes([event[name]], event, name)[0]


def _hashes(texts: list[Any], event: dict[str, Any] | None, name: str) -> list[bytes]:
    """Decode SHA-256 hashes written in hex, all at once (a bundle holds hundreds of thousands)."""
    try:
        raw = bytes.fromhex("".join(texts)) if set(map(len, texts)) <= {64} else b""
    except (TypeError, ValueError):
        raw = b""
    # fromhex skips whitespace, so a short result also means a node was not 64 hex digits.
    if len(raw) != 32 * len(texts):
        raise _Stop(Reason.MALFORMED, f"its {name} is not hex SHA-256", event)
    return [raw[at : at + 32] for at in range(0, len(raw), 32)]


def _read_checkpoint(document: Any) -> SignedCheckpoint:
    try:
        return SignedCheckpoint.from_json(document)
    except CheckpointRejected as error:
        raise _Stop(Reason.MALFORMED, f"the checkpoint is unreadable: {error}") from None


def _check_signature(signed: SignedCheckpoint, keys: Any) -> None:
    try:
        _verify_signature(signed, keys)
    except CheckpointRejected as error:
        raise _Stop(Reason.BAD_SIGNATURE, f"the checkpoint is refused: {error}") from None


def verify_consistency_files(
    old: Any,
    new: Any,
    proof: Any = None,
    *,
    trusted_keys: Mapping[str, PublicKeyRecord] | None = None,
) -> ConsistencyReport:
    """Whether the log of checkpoint `new` extends the log of checkpoint `old`.

    `old` and `new` are each a signed checkpoint, a bundle or a consistency document. The proof
    comes from `new` (a consistency document's "consistency") or from `proof`, an object
    {"old_size", "new_size", "proof": [hex, ...]}. Keys: `trusted_keys`, else both files' keys.
    """
    sizes: list[int | None] = [None, None]
    try:
        old_signed, old_keys = _checkpoint_and_keys(old)
        new_signed, new_keys = _checkpoint_and_keys(new)
        sizes = [old_signed.checkpoint.tree_size, new_signed.checkpoint.tree_size]
        keys = trusted_keys if trusted_keys is not None else {**old_keys, **new_keys}
        _check_signature(old_signed, keys)
        _check_signature(new_signed, keys)
        _check_extends(old_signed, new_signed, new, proof)
    except _Stop as stop:
        return ConsistencyReport(
            ok=False, old_size=sizes[0], new_size=sizes[1], failure=stop.failure
        )
    return ConsistencyReport(ok=True, old_size=sizes[0], new_size=sizes[1], failure=None)


def _checkpoint_and_keys(document: Any) -> tuple[SignedCheckpoint, dict[str, Any]]:
    if isinstance(document, dict) and document.get("format") in (BUNDLE_FORMAT, CONSISTENCY_FORMAT):
        keys = document.get("public_keys")
        return _read_checkpoint(document.get("checkpoint")), keys if isinstance(keys, dict) else {}
    return _read_checkpoint(document), {}


def _check_extends(old: SignedCheckpoint, new: SignedCheckpoint, new_doc: Any, proof: Any) -> None:
    m, n = old.checkpoint.tree_size, new.checkpoint.tree_size
    if m > n:
        raise _Stop(
            Reason.MALFORMED, f"the older file's log ({m}) is larger than the newer's ({n})"
        )
    if isinstance(new_doc, dict) and isinstance(new_doc.get("consistency"), dict):
        proof = new_doc["consistency"]
    if m in (0, n):
        nodes: list[bytes] = []
    elif not isinstance(proof, dict) or (proof.get("old_size"), proof.get("new_size")) != (m, n):
        raise _Stop(Reason.MALFORMED, f"there is no consistency proof from {m} to {n} events")
    else:
        raw = proof.get("proof")
        if not isinstance(raw, list):
            raise _Stop(Reason.MALFORMED, "the consistency proof is not a list of hashes")
        nodes = _hashes(raw, None, "consistency proof")
    old_root, new_root = (
        bytes.fromhex(old.checkpoint.root_hash),
        bytes.fromhex(new.checkpoint.root_hash),
    )
    if not verify_consistency(m, n, old_root, new_root, nodes):
        sentence = (
            f"two signed checkpoints of {m} events have different roots: the log was rewritten"
            if m == n
            else f"the proof does not show the log of {n} events extends the log of {m}"
        )
        raise _Stop(Reason.BAD_PROOF, sentence)
