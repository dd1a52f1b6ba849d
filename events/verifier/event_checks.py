"""Checking a bundle's events one by one: shape, hash, chain, sequence and inclusion proof.

events/verifier/bundle_checks.py runs these checks over a bundle, then its signatures and stream
head; events/verifier/multi_stream.py runs them over each stream of a bundle of several. A bundle
of several streams may hold stubs: events whose data and metadata it withholds (a survivor's
counselling notes never reach the defence). A stub carries its body hash instead, so it is checked
by its link in the chain and its inclusion proof only. Standard library and the verifier's own
modules only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NoReturn

from events.verifier.canonical import NotCanonicalisable
from events.verifier.chain import GENESIS, body_hash_of_text, link_hash
from events.verifier.checkpoints import SignedCheckpoint
from events.verifier.findings import Reason, Stop, decode_hashes
from events.verifier.merkle_proofs import InclusionChecker, hash_from_hex

# Each event's fields and their JSON types, and no others; `position` (the event's place in the
# global order) is not hashed: the bundle's signed manifest covers it.
_EVENT_FIELDS: tuple[tuple[str, type], ...] = (
    ("event_id", str),
    ("stream_id", str),
    ("version", int),
    ("position", int),
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
_FIELD_NAMES = tuple(name for name, _ in _EVENT_FIELDS)
_FIELD_KINDS = tuple(kind for _, kind in _EVENT_FIELDS)
_FIELD_COUNT = len(_EVENT_FIELDS)
# A stub's fields: an event's without data and metadata, with the body hash they hashed to, and
# the marker `"stub": true`. Its ids, type and times are as the exporter states them: the body
# hash covers them, but with the data withheld nobody can recompute it.
STUB = "stub"
_STUB_FIELDS: tuple[tuple[str, type], ...] = (
    *((name, kind) for name, kind in _EVENT_FIELDS if name not in {"data", "metadata"}),
    ("body_hash", str),
    (STUB, bool),
)
_STUB_NAMES = tuple(name for name, _ in _STUB_FIELDS)
_WITHHELD = ("data", "metadata")
# The one text form of an id inside a hash, str(UUID): what UUID(text) reads and writes back.
_HASHED_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The one text form of a time inside a hash (events.verifier.chain.timestamp): every field has a
# fixed width, so text of this shape that parses as a time is the text that time is hashed as,
# and is hashed as it stands.
_HASHED_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
# Both ids and both times of an event, written with a space between them: neither form holds a
# space, so one match of this is the four matches of each text alone.
_HASHED_TEXTS = re.compile(f"{_HASHED_UUID} {_HASHED_UUID} {_HASHED_TIME} {_HASHED_TIME}", re.ASCII)


def check_events(
    events: list[Any],
    operation_id: str,
    signed: SignedCheckpoint,
    *,
    stubs_allowed: bool = False,
    proofs: InclusionChecker | None = None,
) -> Any:
    """Yield once per event that passes every check; raise Stop at the first that does not.

    Per event, in bundle order: shape, operation, version sequence (missing, out of order,
    duplicate), hash (body and link recomputed), chain (prev_hash), inclusion proof. Checking
    each event fully before the next names an inserted event itself, not its innocent successor.
    With `stubs_allowed` an event marked `"stub": true` is checked with its stated body hash and
    must carry no data and no metadata. `proofs` lets several streams share one proof checker.
    """
    if proofs is None:
        root = bytes.fromhex(signed.checkpoint.root_hash)
        proofs = InclusionChecker(signed.checkpoint.tree_size, root)
    previous_hash, expected = GENESIS, 1
    for at, event in enumerate(events):
        stub = stubs_allowed and type(event) is dict and STUB in event
        if stub:
            _check_stub_shape(event)
        # All fields' exact types, and no other field, in one comparison; the field-by-field
        # check names the odd one.
        elif (
            type(event) is not dict
            or len(event) != _FIELD_COUNT
            or tuple(map(type, map(event.get, _FIELD_NAMES))) != _FIELD_KINDS
        ):
            _check_shape(event)
        version = event["version"]
        if event["stream_id"] != operation_id:
            raise Stop(Reason.WRONG_OPERATION, f"it belongs to {event['stream_id']}", event)
        if version != expected:
            _out_of_sequence(events, at, expected)
        stored, prev = hash_from_hex(event["hash"]), hash_from_hex(event["prev_hash"])
        if stored is None or prev is None:
            name = "hash" if stored is None else "prev_hash"
            raise Stop(Reason.MALFORMED, f"its {name} is not lower-case hex SHA-256", event)
        if stub:
            body = hash_from_hex(event["body_hash"])
            if body is None:
                raise Stop(Reason.MALFORMED, "its body_hash is not lower-case hex SHA-256", event)
            if link_hash(body, prev, version) != stored:
                sentence = "the stub's body hash does not chain to its hash"
                raise Stop(Reason.HASH_MISMATCH, sentence, event)
        elif link_hash(_body_hash(event), prev, version) != stored:
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
        previous_hash, expected = stored, version + 1
        yield event


def _out_of_sequence(events: list[Any], at: int, expected: int) -> NoReturn:
    """Stop at events[at], whose version is not `expected`: every event before it verified.

    Looked up only here, so a bundle in order costs no index of versions or ids.
    """
    event = events[at]
    version, event_id = event["version"], event["event_id"]
    if version < expected:
        seen = any(earlier["event_id"] == event_id for earlier in events[:at])
        what = "this event appears twice" if seen else "a second event"
        raise Stop(Reason.REORDERED_OR_DUPLICATE, f"{what} claims version {version}", event)
    # Whether the missing version is still to come: then this event is out of place, not a gap.
    if any(
        type(later) is dict and type(later.get("version")) is int and later["version"] == expected
        for later in events[at + 1 :]
    ):
        sentence = f"version {version} comes before version {expected}"
        raise Stop(Reason.REORDERED_OR_DUPLICATE, sentence, event)
    gap = f"{expected}" if version == expected + 1 else f"{expected} to {version - 1}"
    raise Stop(Reason.MISSING_EVENT, f"version {gap} is missing before it", event)


def _check_shape(event: Any) -> None:
    if not isinstance(event, dict):
        raise Stop(Reason.MALFORMED, "an event is not a JSON object")
    for name, kind in _EVENT_FIELDS:
        # Exact types, as JSON parsing gives them: a bool is not a version number.
        if type(event.get(name)) is not kind:
            raise Stop(Reason.MALFORMED, f"its {name} is missing or not {kind.__name__}", event)
    _refuse_unknown(event, _FIELD_NAMES)


def _refuse_unknown(event: dict[str, Any], names: tuple[str, ...]) -> None:
    unknown = sorted(set(event) - set(names))
    if unknown:
        sentence = f"it carries a field no check covers: {unknown[0]!r}"
        raise Stop(Reason.UNKNOWN_FIELD, sentence, event)


def _check_stub_shape(event: dict[str, Any]) -> None:
    withheld = [name for name in _WITHHELD if name in event]
    if withheld:
        sentence = (
            f"a stub must withhold its data and metadata, and this one carries its {withheld[0]}"
        )
        raise Stop(Reason.STUB_CARRIES_DATA, sentence, event)
    for name, kind in _STUB_FIELDS:
        if type(event.get(name)) is not kind:
            raise Stop(Reason.MALFORMED, f"its {name} is missing or not {kind.__name__}", event)
    if event[STUB] is not True:
        raise Stop(Reason.MALFORMED, f'its "{STUB}" marker is not true', event)
    _refuse_unknown(event, _STUB_NAMES)


def corrections_of(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which events correct which: original event id -> correcting event ids, in order.

    A stub's data is withheld, so a correction that is a stub is not listed.
    """
    corrections: dict[str, list[str]] = {}
    for event in events:
        data = event.get("data")  # a stub has none
        target = data.get("corrects_event_id") if isinstance(data, dict) else None
        if event["type"] == "EventCorrected" and isinstance(target, str):
            corrections.setdefault(target, []).append(event["event_id"])
    return corrections


def check_corrections(events: list[dict[str, Any]], index: Any) -> None:
    """Stop(MALFORMED) unless `index`, a reader's aid derived from the events, says what they
    say."""
    if index != corrections_of(events):
        sentence = "the corrections index does not match the bundle's EventCorrected events"
        raise Stop(Reason.MALFORMED, sentence)


def _body_hash(event: dict[str, Any]) -> bytes:
    """The body hash, computed as the server computes it, over text that must be the hashed text.

    The hash covers the canonical text of ids and times; text written otherwise (even the same
    instant in another zone) is not what was recorded, so it counts as a hash mismatch.
    """
    try:
        event_id, stream_id = event["event_id"], event["stream_id"]
        occurred_at, recorded_at = event["occurred_at"], event["recorded_at"]
        if not _HASHED_TEXTS.fullmatch(f"{event_id} {stream_id} {occurred_at} {recorded_at}"):
            raise ValueError("not the hashed text")  # noqa: TRY301 -- same outcome as a bad parse
        # The shape fits; the date must also be one (no 31 February).
        datetime.fromisoformat(occurred_at)
        datetime.fromisoformat(recorded_at)
        return body_hash_of_text(
            event_id=event_id,
            stream_id=stream_id,
            event_type=event["type"],
            schema_version=event["schema_version"],
            data=event["data"],
            metadata=event["metadata"],
            occurred_at=occurred_at,
            recorded_at=recorded_at,
        )
    except (ValueError, NotCanonicalisable):
        sentence = "its ids or times are not written as they were hashed"
        raise Stop(Reason.HASH_MISMATCH, sentence, event) from None
    except RecursionError:
        # A crafted file can nest data deeper than any event the server accepts.
        raise Stop(Reason.MALFORMED, "its data is nested too deeply", event) from None
