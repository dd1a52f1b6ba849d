"""A prosecution's bundle of several streams: every stream proven in one checkpoint, counselling
notes written as stubs, and tampering in any stream named with its stream and event."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.feed.signal import LogSignal
from events.store.envelope import NewEvent
from events.store.event_store import EventStore
from events.verifier.bundle_checks import BUNDLE_FORMAT, Reason, verify_bundle
from events.verifier.multi_stream import STREAMS_BUNDLE_FORMAT
from evidence.export import (
    OperationNotFound,
    RecordTampered,
    export_bundle,
    export_streams_bundle,
)
from evidence.integrator import LogIntegrator
from evidence.keyring import SigningKeyring
from evidence.merkle_log import MerkleLog

Bundle = dict[str, Any]
COUNSELLING_NOTE = "she spoke about the night at the border for the first time"


@dataclass(frozen=True)
class Case:
    """The three streams of one prosecution, and its bundle as exported."""

    prosecution: uuid.UUID
    operation: uuid.UUID
    survivor: uuid.UUID
    bundle: Bundle


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """The log's signing keys, in files."""
    return SigningKeyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def integrator(
    store: EventStore, signal: LogSignal, database_url: str, keyring: SigningKeyring
) -> LogIntegrator:
    """An integrator that would sign only once an hour at its own pace (exports ask at once)."""
    return LogIntegrator(MerkleLog(), store, signal, database_url, keyring, interval_seconds=3600)


def an_event(event_type: str, data: dict[str, Any], **metadata: Any) -> NewEvent:
    """One event of `event_type` with its payload and metadata."""
    return NewEvent(
        event_id=uuid.uuid4(),
        type=event_type,
        data=data,
        occurred_at=datetime.now(UTC),
        metadata=metadata,
    )


def counselling_only(event_type: str, _stream_id: uuid.UUID) -> bool:
    """Write counselling sessions as stubs, whatever their stream."""
    return event_type == "CounsellingSessionHeld"


async def a_prosecution(store: EventStore) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A prosecution (3 events), its operation (4) and a survivor's case (3, two of them
    counselling sessions), appended in turns so that their leaves interleave in the log."""
    prosecution, operation, survivor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await store.append(operation, [an_event("CaseReported", {"channel": "family"})])
    await store.append(prosecution, [an_event("ProsecutionOpened", {"court": "Hà Nội"})])
    await store.append(survivor, [an_event("CaseOpened", {"survivor": "S-1"})])
    await store.append(
        survivor,
        [an_event("CounsellingSessionHeld", {"notes": COUNSELLING_NOTE}, counsellor="C-7")],
    )
    await store.append(
        operation,
        [an_event("LeadRecorded", {"source": "hotline"}), an_event("RescuePlanned", {"team": 2})],
    )
    await store.append(prosecution, [an_event("OperationLinked", {"operation": str(operation)})])
    await store.append(
        survivor, [an_event("CounsellingSessionHeld", {"notes": "second session"}, room="3")]
    )
    await store.append(operation, [an_event("RescueCompleted", {"survivors": 1})])
    await store.append(prosecution, [an_event("SurvivorCaseLinked", {"case": str(survivor)})])
    return prosecution, operation, survivor


@pytest.fixture(scope="module")
async def case(store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator) -> Case:
    """One prosecution exported with its linked streams, counselling sessions as stubs."""
    prosecution, operation, survivor = await a_prosecution(store)
    bundle = await export_streams_bundle(
        pool,
        integrator,
        [operation, survivor],
        primary=prosecution,
        stub=counselling_only,
        kinds={prosecution: "prosecution", operation: "operation", survivor: "survivor_case"},
        wait_seconds=10,
    )
    return Case(prosecution, operation, survivor, bundle)


@pytest.fixture
def bundle(case: Case) -> Bundle:
    """A copy of the exported bundle, for a test to tamper with."""
    return copy.deepcopy(case.bundle)


def stream_of(bundle: Bundle, stream_id: uuid.UUID) -> dict[str, Any]:
    """The bundle's entry for `stream_id`."""
    streams: list[dict[str, Any]] = bundle["streams"]
    (stream,) = (s for s in streams if s["stream_id"] == str(stream_id))
    return stream


def events_of(bundle: Bundle, stream_id: uuid.UUID) -> list[dict[str, Any]]:
    """The events the bundle holds for `stream_id`."""
    events: list[dict[str, Any]] = stream_of(bundle, stream_id)["events"]
    return events


def assert_fails(
    bundle: Bundle, reason: Reason, stream_id: uuid.UUID, event: dict[str, Any] | None
) -> None:
    """verify_bundle fails with `reason` in `stream_id`, naming `event` (None: no event)."""
    report = verify_bundle(bundle)
    assert not report.ok
    failure = report.first_failure
    assert failure is not None
    assert (failure.reason, failure.stream_id) == (reason, str(stream_id)), report.summary()
    if event is None:
        assert failure.event_id is None
    else:
        assert (failure.event_id, failure.version) == (event["event_id"], event["version"])
    assert f"in stream {stream_id}" in report.summary()


def test_a_bundle_of_three_streams_verifies(case: Case, keyring: SigningKeyring) -> None:
    """Every event of the three streams verifies against the published keys, stubs included."""
    report = verify_bundle(case.bundle, trusted_keys=keyring.public_keys())
    assert report.ok, report.summary()
    assert case.bundle["format"] == STREAMS_BUNDLE_FORMAT
    assert case.bundle["primary_stream_id"] == str(case.prosecution)
    assert [s["stream_id"] for s in case.bundle["streams"]] == [
        str(case.prosecution),
        str(case.operation),
        str(case.survivor),
    ]
    assert [s["kind"] for s in case.bundle["streams"]] == [
        "prosecution",
        "operation",
        "survivor_case",
    ]
    assert (report.streams_total, report.events_total, report.stubs_total) == (3, 10, 2)
    assert (report.events_verified, report.proofs_verified) == (10, 10)
    assert report.operation_id == str(case.prosecution)
    assert report.head_version == 3
    assert report.summary().startswith("Verified: all 10 events of 3 streams")
    assert "2 of them stubs" in report.summary()


def test_stubs_carry_no_data_and_no_metadata(case: Case) -> None:
    """A counselling session is in the bundle as a stub: its place and hashes, never its words."""
    stubs = [event for event in events_of(case.bundle, case.survivor) if event.get("stub")]
    assert [event["version"] for event in stubs] == [2, 3]
    for event in stubs:
        assert "data" not in event
        assert "metadata" not in event
        assert event["type"] == "CounsellingSessionHeld"
        assert len(event["body_hash"]) == 64
    assert COUNSELLING_NOTE not in json.dumps(case.bundle, ensure_ascii=False)
    assert "C-7" not in json.dumps(case.bundle, ensure_ascii=False)
    full = events_of(case.bundle, case.survivor)[0]
    assert "stub" not in full
    assert "body_hash" not in full
    assert full["data"] == {"survivor": "S-1"}


def test_all_streams_are_proven_in_one_checkpoint(case: Case) -> None:
    """Each stream's signed head names the one checkpoint's log size and the stream's last event."""
    size = case.bundle["checkpoint"]["checkpoint"]["tree_size"]
    for stream in case.bundle["streams"]:
        head = stream["stream_head"]["head"]
        assert head["operation_id"] == stream["stream_id"]
        assert head["tree_size"] == size
        assert (head["version"], head["head_hash"]) == (
            stream["events"][-1]["version"],
            stream["events"][-1]["hash"],
        )


def test_the_command_line_verifies_a_bundle_of_several_streams(
    case: Case, tmp_path: Path, keyring: SigningKeyring
) -> None:
    """`coordinator audit verify FILE --keys KEYS` checks a bundle of several streams as it
    checks one."""
    path, keys = tmp_path / "bundle.json", tmp_path / "keys.json"
    path.write_text(json.dumps(case.bundle), encoding="utf-8")
    keys.write_text(json.dumps(keyring.public_keys()), encoding="utf-8")
    ran = subprocess.run(  # noqa: S603 -- our own interpreter and command, a file we wrote
        [sys.executable, "-m", "coordinator", "audit", "verify", str(path), "--keys", str(keys)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Verified: all 10 events of 3 streams")


def test_changing_an_event_in_a_linked_stream_names_that_stream_and_event(
    case: Case, bundle: Bundle
) -> None:
    """Editing the operation's second event is a hash mismatch there."""
    event = events_of(bundle, case.operation)[1]
    event["data"]["source"] = "informant"
    assert_fails(bundle, Reason.HASH_MISMATCH, case.operation, event)


def test_dropping_an_event_in_the_middle_of_a_stream_names_the_gap(
    case: Case, bundle: Bundle
) -> None:
    """Without the operation's second event, its third is named, version 2 missing before it."""
    events = events_of(bundle, case.operation)
    del events[1]
    assert_fails(bundle, Reason.MISSING_EVENT, case.operation, events[1])
    assert "version 2 is missing" in verify_bundle(bundle).summary()


def test_a_stream_must_start_at_version_one(case: Case, bundle: Bundle) -> None:
    """Without the survivor case's first event, the stream's next event is named."""
    events = events_of(bundle, case.survivor)
    del events[0]
    assert_fails(bundle, Reason.MISSING_EVENT, case.survivor, events[0])


def test_dropping_a_streams_last_event_is_caught_by_its_signed_head(
    case: Case, bundle: Bundle
) -> None:
    """The operation's signed head says version 4 was its last; without it the bundle fails."""
    del events_of(bundle, case.operation)[-1]
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MISSING_EVENT
    assert (report.first_failure.stream_id, report.first_failure.version) == (
        str(case.operation),
        4,
    )


def test_changing_a_stubs_body_hash_is_a_hash_mismatch_at_the_stub(
    case: Case, bundle: Bundle
) -> None:
    """A stub is held to its link: another body hash does not chain to its hash."""
    stub = events_of(bundle, case.survivor)[1]
    stub["body_hash"] = "00" * 32
    assert_fails(bundle, Reason.HASH_MISMATCH, case.survivor, stub)


def test_a_stub_that_carries_data_is_refused(case: Case, bundle: Bundle) -> None:
    """A stub with data slipped back in is refused, even though its link still holds."""
    stub = events_of(bundle, case.survivor)[2]
    stub["data"] = {"notes": "invented"}
    assert_fails(bundle, Reason.STUB_CARRIES_DATA, case.survivor, stub)


def test_a_stub_that_carries_metadata_is_refused(case: Case, bundle: Bundle) -> None:
    """Metadata is withheld too."""
    stub = events_of(bundle, case.survivor)[1]
    stub["metadata"] = {}
    assert_fails(bundle, Reason.STUB_CARRIES_DATA, case.survivor, stub)


def test_an_event_swapped_between_streams_is_named_where_it_does_not_belong(
    case: Case, bundle: Bundle
) -> None:
    """The operation's and the survivor case's second events, swapped: the first stream checked
    names the stranger in it."""
    operation, survivor = events_of(bundle, case.operation), events_of(bundle, case.survivor)
    operation[1], survivor[1] = survivor[1], operation[1]
    assert_fails(bundle, Reason.WRONG_OPERATION, case.operation, operation[1])


def test_an_event_moved_with_its_stream_id_rewritten_is_a_hash_mismatch(
    case: Case, bundle: Bundle
) -> None:
    """Rewriting the moved event's stream id breaks its hash instead."""
    operation, survivor = events_of(bundle, case.operation), events_of(bundle, case.survivor)
    moved = copy.deepcopy(survivor[0])
    moved["stream_id"] = str(case.operation)
    moved["version"] = operation[1]["version"]
    operation[1] = moved
    assert_fails(bundle, Reason.HASH_MISMATCH, case.operation, moved)


def test_changing_the_checkpoint_root_is_blamed_on_the_checkpoint(bundle: Bundle) -> None:
    """The checkpoint's signature is checked before any event: no stream or event is blamed."""
    bundle["checkpoint"]["checkpoint"]["root_hash"] = "ab" * 32
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_SIGNATURE
    assert "the checkpoint is refused" in report.first_failure.sentence
    assert (report.first_failure.stream_id, report.first_failure.event_id) == (None, None)


def test_a_forged_checkpoint_signature_is_refused(bundle: Bundle) -> None:
    """The events verify, the signature does not: no stream or event is blamed."""
    signature = bundle["checkpoint"]["signature"]
    bundle["checkpoint"]["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_SIGNATURE
    assert report.first_failure.stream_id is None


def test_a_stream_head_of_another_stream_is_refused(case: Case, bundle: Bundle) -> None:
    """Each stream must carry its own signed head."""
    stream_of(bundle, case.operation)["stream_head"] = stream_of(bundle, case.survivor)[
        "stream_head"
    ]
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.WRONG_OPERATION
    assert report.first_failure.stream_id == str(case.operation)


def test_a_stream_listed_twice_is_malformed(case: Case, bundle: Bundle) -> None:
    """One stream appears once."""
    bundle["streams"].append(copy.deepcopy(stream_of(bundle, case.operation)))
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MALFORMED
    assert report.first_failure.stream_id == str(case.operation)


def test_a_stub_in_a_one_stream_bundle_is_malformed(
    case: Case, bundle: Bundle, keyring: SigningKeyring
) -> None:
    """The one-stream format has no stubs: an event without data there is malformed."""
    one = {
        "format": BUNDLE_FORMAT,
        "operation_id": str(case.survivor),
        "exported_at": bundle["exported_at"],
        "events": events_of(bundle, case.survivor),
        "corrections": {},
        "checkpoint": bundle["checkpoint"],
        "stream_head": stream_of(bundle, case.survivor)["stream_head"],
        "public_keys": keyring.public_keys(),
        "statement": "",
        "manifest": bundle["manifest"],
    }
    report = verify_bundle(one)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MALFORMED
    assert report.first_failure.version == 2


async def test_a_bundle_as_known_at_a_checkpoint_keeps_that_checkpoint(
    case: Case,
    store: EventStore,
    pool: asyncpg.Pool,
    integrator: LogIntegrator,
    keyring: SigningKeyring,
) -> None:
    """`as_of` the case's checkpoint time: the events recorded by then, in that checkpoint, even
    after the prosecution grew and a later checkpoint was signed."""
    checkpoint = case.bundle["checkpoint"]
    await store.append(case.prosecution, [an_event("StatusNoted", {"note": "hearing set"})])
    await export_bundle(pool, integrator, case.prosecution, wait_seconds=10)
    as_of = datetime.fromisoformat(checkpoint["checkpoint"]["timestamp"])
    bundle = await export_streams_bundle(
        pool,
        integrator,
        [case.operation, case.survivor],
        primary=case.prosecution,
        stub=counselling_only,
        as_of=as_of,
    )
    report = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert report.proven, report.summary()
    assert bundle["checkpoint"] == checkpoint
    assert bundle["as_of"] == checkpoint["checkpoint"]["timestamp"]
    assert report.events_total == 10


async def test_the_one_stream_bundle_still_verifies(
    case: Case, pool: asyncpg.Pool, integrator: LogIntegrator, keyring: SigningKeyring
) -> None:
    """export_bundle still writes the one-stream format, and it verifies as before."""
    bundle = await export_bundle(pool, integrator, case.operation, wait_seconds=10)
    report = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert report.ok, report.summary()
    assert bundle["format"] == BUNDLE_FORMAT
    assert "streams" not in bundle
    assert (report.events_total, report.head_version, report.streams_total) == (4, 4, None)
    assert report.summary().startswith(f"Verified: all 4 events of operation {case.operation}")


async def test_a_linked_stream_with_no_events_is_left_out(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator
) -> None:
    """A linked id with nothing recorded adds no stream; the primary comes first."""
    prosecution, operation, _ = await a_prosecution(store)
    empty = uuid.uuid4()
    bundle = await export_streams_bundle(
        pool, integrator, [empty, operation, prosecution], primary=prosecution, wait_seconds=10
    )
    assert [s["stream_id"] for s in bundle["streams"]] == [str(prosecution), str(operation)]
    assert all("kind" not in stream for stream in bundle["streams"])
    report = verify_bundle(bundle)
    assert report.ok, report.summary()
    assert report.stubs_total == 0


async def test_a_primary_stream_with_no_events_is_not_found(
    pool: asyncpg.Pool, integrator: LogIntegrator
) -> None:
    """There is no bundle of a prosecution that recorded nothing."""
    with pytest.raises(OperationNotFound):
        await export_streams_bundle(
            pool, integrator, [uuid.uuid4()], primary=uuid.uuid4(), wait_seconds=0.1
        )


async def test_a_stub_changed_in_the_database_is_refused_naming_its_stream(
    store: EventStore, pool: asyncpg.Pool, integrator: LogIntegrator, database_url: str
) -> None:
    """A counselling note edited behind the triggers' back fails the export, even as a stub."""
    prosecution, operation, survivor = await a_prosecution(store)
    rogue = await asyncpg.connect(database_url)
    try:
        await rogue.execute("SET session_replication_role = replica")
        await rogue.execute(
            'UPDATE events SET data = \'{"notes": "rewritten"}\' '
            "WHERE stream_id = $1 AND version = 2",
            survivor,
        )
    finally:
        await rogue.close()
    with pytest.raises(RecordTampered) as refused:
        await export_streams_bundle(
            pool,
            integrator,
            [operation, survivor],
            primary=prosecution,
            stub=counselling_only,
            wait_seconds=10,
        )
    failure = refused.value.failure
    assert (failure.reason, failure.stream_id, failure.version) == (
        Reason.HASH_MISMATCH,
        str(survivor),
        2,
    )
    assert f"in stream {survivor}" in str(refused.value)
