"""The prosecution bundle and its offline verifier: a clean record verifies, tampering is named."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.chain import GENESIS, body_hash, link_hash, timestamp
from events.verifier.consistency import verify_consistency_files
from evidence.bundle import BundleError, build_bundle, build_consistency
from evidence.keyring import SigningKeyring, sign_stream_head
from evidence.merkle_tree import MerkleTree

pytestmark = pytest.mark.unit

Bundle = dict[str, Any]
START = datetime(2025, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
STORY: list[tuple[str, dict[str, Any]]] = [
    ("CaseReported", {"channel": "family", "suspected_country": "CN", "missing_persons": 2}),
    ("InvestigationOpened", {"lead_investigator": "Trần Thị Lan"}),
    ("LeadRecorded", {"source": "hotline", "reliability": "B", "summary": "seen near Hà Khẩu"}),
    ("LocationConfirmed", {"country": "CN", "place": "Hekou", "venue": "household"}),
    ("PartnerEngaged", {"agency": "Border Guard", "agency_type": "border_guard", "score": 0.75}),
    ("RescuePlanned", {"planned_for": "2025-02-10", "team": ["A", "B"], "risk": "high"}),
]


def recorded_stream(operation_id: UUID, count: int) -> list[dict[str, Any]]:
    """`count` events of one operation, hashed and chained exactly as the store records them."""
    events: list[dict[str, Any]] = []
    for version in range(1, count + 1):
        event_type, data = STORY[(version - 1) % len(STORY)]
        record_next(events, operation_id, event_type, {**data, "n": version})
    return events


def record_next(
    events: list[dict[str, Any]], operation_id: UUID, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Append the next event of the stream, hashed and chained as the store records it."""
    version = len(events) + 1
    prev = events[-1]["hash"] if events else GENESIS
    event_id = uuid4()
    occurred_at = START + timedelta(minutes=version)
    recorded_at = occurred_at + timedelta(seconds=3, microseconds=version)
    metadata = {
        "recorded_by": {"name": "field-7", "role": "field"},
        "request_id": f"r{version}",
    }
    body = body_hash(
        event_id=event_id,
        stream_id=operation_id,
        event_type=event_type,
        schema_version=1,
        data=data,
        metadata=metadata,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
    )
    event_hash = link_hash(body, prev, version)
    events.append(
        {
            "event_id": event_id,
            "stream_id": operation_id,
            "version": version,
            "position": version * 10,
            "type": event_type,
            "schema_version": 1,
            "data": data,
            "metadata": metadata,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "prev_hash": prev,
            "hash": event_hash,
        }
    )
    return events[-1]


def a_log_holding(events: list[dict[str, Any]], *, others_between: int = 3) -> MerkleTree:
    """A Merkle log where other operations' events come between this operation's events."""
    rng = random.Random(7)
    tree = MerkleTree()
    for event in events:
        for _ in range(rng.randint(0, others_between)):
            tree.append(rng.randbytes(32))
        event["leaf_index"] = tree.append(event["hash"])
    tree.extend(rng.randbytes(32) for _ in range(others_between))
    return tree


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """The log's signing keys."""
    return SigningKeyring(tmp_path_factory.mktemp("keys"))


def exported(
    operation_id: UUID, events: list[dict[str, Any]], tree: MerkleTree, keyring: SigningKeyring
) -> Bundle:
    """The bundle of `events` proven in `tree`, signed now, as the exporter writes it."""
    signed = keyring.sign(tree.size, tree.root())
    head = sign_stream_head(
        keyring, str(operation_id), events[-1]["version"], events[-1]["hash"], tree.size
    )
    return build_bundle(
        operation_id,
        events,
        tree,
        signed,
        keyring.public_keys(),
        stream_head=head,
        keyring=keyring,
    )


def a_bundle(keyring: SigningKeyring, count: int = 6) -> Bundle:
    """A clean bundle of one operation with `count` events, as the exporter writes it."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, count)
    tree = a_log_holding(events)
    # Through JSON and back, as the file the court receives.
    loaded: Bundle = json.loads(json.dumps(exported(operation_id, events, tree, keyring)))
    return loaded


@pytest.fixture
def bundle(keyring: SigningKeyring) -> Bundle:
    """A clean six-event bundle."""
    return a_bundle(keyring)


def rehash(event: dict[str, Any]) -> None:
    """Recompute an edited event's hash, as a forger who knows the algorithm would."""
    body = body_hash(
        event_id=UUID(event["event_id"]),
        stream_id=UUID(event["stream_id"]),
        event_type=event["type"],
        schema_version=event["schema_version"],
        data=event["data"],
        metadata=event["metadata"],
        occurred_at=datetime.fromisoformat(event["occurred_at"]),
        recorded_at=datetime.fromisoformat(event["recorded_at"]),
    )
    event["hash"] = link_hash(body, bytes.fromhex(event["prev_hash"]), event["version"]).hex()


def assert_fails(bundle: Bundle, reason: Reason, event: dict[str, Any] | None) -> None:
    """verify_bundle fails with `reason`, naming `event` (None: no event, the checkpoint)."""
    report = verify_bundle(bundle)
    assert not report.ok
    assert report.first_failure is not None
    assert report.first_failure.reason == reason, report.summary()
    if event is None:
        assert report.first_failure.event_id is None
    else:
        assert report.first_failure.event_id == event["event_id"]
        assert report.first_failure.version == event["version"]


def test_a_clean_bundle_verifies(bundle: Bundle, keyring: SigningKeyring) -> None:
    """An untouched bundle verifies every event, proof and the signature under Homeward's keys."""
    report = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert report.ok, report.summary()
    assert report.proven
    assert report.first_failure is None
    assert (report.events_total, report.events_verified, report.proofs_verified) == (6, 6, 6)
    assert report.signature_verified
    assert report.summary().startswith("Verified: all 6 events")


def test_the_bundle_says_what_it_holds_and_how_to_check_it(bundle: Bundle) -> None:
    """The statement names the operation, the count, the key and the method."""
    statement = bundle["statement"]
    assert bundle["format"] == "homeward-bundle/3"
    assert bundle["operation_id"] in statement
    assert "6 recorded events" in statement
    assert bundle["checkpoint"]["checkpoint"]["key_id"] in statement
    assert "RFC 8785" in statement
    assert "RFC 9162" in statement


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: e["data"].update(place="Lào Cai"), id="data-added"),
        pytest.param(lambda e: e["data"].update(n=e["data"]["n"] + 1), id="data-changed"),
        pytest.param(lambda e: e["metadata"]["recorded_by"].update(role="admin"), id="metadata"),
        pytest.param(
            lambda e: e.update(occurred_at=e["occurred_at"].replace(":06.", ":07.")),
            id="occurred_at",
        ),
        pytest.param(
            lambda e: e.update(recorded_at=e["recorded_at"].replace("2025", "2024")),
            id="recorded_at",
        ),
        pytest.param(lambda e: e.update(type="RescueAborted"), id="type"),
        pytest.param(lambda e: e.update(schema_version=2), id="schema_version"),
        pytest.param(lambda e: e.update(event_id=str(uuid4())), id="event_id"),
        pytest.param(
            lambda e: e.update(hash=e["hash"][:-1] + ("0" if e["hash"][-1] != "0" else "1")),
            id="hash",
        ),
    ],
)
def test_changing_an_event_is_a_hash_mismatch_at_that_event(
    bundle: Bundle, change: Callable[[dict[str, Any]], None]
) -> None:
    """Any edit to an event's recorded fields makes its recomputed hash differ from its hash."""
    event = bundle["events"][2]
    change(event)
    assert_fails(bundle, Reason.HASH_MISMATCH, event)


def test_the_same_instant_written_in_another_zone_is_a_hash_mismatch(bundle: Bundle) -> None:
    """Times must be written exactly as hashed: the same instant in +07:00 is not the record."""
    event = bundle["events"][1]
    moment = datetime.fromisoformat(event["occurred_at"])
    event["occurred_at"] = moment.astimezone(timezone(timedelta(hours=7))).isoformat()
    assert_fails(bundle, Reason.HASH_MISMATCH, event)


def test_an_edited_and_rehashed_event_fails_its_own_inclusion_proof(bundle: Bundle) -> None:
    """A forger who recomputes an edited event's hash is named: the new hash is not in the log."""
    edited = bundle["events"][2]
    edited["data"]["summary"] = "nothing seen"
    rehash(edited)
    assert_fails(bundle, Reason.BAD_PROOF, edited)


def test_an_event_chained_to_the_wrong_predecessor_is_a_broken_chain(
    keyring: SigningKeyring,
) -> None:
    """A row written past the append function, chained to the wrong hash, is named even if the
    log then signed it (the chain is checked before the proof)."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, 5)
    planted = events[3]
    planted["prev_hash"] = hashlib.sha256(b"not the previous event").digest()
    body = body_hash(
        event_id=planted["event_id"],
        stream_id=operation_id,
        event_type=planted["type"],
        schema_version=1,
        data=planted["data"],
        metadata=planted["metadata"],
        occurred_at=planted["occurred_at"],
        recorded_at=planted["recorded_at"],
    )
    planted["hash"] = link_hash(body, planted["prev_hash"], planted["version"])
    tree = a_log_holding(events)
    bundle = json.loads(json.dumps(exported(operation_id, events, tree, keyring)))
    assert_fails(bundle, Reason.BROKEN_CHAIN, bundle["events"][3])


def test_an_edited_and_rehashed_last_event_fails_its_inclusion_proof(bundle: Bundle) -> None:
    """The last event has no successor, but its new hash is not the leaf the log signed."""
    last = bundle["events"][-1]
    last["data"]["risk"] = "low"
    rehash(last)
    assert_fails(bundle, Reason.BAD_PROOF, last)


def test_a_first_event_not_chained_to_zero_is_a_broken_chain(bundle: Bundle) -> None:
    """The first event's prev_hash must be 32 zero bytes, even when its hash is recomputed."""
    first = bundle["events"][0]
    first["prev_hash"] = "11" * 32
    rehash(first)
    assert_fails(bundle, Reason.BROKEN_CHAIN, first)


def test_dropping_an_event_names_the_gap(bundle: Bundle) -> None:
    """A removed middle event is a missing event, named at the event after the gap."""
    del bundle["events"][3]
    assert_fails(bundle, Reason.MISSING_EVENT, bundle["events"][3])


def test_dropping_the_first_event_is_a_missing_event(bundle: Bundle) -> None:
    """Versions must start at 1."""
    del bundle["events"][0]
    assert_fails(bundle, Reason.MISSING_EVENT, bundle["events"][0])


def test_swapping_two_events_is_named_as_reordered(bundle: Bundle) -> None:
    """Events out of version order are reordered, named at the first one out of place."""
    events = bundle["events"]
    events[2], events[3] = events[3], events[2]
    assert_fails(bundle, Reason.REORDERED_OR_DUPLICATE, events[2])


def test_a_duplicated_event_is_named(bundle: Bundle) -> None:
    """The same event twice is a duplicate, named at its second copy."""
    events = bundle["events"]
    events.insert(3, copy.deepcopy(events[2]))
    assert_fails(bundle, Reason.REORDERED_OR_DUPLICATE, events[3])


def test_an_added_event_at_the_end_has_no_valid_proof(bundle: Bundle) -> None:
    """A fabricated next event, correctly chained and hashed, is not in the signed log."""
    events = bundle["events"]
    forged = copy.deepcopy(events[-1])
    forged.update(event_id=str(uuid4()), version=len(events) + 1, prev_hash=events[-1]["hash"])
    rehash(forged)
    events.append(forged)
    assert_fails(bundle, Reason.BAD_PROOF, forged)


def test_an_event_slipped_into_the_middle_is_named_itself(bundle: Bundle) -> None:
    """An inserted event that claims the next version fails its proof before its successor."""
    events = bundle["events"]
    forged = copy.deepcopy(events[3])
    forged.update(event_id=str(uuid4()), data={"note": "planted"}, type="StatusNoted")
    rehash(forged)
    events.insert(3, forged)
    assert_fails(bundle, Reason.BAD_PROOF, forged)


def test_an_edited_inclusion_proof_is_a_bad_proof(bundle: Bundle) -> None:
    """Changing one hex digit of one proof node fails that event's proof."""
    event = bundle["events"][4]
    node = event["inclusion_proof"][1]
    event["inclusion_proof"][1] = ("f" if node[0] != "f" else "e") + node[1:]
    assert_fails(bundle, Reason.BAD_PROOF, event)


def test_a_wrong_leaf_index_is_a_bad_proof(bundle: Bundle) -> None:
    """An event claiming another place in the log does not prove."""
    event = bundle["events"][1]
    event["leaf_index"] += 1
    assert_fails(bundle, Reason.BAD_PROOF, event)


def test_a_validly_signed_checkpoint_of_another_log_is_caught(
    bundle: Bundle, keyring: SigningKeyring
) -> None:
    """Swapping in a genuine checkpoint of a different tree fails the first event's proof."""
    other = a_bundle(keyring)
    bundle["checkpoint"] = other["checkpoint"]
    assert_fails(bundle, Reason.BAD_PROOF, bundle["events"][0])


def test_a_forged_signature_is_a_bad_signature(bundle: Bundle) -> None:
    """A checkpoint whose signature is not the key's is refused, naming no event."""
    genuine = base64.b64decode(bundle["checkpoint"]["signature"])
    forged = bytes([genuine[0] ^ 1]) + genuine[1:]
    bundle["checkpoint"]["signature"] = base64.b64encode(forged).decode()
    assert_fails(bundle, Reason.BAD_SIGNATURE, None)


def test_a_checkpoint_edited_to_match_forged_events_is_a_bad_signature(bundle: Bundle) -> None:
    """Recomputing the root for a forged log cannot re-sign the checkpoint."""
    events = bundle["events"]
    tree = MerkleTree.from_leaves(bytes.fromhex(e["hash"]) for e in events)
    for index, event in enumerate(events):
        event["leaf_index"] = index
        event["inclusion_proof"] = [n.hex() for n in tree.inclusion_proof(index, tree.size)]
    bundle["checkpoint"]["checkpoint"].update(tree_size=tree.size, root_hash=tree.root().hex())
    assert_fails(bundle, Reason.BAD_SIGNATURE, None)


def test_a_bundle_signed_by_a_stranger_fails_against_the_published_keys(
    keyring: SigningKeyring, tmp_path: Path
) -> None:
    """Keys shipped inside a forged bundle are not trusted when Homeward's keys are given."""
    forger = SigningKeyring(tmp_path / "forger")
    forged = a_bundle(forger)
    assert not verify_bundle(forged).proven
    report = verify_bundle(forged, trusted_keys=keyring.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_SIGNATURE


def test_an_event_of_another_operation_is_named(bundle: Bundle, keyring: SigningKeyring) -> None:
    """A genuine event of another operation does not belong in this bundle."""
    other = a_bundle(keyring)
    bundle["events"][2] = other["events"][2]
    assert_fails(bundle, Reason.WRONG_OPERATION, other["events"][2])


@pytest.mark.parametrize(
    "break_it",
    [
        lambda b: b.update(format="something-else/1"),
        lambda b: b.pop("checkpoint"),
        lambda b: b["events"][0].pop("hash"),
        lambda b: b["events"][0].update(version="1"),
        lambda b: b["events"][0].update(prev_hash="zz" * 32),
    ],
)
def test_a_malformed_bundle_is_reported_not_crashed_on(
    bundle: Bundle, break_it: Callable[[Bundle], object]
) -> None:
    """Missing fields, wrong types and bad hex give a malformed report, never an exception."""
    break_it(bundle)
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MALFORMED


def test_the_builder_refuses_an_event_that_is_not_its_claimed_leaf(
    keyring: SigningKeyring,
) -> None:
    """build_bundle checks each event against the tree, so a wrong export fails at once."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, 3)
    tree = a_log_holding(events)
    events[1]["leaf_index"] += 1
    with pytest.raises(BundleError, match="is not event"):
        exported(operation_id, events, tree, keyring)


def test_a_ten_thousand_event_bundle_builds_and_verifies(
    keyring: SigningKeyring,
) -> None:
    """A 10,000-event operation in a 40,000-leaf log builds and verifies fast; verify < 1 s."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, 10_000)
    tree = a_log_holding(events, others_between=6)
    bundle = exported(operation_id, events, tree, keyring)
    text = json.dumps(bundle)
    report = verify_bundle(json.loads(text), trusted_keys=keyring.public_keys())
    assert report.proven, report.summary()


# --- consistency between checkpoints ------------------------------------------------------


def grown_log(keyring: SigningKeyring) -> tuple[MerkleTree, Bundle, Bundle]:
    """A log signed at 37 leaves, then at 100: the old checkpoint and a consistency document."""
    rng = random.Random(11)
    tree = MerkleTree.from_leaves(rng.randbytes(32) for _ in range(37))
    old = keyring.sign(tree.size, tree.root()).to_json()
    tree.extend(rng.randbytes(32) for _ in range(63))
    new = build_consistency(keyring.sign(tree.size, tree.root()), 37, tree, keyring.public_keys())
    return tree, old, json.loads(json.dumps(new))


def test_a_later_checkpoint_is_shown_to_extend_an_earlier_one(keyring: SigningKeyring) -> None:
    """The consistency document proves the log of 100 extends the signed log of 37."""
    _, old, new = grown_log(keyring)
    report = verify_consistency_files(old, new, trusted_keys=keyring.public_keys())
    assert report.proven, report.summary()
    assert (report.old_size, report.new_size) == (37, 100)


def test_a_separate_proof_object_is_accepted(keyring: SigningKeyring) -> None:
    """Two plain signed checkpoints and a proof file verify the same way."""
    _, old, new = grown_log(keyring)
    proof = new.pop("consistency")
    plain_new = new["checkpoint"]
    report = verify_consistency_files(old, plain_new, proof, trusted_keys=keyring.public_keys())
    assert report.ok, report.summary()


def test_a_rewritten_log_is_not_consistent(keyring: SigningKeyring) -> None:
    """A log that changed an old leaf cannot prove it extends the earlier checkpoint."""
    tree, old, _ = grown_log(keyring)
    rng = random.Random(11)
    leaves = [rng.randbytes(32) for _ in range(tree.size)]
    leaves[20] = hashlib.sha256(b"a quietly replaced event").digest()
    rewritten = MerkleTree.from_leaves(leaves)
    signed = keyring.sign(rewritten.size, rewritten.root())
    new = build_consistency(signed, 37, rewritten, keyring.public_keys())
    report = verify_consistency_files(old, new)
    assert report.failure is not None
    assert report.failure.reason == Reason.BAD_PROOF


def test_two_signed_roots_for_one_size_show_the_log_was_rewritten(
    keyring: SigningKeyring,
) -> None:
    """Checkpoints of the same size with different roots are evidence of a fork."""
    first = keyring.sign(5, hashlib.sha256(b"one").digest()).to_json()
    second = keyring.sign(5, hashlib.sha256(b"two").digest()).to_json()
    report = verify_consistency_files(first, second, trusted_keys=keyring.public_keys())
    assert report.failure is not None
    assert "rewritten" in report.failure.sentence


def test_a_tampered_consistency_proof_is_refused(keyring: SigningKeyring) -> None:
    """One changed digit in the consistency proof fails it."""
    _, old, new = grown_log(keyring)
    node = new["consistency"]["proof"][0]
    new["consistency"]["proof"][0] = ("0" if node[0] != "0" else "1") + node[1:]
    report = verify_consistency_files(old, new)
    assert report.failure is not None
    assert report.failure.reason == Reason.BAD_PROOF


def test_checkpoints_given_the_wrong_way_round_are_refused(keyring: SigningKeyring) -> None:
    """The newer file must not be smaller than the older."""
    _, old, new = grown_log(keyring)
    report = verify_consistency_files(new, old, trusted_keys=keyring.public_keys())
    assert report.failure is not None
    assert report.failure.reason == Reason.MALFORMED


def test_a_forged_checkpoint_signature_fails_consistency(keyring: SigningKeyring) -> None:
    """Consistency is only shown between checkpoints that both verify."""
    _, old, new = grown_log(keyring)
    old["checkpoint"]["tree_size"] = 36
    report = verify_consistency_files(old, new)
    assert report.failure is not None
    assert report.failure.reason == Reason.BAD_SIGNATURE


def test_bundle_timestamps_are_the_hashed_form(bundle: Bundle) -> None:
    """Times in a bundle are UTC with microseconds and Z, the form the hash covers."""
    for event in bundle["events"]:
        moment = datetime.fromisoformat(event["occurred_at"])
        assert event["occurred_at"] == timestamp(moment)


def test_the_verifier_needs_only_the_standard_library_and_cryptography() -> None:
    """Importing events.verifier.bundle_checks loads no third-party package but cryptography
    and no other Homeward module than the verifier's own, so it runs on any machine with nothing
    else."""
    script = (
        "import sys, json; before = set(sys.modules); import events.verifier.bundle_checks; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(  # noqa: S603 -- our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    ours = {name for name in loaded if name.split(".")[0] in {"events", "evidence", "coordinator"}}
    outside = {n for n in ours if n not in {"events", "events.verifier"}}
    outside -= {n for n in ours if n.startswith("events.verifier.")}
    assert not outside, outside
    third_party = {
        name.split(".")[0]
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "events"
    }
    # `_openssl` is a module cryptography's own Rust extension registers.
    assert third_party <= {"cryptography", "_cffi_backend", "_openssl"}, third_party


def test_the_report_says_where_the_key_came_from(bundle: Bundle, keyring: SigningKeyring) -> None:
    """A pass on the bundle's own keys says plainly that nothing is proven about the signer."""
    own = verify_bundle(bundle)
    assert own.ok
    assert not own.proven
    assert "NOTHING is proven about who signed" in own.summary()
    trusted = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert trusted.proven
    assert trusted.keys_from == "trusted"
    assert "NOT proven" not in trusted.summary()


def test_a_garbled_public_key_list_is_malformed(bundle: Bundle) -> None:
    """Public key records that are not objects are refused, not crashed on."""
    key_id = bundle["checkpoint"]["checkpoint"]["key_id"]
    bundle["public_keys"][key_id] = "not a record"
    assert_fails(bundle, Reason.MALFORMED, None)


def test_any_garbled_field_gives_a_report_never_an_exception(keyring: SigningKeyring) -> None:
    """Replacing any value of a bundle with JSON of another kind is reported, not crashed on."""
    base = a_bundle(keyring, 3)
    odd: list[object] = [None, True, -1, 2**60, 1.5, "", "00" * 32, [], {}, [1], {"a": 1}]

    def paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
        found = [path] if path else []
        if isinstance(value, dict):
            found += [p for key, item in value.items() for p in paths(item, (*path, key))]
        elif isinstance(value, list):
            found += [p for index, item in enumerate(value) for p in paths(item, (*path, index))]
        return found

    for path in paths(base):
        for replacement in odd:
            garbled = copy.deepcopy(base)
            parent: Any = garbled
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = copy.deepcopy(replacement)
            report = verify_bundle(garbled)
            assert report.ok == (report.first_failure is None)


def test_absurdly_nested_data_is_malformed_not_a_crash(bundle: Bundle) -> None:
    """Data nested deeper than Python's recursion limit is reported as malformed."""
    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit() + 10):
        deep = [deep]
    bundle["events"][1]["data"]["deep"] = deep
    assert_fails(bundle, Reason.MALFORMED, bundle["events"][1])


# --- the signed stream head and the corrections index --------------------------------------


def test_dropping_the_last_event_is_caught_by_the_signed_stream_head(bundle: Bundle) -> None:
    """Without its last event a bundle still chains and proves, but the head names the gap."""
    bundle["events"].pop()
    report = verify_bundle(bundle)
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MISSING_EVENT, report.summary()
    assert report.first_failure.version == 6
    assert "stream head" in report.first_failure.sentence


def test_a_clean_bundle_reports_the_signed_head(bundle: Bundle) -> None:
    """The report names the last version the signed head vouches for."""
    report = verify_bundle(bundle)
    assert report.head_version == 6
    assert "stream head confirms version 6" in report.summary()


def test_an_event_beyond_the_signed_head_is_named(bundle: Bundle, keyring: SigningKeyring) -> None:
    """A head signed for fewer events than the bundle holds names the first event past it."""
    checkpoint = bundle["checkpoint"]["checkpoint"]
    earlier = bundle["events"][4]
    head = sign_stream_head(
        keyring,
        bundle["operation_id"],
        5,
        bytes.fromhex(earlier["hash"]),
        checkpoint["tree_size"],
    )
    bundle["stream_head"] = head.to_json()
    assert_fails(bundle, Reason.STREAM_HEAD_MISMATCH, bundle["events"][5])


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda b: b["stream_head"]["head"].update(version=5), id="edited-version"),
        pytest.param(
            lambda b: b["stream_head"].update(signature=b["checkpoint"]["signature"]),
            id="other-signature",
        ),
    ],
)
def test_a_missing_or_edited_stream_head_is_a_bad_signature(
    bundle: Bundle, break_it: Callable[[Bundle], object]
) -> None:
    """The head is required and only its key's signature over it counts."""
    break_it(bundle)
    assert_fails(bundle, Reason.BAD_SIGNATURE, None)


def test_a_missing_stream_head_is_malformed(bundle: Bundle) -> None:
    """The head is a required member of the bundle."""
    bundle.pop("stream_head")
    assert_fails(bundle, Reason.MALFORMED, None)


def test_a_stream_head_of_another_log_size_is_refused(
    bundle: Bundle, keyring: SigningKeyring
) -> None:
    """A genuine head proven in another log than the bundle's checkpoint does not belong."""
    last = bundle["events"][-1]
    size = bundle["checkpoint"]["checkpoint"]["tree_size"]
    head = sign_stream_head(
        keyring, bundle["operation_id"], 6, bytes.fromhex(last["hash"]), size + 1
    )
    bundle["stream_head"] = head.to_json()
    assert_fails(bundle, Reason.STREAM_HEAD_MISMATCH, None)


def a_corrected_stream(keyring: SigningKeyring) -> Bundle:
    """Four events, then a correction of the second one's place."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, 4)
    correction = {
        "corrects_event_id": str(events[1]["event_id"]),
        "reason": "the place was misheard on the phone",
        "corrected_data": {"place": "Hà Khẩu"},
    }
    record_next(events, operation_id, "EventCorrected", correction)
    tree = a_log_holding(events)
    loaded: Bundle = json.loads(json.dumps(exported(operation_id, events, tree, keyring)))
    return loaded


def test_corrections_are_listed_beside_the_events_they_correct(keyring: SigningKeyring) -> None:
    """The original stays in the stream; the index names the event that corrects it."""
    bundle = a_corrected_stream(keyring)
    original, correction = bundle["events"][1], bundle["events"][4]
    assert bundle["corrections"] == {original["event_id"]: [correction["event_id"]]}
    assert verify_bundle(bundle).ok


def test_a_corrections_index_that_hides_a_correction_is_refused(keyring: SigningKeyring) -> None:
    """The index must say what the EventCorrected events say."""
    bundle = a_corrected_stream(keyring)
    bundle["corrections"] = {}
    assert_fails(bundle, Reason.MALFORMED, None)
