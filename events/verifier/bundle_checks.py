"""The offline verifier of prosecution bundles (invariant 6): the outline, the checkpoint's
signature, each event (events/verifier/event_checks.py), the stream head, then the signed
manifest; a bundle of several streams goes to events/verifier/multi_stream.py;
events/verifier/consistency.py checks two checkpoints.

It imports only the standard library, `cryptography` and the integrity modules, so the legal
team can run it on any machine, years later, with no database and no network. It stops at the
first failure and names the event and the rule it breaks. Which keys it trusts is
events/verifier/trust.py's concern: a bundle checked only under the keys it carries proves
nothing about who signed it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cryptography import x509

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
from events.verifier.manifest import check_manifest
from events.verifier.multi_stream import verify_streams_bundle
from events.verifier.note_checks import NoteFindings, check_note
from events.verifier.outline import (
    BUNDLE_FIELDS,
    BUNDLE_FORMAT,
    BUNDLE_OPTIONAL,
    STREAMS_BUNDLE_FORMAT,
    check_format,
    check_members,
    check_texts,
)
from events.verifier.report import VerificationReport, with_note
from events.verifier.signed_note import VerifierKey
from events.verifier.stream_head import StreamHead, check_stream_head
from events.verifier.strict_json import load_json
from events.verifier.timestamp_checks import TimestampFindings, check_timestamp
from events.verifier.trust import KeysRefused, Trust, trust

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


def read_bundle(text: str | bytes) -> Any:
    """Parse a bundle file as strict JSON (raises NotStrictJson, a ValueError, if it is not JSON
    or names a member twice); check it with verify_bundle."""
    with collector_paused():
        return load_json(text)


def verify_bundle(
    bundle: Any,
    *,
    trusted_keys: Mapping[str, PublicKeyRecord] | None = None,
    pinned_key_ids: Collection[str] | None = None,
    witness_keys: Collection[VerifierKey] = (),
    required_witnesses: int = 0,
    tsa_certificates: Collection[x509.Certificate] = (),
) -> VerificationReport:
    """Check a bundle; stop at the first failure.

    In order: the outline (exactly the format's members), the checkpoint's signature (so a
    changed root is blamed on the checkpoint), then per event, in bundle order: shape, operation,
    version sequence (missing, out of order, duplicate), hash (body and link recomputed), chain
    (prev_hash), inclusion proof; then the corrections index, the signed stream head (the bundle
    must end at the version and hash it states, so a dropped last event is named), and last the
    signed manifest, which covers every other byte of meaning. Keys: `trusted_keys` (fetched
    from Homeward separately), else the bundle's keys with the ids in `pinned_key_ids`, else the
    bundle's own keys, and then the report is not `proven`. The checkpoint note, if carried, right
    after the checkpoint (events/verifier/note_checks.py): at least `required_witnesses` of
    `witness_keys` must have cosigned it; then its RFC 3161 timestamp, if carried (required and
    checked under `tsa_certificates` if any is given: events/verifier/timestamp_checks.py). A
    bundle of several streams (events/verifier/multi_stream.py) is checked stream by stream.
    """
    try:
        caller = trust(
            trusted_keys,
            pinned_key_ids,
            witnesses=witness_keys,
            required_witnesses=required_witnesses,
            tsa_certificates=tsa_certificates,
        )
    except KeysRefused as error:
        return _refused(bundle, Trust(), Failure(Reason.BAD_SIGNATURE, str(error)))
    # A tuple, not a set: a crafted format may be a list, which a set cannot hash.
    if isinstance(bundle, dict) and bundle.get("format") in (
        STREAMS_BUNDLE_FORMAT,
        "homeward-streams-bundle/1",
    ):
        return verify_streams_bundle(bundle, caller)
    verified = 0
    signed: SignedCheckpoint | None = None
    head: StreamHead | None = None
    note: NoteFindings | None = None
    stamp: TimestampFindings | None = None
    failure: Failure | None = None
    with collector_paused():
        try:
            signed = _read_head(bundle)
            keys = caller.keys_for(bundle["public_keys"])
            check_signature(signed, keys)
            note = check_note(bundle, signed, keys, caller)
            stamp = check_timestamp(bundle, caller)
            for _ in check_events(bundle["events"], bundle["operation_id"], signed):
                verified += 1
            check_corrections(bundle["events"], bundle["corrections"])
            head = check_stream_head(
                bundle["stream_head"], bundle["operation_id"], bundle["events"], signed, keys
            )
            check_manifest(bundle, keys)
        except Stop as stop:
            failure = stop.failure
    report = _report(bundle, caller, failure, verified, signed=signed, head=head)
    return with_note(report, note, stamp)


def _refused(bundle: Any, caller: Trust, failure: Failure) -> VerificationReport:
    return _report(bundle, caller, failure, 0, signed=None, head=None)


def _report(
    bundle: Any,
    caller: Trust,
    failure: Failure | None,
    verified: int,
    *,
    signed: SignedCheckpoint | None,
    head: StreamHead | None,
) -> VerificationReport:
    events = bundle.get("events") if isinstance(bundle, dict) else None
    operation_id = bundle.get("operation_id") if isinstance(bundle, dict) else None
    return VerificationReport(
        ok=failure is None,
        operation_id=operation_id if isinstance(operation_id, str) else None,
        events_total=len(events) if isinstance(events, list) else 0,
        events_verified=verified,
        proofs_verified=verified,
        signature_verified=failure is None,
        tree_size=signed.checkpoint.tree_size if signed else None,
        key_id=signed.checkpoint.key_id if signed else None,
        keys_from=caller.source.value,
        first_failure=failure,
        head_version=head.version if head else None,
    )


def _read_head(bundle: Any) -> SignedCheckpoint:
    check_format(bundle, BUNDLE_FORMAT)
    check_members(bundle, BUNDLE_FIELDS, BUNDLE_OPTIONAL, "the bundle")
    if not isinstance(bundle["operation_id"], str) or not isinstance(bundle["events"], list):
        sentence = "the bundle's operation_id is not text or its events are not a list"
        raise Stop(Reason.MALFORMED, sentence)
    if not bundle["events"]:
        raise Stop(Reason.MISSING_EVENT, "the bundle holds no events")
    check_texts(bundle)
    return read_checkpoint(bundle["checkpoint"])
