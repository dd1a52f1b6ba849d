"""The offline verifier of prosecution bundles (invariant 6); events/consistency.py checks two
checkpoints against each other.

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
from typing import Any

from events.canonical import NotCanonicalisable
from events.checkpoints import CheckpointRejected, PublicKeyRecord, SignedCheckpoint
from events.findings import Failure, Reason, Stop, check_signature, decode_hashes, read_checkpoint
from events.integrity import GENESIS, body_hash_of_text, link_hash
from events.merkle_proofs import InclusionChecker, hash_from_hex
from events.stream_head import SignedStreamHead, StreamHead, verify_stream_head

__all__ = ["BUNDLE_FORMAT", "Failure", "Reason", "VerificationReport", "verify_bundle"]

# Version 2 adds the signed stream head and the corrections index.
BUNDLE_FORMAT = "homeward-bundle/2"

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
_HASHED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)
# The one text form of an id inside a hash, str(UUID): what UUID(text) reads and writes back.
_HASHED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    head_version: int | None = None  # the last version, as the signed stream head states it

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
                f"the Merkle log of {self.tree_size} events signed by key {self.key_id}; the "
                f"signed stream head confirms version {self.head_version} was the last"
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


def verify_bundle(
    bundle: Any, *, trusted_keys: Mapping[str, PublicKeyRecord] | None = None
) -> VerificationReport:
    """Check a bundle event by event, then its signatures and stream head; stop at the first
    failure.

    Per event, in bundle order: shape, operation, version sequence (missing, out of order,
    duplicate), hash (body and link recomputed), chain (prev_hash), inclusion proof. Checking
    each event fully before the next names an inserted event itself, not its innocent successor.
    Then the corrections index, the checkpoint's signature, and the signed stream head: the
    bundle must end at the version and hash it states, so a dropped last event is named.
    `trusted_keys`, fetched from Homeward separately, replaces the keys the bundle carries.
    """
    events = bundle.get("events") if isinstance(bundle, dict) else None
    operation_id = bundle.get("operation_id") if isinstance(bundle, dict) else None
    verified = 0
    signed: SignedCheckpoint | None = None
    head: StreamHead | None = None
    failure: Failure | None = None
    with _cyclic_collector_paused():
        try:
            signed = _read_head(bundle)
            for _ in _check_events(bundle["events"], bundle["operation_id"], signed):
                verified += 1
            _check_corrections(bundle)
            keys = bundle["public_keys"] if trusted_keys is None else trusted_keys
            check_signature(signed, keys)
            head = _check_stream_head(bundle, signed, keys)
        except Stop as stop:
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
        head_version=head.version if head else None,
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
        raise Stop(Reason.MALFORMED, f"the file is not a {BUNDLE_FORMAT} bundle")
    if not isinstance(bundle.get("operation_id"), str) or not isinstance(
        bundle.get("events"), list
    ):
        raise Stop(Reason.MALFORMED, "the bundle lacks its operation_id or its events")
    if not bundle["events"]:
        raise Stop(Reason.MISSING_EVENT, "the bundle holds no events")
    if not isinstance(bundle.get("public_keys"), dict):
        raise Stop(Reason.MALFORMED, "the bundle lacks its public keys")
    return read_checkpoint(bundle.get("checkpoint"))


def _check_events(events: list[Any], operation_id: str, signed: SignedCheckpoint) -> Any:
    """Yield once per event that passes every check; raise Stop at the first that does not."""
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
            raise Stop(Reason.WRONG_OPERATION, f"it belongs to {event['stream_id']}", event)
        if version < expected:
            what = "this event appears twice" if event_id in seen_ids else "a second event"
            raise Stop(Reason.REORDERED_OR_DUPLICATE, f"{what} claims version {version}", event)
        if version > expected and ahead[expected] > 0:
            sentence = f"version {version} comes before version {expected}"
            raise Stop(Reason.REORDERED_OR_DUPLICATE, sentence, event)
        if version > expected:
            gap = f"{expected}" if version == expected + 1 else f"{expected} to {version - 1}"
            raise Stop(Reason.MISSING_EVENT, f"version {gap} is missing before it", event)
        stored, prev = _hash(event, "hash"), _hash(event, "prev_hash")
        if link_hash(_body_hash(event), prev, version) != stored:
            raise Stop(Reason.HASH_MISMATCH, "its recorded fields do not hash to its hash", event)
        if prev != previous_hash:
            sentence = (
                "its prev_hash is not the previous event's hash"
                if version > 1
                else "the first event's prev_hash is not 32 zero bytes"
            )
            raise Stop(Reason.BROKEN_CHAIN, sentence, event)
        if not proofs.check_hex(stored, event["leaf_index"], event["inclusion_proof"]):
            # A node that is not a hash is named as such, before the proof as a whole.
            decode_hashes(event["inclusion_proof"], event, "inclusion_proof")
            sentence = (
                f"its inclusion proof from leaf {event['leaf_index']} does not lead to the "
                f"checkpoint's root at {signed.checkpoint.tree_size} events"
            )
            raise Stop(Reason.BAD_PROOF, sentence, event)
        seen_ids.add(event_id)
        previous_hash, expected = stored, version + 1
        yield event


def _check_shape(event: Any) -> None:
    if not isinstance(event, dict):
        raise Stop(Reason.MALFORMED, "an event is not a JSON object")
    for name, kind in _EVENT_FIELDS:
        # Exact types, as JSON parsing gives them: a bool is not a version number.
        if type(event.get(name)) is not kind:
            raise Stop(Reason.MALFORMED, f"its {name} is missing or not {kind.__name__}", event)


def _body_hash(event: dict[str, Any]) -> bytes:
    """The body hash, computed as the server computes it, over text that must be the hashed text.

    The hash covers the canonical text of ids and times; text written otherwise (even the same
    instant in another zone) is not what was recorded, so it counts as a hash mismatch.
    """
    try:
        event_id, stream_id = event["event_id"], event["stream_id"]
        times = (event["occurred_at"], event["recorded_at"])
        if not (_HASHED_UUID.fullmatch(event_id) and _HASHED_UUID.fullmatch(stream_id)) or not (
            _HASHED_TIME.fullmatch(times[0]) and _HASHED_TIME.fullmatch(times[1])
        ):
            raise ValueError("not the hashed text")  # noqa: TRY301 -- same outcome as a bad parse
        # The shape fits; the date must also be one (no 31 February).
        datetime.fromisoformat(times[0])
        datetime.fromisoformat(times[1])
        return body_hash_of_text(
            event_id=event_id,
            stream_id=stream_id,
            event_type=event["type"],
            schema_version=event["schema_version"],
            data=event["data"],
            metadata=event["metadata"],
            occurred_at=times[0],
            recorded_at=times[1],
        )
    except (ValueError, NotCanonicalisable):
        sentence = "its ids or times are not written as they were hashed"
        raise Stop(Reason.HASH_MISMATCH, sentence, event) from None
    except RecursionError:
        # A crafted file can nest data deeper than any event the server accepts.
        raise Stop(Reason.MALFORMED, "its data is nested too deeply", event) from None


def _hash(event: dict[str, Any], name: str) -> bytes:
    value = hash_from_hex(event[name])
    if value is None:
        raise Stop(Reason.MALFORMED, f"its {name} is not hex SHA-256", event)
    return value


def corrections_of(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which events correct which: original event id -> correcting event ids, in order."""
    corrections: dict[str, list[str]] = {}
    for event in events:
        target = event["data"].get("corrects_event_id")
        if event["type"] == "EventCorrected" and isinstance(target, str):
            corrections.setdefault(target, []).append(event["event_id"])
    return corrections


def _check_corrections(bundle: dict[str, Any]) -> None:
    # The index is a reader's aid, derived from the events; it must say what they say.
    if bundle.get("corrections") != corrections_of(bundle["events"]):
        sentence = "the corrections index does not match the bundle's EventCorrected events"
        raise Stop(Reason.MALFORMED, sentence)


def _check_stream_head(bundle: dict[str, Any], signed: SignedCheckpoint, keys: Any) -> StreamHead:
    try:
        head = verify_stream_head(SignedStreamHead.from_json(bundle.get("stream_head")), keys)
    except CheckpointRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the stream head is refused: {error}") from None
    last = bundle["events"][-1]
    if head.operation_id != bundle["operation_id"]:
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
            f"the signed stream head says the operation had {head.version} events; "
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
