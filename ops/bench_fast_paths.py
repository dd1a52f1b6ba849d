"""The fast paths that bypass the plain way, each timed against the plain way it replaces.

    .venv/bin/python ops/bench_fast_paths.py

No database. Prints microseconds per call (best of five runs) for each fast path and for its
plain reference, and the ratio; the figures in the fast paths' docstrings come from here. Each
fast path is pinned to its plain reference by tests/test_fast_paths.py (and, for the event
index and the unread payloads, by tests/test_event_index.py and test_operation_properties.py).

Kept after timing in the service itself: CPython's private `json.encoder.c_make_encoder`, built
once (the public `JSONEncoder.encode` builds one per call), and the body hash written member by
member. Replaced by the plain way, both looked even here, but under load they doubled the body
hash's share of the service's processor time (py-spy, ops/bench_http.py --profile).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import timeit
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from coordinator.domain import Operation, Stage
from coordinator.domain.copying import replace
from coordinator.domain.event_index import EventIndex
from coordinator.domain.evolve import PAYLOAD_UNREAD
from coordinator.service.projection_folder import _stored_payload
from events.catalogue import parse_event
from events.store.envelope import Cursor, Recorded
from events.store.slots import constructor
from events.verifier import canonical
from events.verifier.chain import body_hash_of_text, link_hash

NOW = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
BODY: dict[str, Any] = {
    "channel": "family",
    "reporter": {"relationship": "mother", "personal": {"sealed": "x" * 120, "key": "k1"}},
    "missing_persons": [
        {
            "gender": "female",
            "age": 16,
            "home_province": "Lao Cai",
            "last_seen": "2026-09-28",
            "personal": {"sealed": "y" * 200, "key": "k2"},
        }
    ],
    "suspected_exploitation": "sexual",
    "suspected_country": "CN",
}
METADATA = {"recorded_by": "field-team-lao-cai", "role": "field", "request_id": "0" * 32}


def per_call(function: Callable[[], object], number: int) -> float:
    """Microseconds per call, the best of five runs."""
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def show(name: str, fast: Callable[[], object], plain: Callable[[], object], number: int) -> None:
    fast_us, plain_us = per_call(fast, number), per_call(plain, number)
    print(f"{name:46s} {fast_us:9.2f} {plain_us:9.2f} {plain_us / fast_us:7.1f}x")


def canonical_paths() -> None:
    def plain_writer() -> str:
        out: list[str] = []
        canonical._write(BODY, out)
        return "".join(out)

    show(
        "canonical JSON of an event body",
        lambda: canonical.canonical_text(BODY),
        plain_writer,
        20_000,
    )
    public = json.JSONEncoder(
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    show(
        "an event's metadata, private C encoder kept",
        lambda: canonical.canonical_text(METADATA),
        lambda: public.encode(METADATA),
        200_000,
    )
    text_form: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "stream_id": str(uuid.uuid4()),
        "event_type": "CaseReported",
        "schema_version": 1,
        "data": BODY,
        "metadata": METADATA,
        "occurred_at": "2026-10-01T02:00:00.000000Z",
        "recorded_at": "2026-10-01T02:00:01.000000Z",
    }
    document = dict(text_form)
    document["type"] = document.pop("event_type")
    show(
        "body hash, written member by member",
        lambda: body_hash_of_text(**text_form),
        lambda: hashlib.sha256(canonical.canonical_json(document)).digest(),
        20_000,
    )
    body, prev = bytes(range(32)), bytes(32)
    show(
        "link hash, the canonical document written out",
        lambda: link_hash(body, prev, 7),
        lambda: hashlib.sha256(
            canonical.canonical_json({"body": body.hex(), "prev": prev.hex(), "version": 7})
        ).digest(),
        100_000,
    )


def slot_paths() -> None:
    new_recorded = constructor(Recorded)
    ids = (uuid.uuid4(), uuid.uuid4())
    cursor = Cursor(1, 2, 3)
    fields = (*ids, 1, 3, cursor, "CaseReported", 1, BODY, METADATA, NOW, NOW, b"", b"", b"")
    show(
        "Recorded by slot constructor",
        lambda: new_recorded(*fields),
        lambda: Recorded(*fields),
        100_000,
    )
    state = Operation(
        operation_id=ids[0],
        phase=Stage.REPORTED,
        version=1,
        opened_at=NOW,
        updated_at=NOW,
        country="CN",
        event_types=EventIndex().with_event(ids[1], "CaseReported"),
    )
    show(
        "Operation copy with two changes",
        lambda: replace(state, version=2, phase=Stage.INVESTIGATING),
        lambda: dataclasses.replace(state, version=2, phase=Stage.INVESTIGATING),
        100_000,
    )


def index_paths() -> None:
    ids = [uuid.uuid4() for _ in range(1000)]

    def grow_index() -> EventIndex:
        index = EventIndex()
        for event_id in ids:
            index = index.with_event(event_id, "StatusNoted")
        return index

    def grow_dicts() -> dict[uuid.UUID, str]:
        # The plain immutable way: a new dict per event, as a frozen state must not share one.
        index: dict[uuid.UUID, str] = {}
        for event_id in ids:
            index = {**index, event_id: "StatusNoted"}
        return index

    show("fold 1,000 event ids into an immutable index", grow_index, grow_dicts, 5)


def payload_paths() -> None:
    data = {"source": "informant", "reliability": "B", "summary": "seen in a venue"}
    if "LeadRecorded" not in PAYLOAD_UNREAD:
        raise SystemExit("LeadRecorded is no longer folded unread: time another type")
    show(
        "a stored LeadRecorded payload for the fold",
        lambda: _stored_payload("LeadRecorded", 1, data),
        lambda: parse_event("LeadRecorded", 1, data),
        100_000,
    )


def main() -> None:
    print(f"{'fast path':46s} {'fast us':>9s} {'plain us':>9s} {'gain':>8s}")
    canonical_paths()
    slot_paths()
    index_paths()
    payload_paths()


if __name__ == "__main__":
    main()
