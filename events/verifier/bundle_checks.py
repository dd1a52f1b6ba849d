"""The offline verifier of prosecution bundles (invariant 6): each event
(events/verifier/event_checks.py), then the signatures and the stream head; a bundle of several
streams goes to events/verifier/multi_stream.py; events/verifier/consistency.py checks two
checkpoints.

It imports only the standard library, `cryptography` and the integrity modules, so the legal
team can run it on any machine, years later, with no database and no network. It stops at the
first failure and names the event and the rule it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.event_checks import check_corrections, check_events, corrections_of
from events.verifier.findings import (
    Failure,
    Reason,
    Stop,
    check_signature,
    collector_paused,
    read_checkpoint,
)
from events.verifier.multi_stream import STREAMS_BUNDLE_FORMAT, verify_streams_bundle
from events.verifier.report import VerificationReport
from events.verifier.stream_head import StreamHead, check_stream_head

__all__ = [
    "BUNDLE_FORMAT",
    "STREAMS_BUNDLE_FORMAT",
    "Failure",
    "Reason",
    "VerificationReport",
    "corrections_of",
    "read_bundle",
    "verify_bundle",
]

# Version 2 adds the signed stream head and the corrections index.
BUNDLE_FORMAT = "homeward-bundle/2"


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
    A bundle of several streams (events/verifier/multi_stream.py) is checked stream by stream.
    """
    if isinstance(bundle, dict) and bundle.get("format") == STREAMS_BUNDLE_FORMAT:
        return verify_streams_bundle(bundle, trusted_keys=trusted_keys)
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
            check_corrections(bundle["events"], bundle.get("corrections"))
            keys = bundle["public_keys"] if trusted_keys is None else trusted_keys
            check_signature(signed, keys)
            head = check_stream_head(
                bundle.get("stream_head"), bundle["operation_id"], bundle["events"], signed, keys
            )
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
