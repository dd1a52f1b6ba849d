"""The offline verifier of prosecution bundles (invariant 6): each event
(events/verifier/event_checks.py), then the signatures and the stream head;
events/verifier/consistency.py checks two checkpoints.

It imports only the standard library, `cryptography` and the integrity modules, so the legal
team can run it on any machine, years later, with no database and no network. It stops at the
first failure and names the event and the rule it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from events.verifier.checkpoints import CheckpointRejected, PublicKeyRecord, SignedCheckpoint
from events.verifier.event_checks import check_events
from events.verifier.findings import (
    Failure,
    Reason,
    Stop,
    check_signature,
    collector_paused,
    read_checkpoint,
)
from events.verifier.stream_head import SignedStreamHead, StreamHead, verify_stream_head

__all__ = [
    "BUNDLE_FORMAT",
    "Failure",
    "Reason",
    "VerificationReport",
    "read_bundle",
    "verify_bundle",
]

# Version 2 adds the signed stream head and the corrections index.
BUNDLE_FORMAT = "homeward-bundle/2"


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


def read_bundle(text: str | bytes) -> Any:
    """Parse a bundle file's JSON (raises ValueError if it is not JSON); check it with
    verify_bundle."""
    with collector_paused():
        return json.loads(text)


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
    with collector_paused():
        try:
            signed = _read_head(bundle)
            for _ in check_events(bundle["events"], bundle["operation_id"], signed):
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
