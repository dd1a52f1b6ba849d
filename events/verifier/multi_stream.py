"""The offline verifier of a bundle of several streams: a prosecution's stream with its linked
operation and survivor-case streams, every event proven in one signed checkpoint.

    bundle = {"format": "homeward-streams-bundle/2", "primary_stream_id", "exported_at",
              "as_of"?, "streams": [{"stream_id", "kind" (optional text, a reader's aid),
                                     "events": [event or stub, ...], "corrections": {...},
                                     "stream_head": {"head": {...}, "signature"}}, ...],
              "checkpoint": {"checkpoint": {...}, "signature"}, "public_keys": {...},
              "statement": text, "manifest": {"manifest": {...}, "signature"}}

An event is as in a one-stream bundle (events/verifier/bundle_checks.py). A stub is an event
whose data and metadata the bundle withholds: `"stub": true` and its `body_hash` in their place,
checked by its link in the chain and its inclusion proof only. The checkpoint's signature first,
then each stream from version 1 without gaps, then each stream's signed head (its `operation_id`
is the stream's id), then the signed manifest (events/verifier/manifest.py). The first failure
names its stream. Standard library and the verifier's own
modules only.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from events.verifier.checkpoints import SignedCheckpoint
from events.verifier.event_checks import STUB, check_corrections, check_events
from events.verifier.findings import (
    Failure,
    Reason,
    Stop,
    check_signature,
    collector_paused,
    read_checkpoint,
)
from events.verifier.manifest import check_manifest
from events.verifier.merkle_proofs import InclusionChecker
from events.verifier.note_checks import NoteFindings, check_note
from events.verifier.outline import (
    BUNDLE_OPTIONAL,
    STREAM_FIELDS,
    STREAM_OPTIONAL,
    STREAMS_BUNDLE_FIELDS,
    STREAMS_BUNDLE_FORMAT,
    check_format,
    check_members,
    check_texts,
)
from events.verifier.report import VerificationReport, with_note
from events.verifier.stream_head import StreamHead, check_stream_head
from events.verifier.timestamp_checks import TimestampFindings, check_timestamp
from events.verifier.trust import Trust

__all__ = ["STREAMS_BUNDLE_FORMAT", "verify_streams_bundle"]


def verify_streams_bundle(bundle: Any, caller: Trust) -> VerificationReport:
    """Check a bundle of several streams: the checkpoint's signature, then stream by stream,
    event by event, then each stream's signed head, then the manifest; stop at the first
    failure, naming its stream. `caller` says which keys are trusted (events/verifier/trust.py).
    """
    streams = bundle.get("streams") if isinstance(bundle, dict) else None
    primary = bundle.get("primary_stream_id") if isinstance(bundle, dict) else None
    verified = 0
    signed: SignedCheckpoint | None = None
    primary_head: StreamHead | None = None
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
            # One checker for all streams: their proofs share the nodes near the root.
            checkpoint = signed.checkpoint
            proofs = InclusionChecker(checkpoint.tree_size, bytes.fromhex(checkpoint.root_hash))
            for stream in bundle["streams"]:
                stream_id, events = stream["stream_id"], stream["events"]
                with _in_stream(stream_id):
                    for _ in check_events(
                        events, stream_id, signed, stubs_allowed=True, proofs=proofs
                    ):
                        verified += 1
                    check_corrections(events, stream["corrections"])
            for stream in bundle["streams"]:
                stream_id, events = stream["stream_id"], stream["events"]
                with _in_stream(stream_id):
                    head = check_stream_head(stream["stream_head"], stream_id, events, signed, keys)
                if stream_id == primary:
                    primary_head = head
            check_manifest(bundle, keys)
        except Stop as stop:
            failure = stop.failure
    events_total, stubs_total = _counts(streams)
    report = VerificationReport(
        ok=failure is None,
        operation_id=primary if isinstance(primary, str) else None,
        events_total=events_total,
        events_verified=verified,
        proofs_verified=verified,
        signature_verified=failure is None,
        tree_size=signed.checkpoint.tree_size if signed else None,
        key_id=signed.checkpoint.key_id if signed else None,
        keys_from=caller.source.value,
        first_failure=failure,
        head_version=primary_head.version if primary_head else None,
        streams_total=len(streams) if isinstance(streams, list) else 0,
        stubs_total=stubs_total,
    )
    return with_note(report, note, stamp)


@contextlib.contextmanager
def _in_stream(stream_id: str) -> Iterator[None]:
    """Name `stream_id` in a failure found inside the block."""
    try:
        yield
    except Stop as stop:
        stop.failure = dataclasses.replace(stop.failure, stream_id=stream_id)
        raise


def _read_head(bundle: Any) -> SignedCheckpoint:
    """The checkpoint, once the bundle's outline holds: exactly its members, distinct, non-empty
    streams of exactly theirs, the primary among them, and the public keys."""
    check_format(bundle, STREAMS_BUNDLE_FORMAT)
    check_members(bundle, STREAMS_BUNDLE_FIELDS, BUNDLE_OPTIONAL, "the bundle")
    streams, primary = bundle["streams"], bundle["primary_stream_id"]
    if not isinstance(primary, str) or not isinstance(streams, list):
        sentence = "the bundle's primary_stream_id is not text or its streams are not a list"
        raise Stop(Reason.MALFORMED, sentence)
    if not streams:
        raise Stop(Reason.MISSING_EVENT, "the bundle holds no streams")
    check_texts(bundle)
    seen: set[str] = set()
    for stream in streams:
        if not isinstance(stream, dict) or not isinstance(stream.get("stream_id"), str):
            raise Stop(Reason.MALFORMED, "a stream is not an object with a stream_id")
        stream_id = stream["stream_id"]
        with _in_stream(stream_id):
            check_members(stream, STREAM_FIELDS, STREAM_OPTIONAL, "the stream")
            if not isinstance(stream["events"], list):
                raise Stop(Reason.MALFORMED, "the stream's events are not a list")
            if not stream["events"]:
                raise Stop(Reason.MISSING_EVENT, "the stream holds no events")
            if not isinstance(stream.get("kind", ""), str):
                raise Stop(Reason.MALFORMED, "the stream's kind is not text")
            if stream_id in seen:
                raise Stop(Reason.MALFORMED, "the stream appears twice in the bundle")
        seen.add(stream_id)
    if primary not in seen:
        raise Stop(Reason.MALFORMED, f"the primary stream {primary} is not in the bundle")
    return read_checkpoint(bundle["checkpoint"])


def _counts(streams: Any) -> tuple[int, int]:
    """How many events, and how many stubs, the bundle's streams hold (as far as readable)."""
    events = stubs = 0
    for stream in streams if isinstance(streams, list) else []:
        listed = stream.get("events") if isinstance(stream, dict) else None
        if isinstance(listed, list):
            events += len(listed)
            stubs += sum(1 for event in listed if isinstance(event, dict) and STUB in event)
    return events, stubs
