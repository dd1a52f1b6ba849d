"""A defence expert's forgeries, tried against the offline verifier and the service: each fails,
and says why."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from coordinator.domain.actors import Role
from coordinator.http.app import create_app
from coordinator.service.tokens import create_token
from coordinator.settings import Settings
from events.store.event_store import EventStore
from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.chain import body_hash, link_hash
from events.verifier.consistency import verify_consistency_files
from evidence.bundle import build_bundle, build_consistency
from evidence.keyring import SigningKeyring, sign_stream_head
from evidence.merkle_tree import MerkleTree
from tests.api import Caller, event
from tests.test_bundle_verify import a_bundle, a_log_holding, exported, recorded_stream, rehash

Bundle = dict[str, Any]
unit = pytest.mark.unit


@pytest.fixture(scope="module")
def homeward(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """Homeward's signing keys."""
    return SigningKeyring(tmp_path_factory.mktemp("homeward-keys"))


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyring:
    """A key the forger made for themselves."""
    return SigningKeyring(tmp_path_factory.mktemp("forger-keys"))


@pytest.fixture
def genuine(homeward: SigningKeyring) -> Bundle:
    """A clean six-event bundle exported by Homeward."""
    return a_bundle(homeward)


def forge(genuine: Bundle, forger: SigningKeyring, change: Callable[[list[Any]], None]) -> Bundle:
    """`genuine` with its events changed, the chain and the tree rebuilt, and everything signed
    with the forger's key, which the forged bundle carries."""
    events = copy.deepcopy(genuine["events"])
    change(events)
    tree, prev = MerkleTree(), "00" * 32
    for changed in events:
        changed["prev_hash"] = prev
        rehash(changed)
        prev = changed["hash"]
        changed["leaf_index"] = tree.append(bytes.fromhex(changed["hash"]))
        del changed["inclusion_proof"]
    operation_id = genuine["operation_id"]
    signed = forger.sign(tree.size, tree.root())
    head = sign_stream_head(forger, operation_id, len(events), bytes.fromhex(prev), tree.size)
    bundle = build_bundle(
        operation_id,
        events,
        tree,
        signed,
        forger.public_keys(),
        stream_head=head,
        keyring=forger,
    )
    forged: Bundle = json.loads(json.dumps(bundle))
    return forged


def acquitted(events: list[Any]) -> None:
    """The forger's change: the summary now says acquitted."""
    events[2]["data"]["summary"] = "acquitted"


def verify_cli(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """`coordinator audit ARGUMENTS`, as a person runs it."""
    return subprocess.run(  # noqa: S603 -- our own interpreter and command
        [sys.executable, "-m", "coordinator", "audit", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(path: Path, document: Any) -> Path:
    """`document` as a JSON file."""
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def reason_of(bundle: Any, keyring: SigningKeyring) -> Reason | None:
    """Why `bundle` fails under Homeward's keys (None: it is proven)."""
    report = verify_bundle(bundle, trusted_keys=keyring.public_keys())
    assert report.ok == (report.first_failure is None)
    return None if report.first_failure is None else report.first_failure.reason


# --- 1. a bundle re-signed with a key it carries itself -----------------------------------------


@unit
def test_a_forgery_signed_with_its_own_key_is_never_verified_without_keys(
    genuine: Bundle, forger: SigningKeyring, tmp_path: Path
) -> None:
    """Without keys the command checks everything, says nothing is proven, and exits 3."""
    path = write(tmp_path / "forged.json", forge(genuine, forger, acquitted))
    ran = verify_cli("verify", path)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert ran.stdout.startswith("Checked, but NOT proven")
    assert "NOTHING is proven about who signed" in ran.stdout
    assert "Verified" not in ran.stdout


@unit
def test_a_forgery_signed_with_its_own_key_fails_against_the_published_keys(
    genuine: Bundle, forger: SigningKeyring, homeward: SigningKeyring, tmp_path: Path
) -> None:
    """With Homeward's keys file (the public-key answer) the forger's checkpoint is refused."""
    path = write(tmp_path / "forged.json", forge(genuine, forger, acquitted))
    answer = {
        "active_key_id": homeward.active_key_id,
        "keys": {k: {**r, "active": True} for k, r in homeward.public_keys().items()},
    }
    ran = verify_cli("verify", path, "--keys", write(tmp_path / "keys.json", answer))
    assert ran.returncode == 1
    assert ran.stdout.startswith("NOT verified, bad_signature")
    assert "is not among the known public keys" in ran.stdout


@unit
def test_a_pinned_key_id_trusts_only_that_key(
    genuine: Bundle, forger: SigningKeyring, homeward: SigningKeyring, tmp_path: Path
) -> None:
    """--key-id of Homeward's key: the genuine bundle exits 0, the forgery 1."""
    key_id = homeward.active_key_id
    ok = verify_cli("verify", write(tmp_path / "genuine.json", genuine), "--key-id", key_id)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("Verified")
    forged = forge(genuine, forger, acquitted)
    bad = verify_cli("verify", write(tmp_path / "forged.json", forged), "--key-id", key_id)
    assert bad.returncode == 1
    assert "bad_signature" in bad.stdout


@unit
def test_a_forger_key_listed_under_the_pinned_id_is_refused(
    genuine: Bundle, forger: SigningKeyring, homeward: SigningKeyring
) -> None:
    """A key id is a hash of its key: the forger's key under Homeward's id is not that key."""
    forged = forge(genuine, forger, acquitted)
    key_id = homeward.active_key_id
    forged["public_keys"] = {key_id: next(iter(forger.public_keys().values()))}
    forged["checkpoint"]["checkpoint"]["key_id"] = key_id
    report = verify_bundle(forged, pinned_key_ids=[key_id])
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MALFORMED
    assert f"the key listed as {key_id} is not that key" in report.first_failure.sentence


@unit
def test_a_bad_key_id_or_both_trust_options_exit_2(genuine: Bundle, tmp_path: Path) -> None:
    """A key id that is not 16 lower-case hex digits is refused before anything is checked."""
    path = write(tmp_path / "genuine.json", genuine)
    for arguments in (("--key-id", "ABCDEF0123456789"), ("--key-id", "x")):
        ran = verify_cli("verify", path, *arguments)
        assert ran.returncode == 2
        assert ran.stderr.startswith("NOT checked:")


# --- 2. verify-consistency ----------------------------------------------------------------------


def a_grown_log(keyring: SigningKeyring) -> tuple[MerkleTree, Bundle]:
    """A log of 37 leaves with its signed checkpoint."""
    tree = MerkleTree.from_leaves(bytes([n]) * 32 for n in range(37))
    return tree, keyring.sign(tree.size, tree.root()).to_json()


@unit
def test_a_newer_checkpoint_resigned_under_its_own_key_is_not_consistent(
    homeward: SigningKeyring, forger: SigningKeyring, tmp_path: Path
) -> None:
    """The forger extends the log, signs with a key carried in the newer file: never exit 0."""
    tree, old = a_grown_log(homeward)
    tree.extend(bytes([200]) * 32 for _ in range(5))
    signed = forger.sign(tree.size, tree.root())
    new = build_consistency(signed, 37, tree, forger.public_keys())
    old_path, new_path = write(tmp_path / "old.json", old), write(tmp_path / "new.json", new)
    alone = verify_cli("verify-consistency", old_path, new_path)
    assert alone.returncode != 0
    assert not alone.stdout.startswith("Consistent")
    keys = write(tmp_path / "keys.json", homeward.public_keys())
    trusted = verify_cli("verify-consistency", old_path, new_path, "--keys", keys)
    assert trusted.returncode == 1
    assert trusted.stdout.startswith("NOT consistent, bad_signature")


@unit
def test_consistency_never_merges_the_keys_of_both_files(
    homeward: SigningKeyring, forger: SigningKeyring
) -> None:
    """A bundle with Homeward's key as the older file does not lend that key to the newer."""
    tree, old = a_grown_log(forger)
    tree.extend(bytes([201]) * 32 for _ in range(5))
    new = build_consistency(forger.sign(tree.size, tree.root()), 37, tree, forger.public_keys())
    genuine = a_bundle(homeward)
    report = verify_consistency_files(genuine, new)
    assert not report.proven
    pinned = verify_consistency_files(old, new, pinned_key_ids=[homeward.active_key_id])
    assert not pinned.ok
    assert pinned.failure is not None
    assert pinned.failure.reason == Reason.BAD_SIGNATURE


# --- 3. duplicate names and unknown fields ------------------------------------------------------


@unit
def test_a_duplicate_name_in_the_bundle_is_refused(
    homeward: SigningKeyring, tmp_path: Path
) -> None:
    """`"summary": "acquitted", "summary": "convicted"`: the file is refused, naming the name."""
    bundle = a_bundle(homeward)
    text = json.dumps(bundle, ensure_ascii=False)
    summary = json.dumps(bundle["events"][2]["data"]["summary"], ensure_ascii=False)
    doubled = text.replace(
        f'"summary": {summary}', f'"summary": "acquitted", "summary": {summary}', 1
    )
    assert doubled != text
    path = tmp_path / "doubled.json"
    path.write_text(doubled, encoding="utf-8")
    keys = write(tmp_path / "keys.json", homeward.public_keys())
    ran = verify_cli("verify", path, "--keys", keys)
    assert ran.returncode == 1
    assert ran.stderr.startswith("NOT verified, not_strict_json")
    assert 'names "summary" twice' in ran.stderr


@unit
def test_a_duplicate_name_in_the_keys_file_exits_2(genuine: Bundle, tmp_path: Path) -> None:
    """A keys file with one key id twice is not a list of keys: one sentence, exit 2."""
    keys = tmp_path / "keys.json"
    record = json.dumps(next(iter(genuine["public_keys"].values())))
    key_id = next(iter(genuine["public_keys"]))
    keys.write_text(f'{{"{key_id}": {record}, "{key_id}": {record}}}', encoding="utf-8")
    ran = verify_cli("verify", write(tmp_path / "b.json", genuine), "--keys", keys)
    assert ran.returncode == 2
    assert f'names "{key_id}" twice' in ran.stderr
    assert "Traceback" not in ran.stderr


def extra_member(path: tuple[str | int, ...]) -> Callable[[Bundle], None]:
    """Add an unknown member `"note"` to the object at `path`."""

    def change(bundle: Bundle) -> None:
        target: Any = bundle
        for key in path:
            target = target[key]
        target["note"] = "added"

    return change


@unit
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ((), Reason.UNKNOWN_FIELD),
        (("events", 2), Reason.UNKNOWN_FIELD),
        (("events", 2, "data"), Reason.HASH_MISMATCH),
        (("corrections",), Reason.MALFORMED),
        (("checkpoint",), Reason.MALFORMED),
        (("checkpoint", "checkpoint"), Reason.MALFORMED),
        (("stream_head",), Reason.BAD_SIGNATURE),
        (("stream_head", "head"), Reason.BAD_SIGNATURE),
        (("manifest",), Reason.BAD_SIGNATURE),
        (("manifest", "manifest"), Reason.BAD_SIGNATURE),
        (("public_keys",), Reason.MALFORMED),
    ],
    ids=lambda value: "/".join(map(str, value)) if isinstance(value, tuple) else str(value),
)
def test_an_unknown_field_at_any_level_is_refused(
    genuine: Bundle, homeward: SigningKeyring, path: tuple[str | int, ...], reason: Reason
) -> None:
    """A member no check covers is refused wherever it is added, with the reason saying so."""
    extra_member(path)(genuine)
    assert reason_of(genuine, homeward) == reason


@unit
def test_an_unknown_field_in_a_key_record_is_refused(
    genuine: Bundle, homeward: SigningKeyring
) -> None:
    """A key record has exactly its three members."""
    next(iter(genuine["public_keys"].values()))["note"] = "added"
    report = verify_bundle(genuine, trusted_keys=homeward.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MALFORMED
    assert "has not exactly public_key, created_at and retired_at" in report.first_failure.sentence


# --- 4. fields no other check covers: the signed manifest ---------------------------------------


@unit
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b.update(statement=b["statement"] + " Acquitted."), id="statement"),
        pytest.param(lambda b: b.update(exported_at="2020-01-01T00:00:00.000000Z"), id="exported"),
        pytest.param(lambda b: b["events"][3].update(position=1), id="position"),
        pytest.param(
            lambda b: next(iter(b["public_keys"].values())).update(retired_at=None, created_at="x"),
            id="public_keys",
        ),
        pytest.param(lambda b: b.update(as_of="2020-01-01T00:00:00.000000Z"), id="as_of-added"),
    ],
)
def test_an_edit_no_other_check_covers_is_a_manifest_mismatch(
    genuine: Bundle, homeward: SigningKeyring, change: Callable[[Bundle], None]
) -> None:
    """The manifest, signed at export, covers the statement, times, positions and keys."""
    change(genuine)
    report = verify_bundle(genuine, trusted_keys=homeward.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.MANIFEST_MISMATCH, report.summary()
    assert "the file was changed after export" in report.first_failure.sentence


@unit
def test_a_bundle_of_the_format_before_the_manifest_is_refused(
    genuine: Bundle, homeward: SigningKeyring
) -> None:
    """Stripping the manifest and claiming the older format is named, not verified."""
    del genuine["manifest"]
    genuine["format"] = "homeward-bundle/2"
    report = verify_bundle(genuine, trusted_keys=homeward.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.UNSUPPORTED_FORMAT
    assert "before bundles carried a signed manifest" in report.first_failure.sentence


@unit
def test_a_manifest_signed_by_another_key_is_refused(
    genuine: Bundle, forger: SigningKeyring, homeward: SigningKeyring
) -> None:
    """Re-signing the manifest after an edit needs Homeward's key."""
    forged = forge(genuine, forger, lambda _: None)
    genuine["statement"] = "edited"
    genuine["manifest"] = forged["manifest"]
    assert reason_of(genuine, homeward) == Reason.BAD_SIGNATURE


# --- 5. one written form of hex -----------------------------------------------------------------


@unit
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda b: b["events"][2].update(hash=b["events"][2]["hash"].upper()), id="hash"
        ),
        pytest.param(
            lambda b: b["events"][-1].update(hash=b["events"][-1]["hash"].upper()), id="last"
        ),
        pytest.param(
            lambda b: b["events"][2].update(prev_hash=b["events"][2]["prev_hash"].upper()),
            id="prev_hash",
        ),
        pytest.param(
            lambda b: b["events"][2]["inclusion_proof"].__setitem__(
                0, b["events"][2]["inclusion_proof"][0].upper()
            ),
            id="proof",
        ),
        pytest.param(
            lambda b: b["checkpoint"]["checkpoint"].update(
                root_hash=b["checkpoint"]["checkpoint"]["root_hash"].upper()
            ),
            id="root",
        ),
        pytest.param(
            lambda b: b["stream_head"]["head"].update(
                head_hash=b["stream_head"]["head"]["head_hash"].upper()
            ),
            id="head",
        ),
        pytest.param(
            lambda b: b["manifest"]["manifest"].update(
                sha256=b["manifest"]["manifest"]["sha256"].upper()
            ),
            id="manifest",
        ),
    ],
)
def test_upper_case_hex_is_refused_everywhere(
    genuine: Bundle, homeward: SigningKeyring, change: Callable[[Bundle], None]
) -> None:
    """A hash has one written form, lower case, in every place a bundle holds one."""
    change(genuine)
    report = verify_bundle(genuine, trusted_keys=homeward.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason in {Reason.MALFORMED, Reason.BAD_SIGNATURE}
    assert "lower" in report.first_failure.sentence, report.summary()


@unit
def test_upper_case_hex_in_a_consistency_proof_is_refused(homeward: SigningKeyring) -> None:
    """The consistency proof's nodes too."""
    tree, old = a_grown_log(homeward)
    tree.extend(bytes([202]) * 32 for _ in range(30))
    new = build_consistency(homeward.sign(tree.size, tree.root()), 37, tree, homeward.public_keys())
    new["consistency"]["proof"][0] = new["consistency"]["proof"][0].upper()
    report = verify_consistency_files(old, new, trusted_keys=homeward.public_keys())
    assert report.failure is not None
    assert report.failure.reason == Reason.MALFORMED
    assert "lower-case" in report.failure.sentence


# --- 6. blame and malformed keys ----------------------------------------------------------------


@unit
def test_a_changed_checkpoint_root_is_blamed_on_the_checkpoint(
    genuine: Bundle, homeward: SigningKeyring
) -> None:
    """The checkpoint's signature is checked first: no event is blamed for another root."""
    genuine["checkpoint"]["checkpoint"]["root_hash"] = "ab" * 32
    report = verify_bundle(genuine, trusted_keys=homeward.public_keys())
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_SIGNATURE
    assert report.first_failure.event_id is None
    assert report.first_failure.sentence.startswith("the checkpoint is refused")


@unit
@pytest.mark.parametrize(
    "keys_text",
    ["{not json", "[]", '{"abc": 1}', '{"keys": {}, "active_key_id": "x"}', "NaN", ""],
)
def test_a_malformed_keys_file_is_one_sentence_and_exit_2(
    genuine: Bundle, tmp_path: Path, keys_text: str
) -> None:
    """No traceback: one line on standard error, exit 2."""
    keys = tmp_path / "keys.json"
    keys.write_text(keys_text, encoding="utf-8")
    ran = verify_cli("verify", write(tmp_path / "b.json", genuine), "--keys", keys)
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr.startswith("NOT checked: the keys file")
    assert ran.stderr.count("\n") == 1
    assert "Traceback" not in ran.stderr


@unit
def test_a_missing_keys_file_is_exit_2(genuine: Bundle, tmp_path: Path) -> None:
    """A keys file that is not there is said so."""
    ran = verify_cli("verify", write(tmp_path / "b.json", genuine), "--keys", tmp_path / "none")
    assert ran.returncode == 2
    assert "cannot be read" in ran.stderr


# --- the builders still refuse what does not belong together -----------------------------------


@unit
def test_a_forgery_of_another_operation_keeps_its_events(homeward: SigningKeyring) -> None:
    """Sanity: the helpers build what the verifier proves."""
    operation_id = uuid4()
    events = recorded_stream(operation_id, 3)
    tree = a_log_holding(events)
    bundle = json.loads(json.dumps(exported(operation_id, events, tree, homeward)))
    assert verify_bundle(bundle, trusted_keys=homeward.public_keys()).proven
    signature = base64.b64decode(bundle["manifest"]["signature"])
    assert len(signature) == 64


# --- 7. in the service: an event rewritten with its chain and its leaf --------------------------


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's signing key folder."""
    return tmp_path_factory.mktemp("service-keys")


@pytest.fixture(scope="module")
def app_settings(database_url: str, key_dir: Path) -> Settings:
    """The app on this module's own database (its log gets rewritten), signing every 100 ms."""
    return Settings(
        database_url=database_url, signing_key_dir=key_dir, checkpoint_interval_seconds=0.1
    )


async def a_trail(caller: Caller, operation: str, status: int = 200) -> Any:
    """GET the operation's audit trail expecting `status`."""
    response = await caller.get(f"/v1/operations/{operation}/audit-trail")
    assert response.status == status, await response.text()
    return await response.json()


async def rewrite_with_chain_and_leaf(
    database_url: str, store: EventStore, operation: str, version: int
) -> None:
    """As a rogue superuser: change the event's data, recompute its hash and every later hash of
    the stream, and put the new hashes in the Merkle log's leaves, triggers switched off."""
    recorded = await store.read_stream(uuid.UUID(operation))
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SET session_replication_role = replica")
        prev = recorded[version - 2].hash if version > 1 else bytes(32)
        for event in recorded[version - 1 :]:
            data = {**event.data, "note": "acquitted"} if event.version == version else event.data
            body = body_hash(
                event_id=event.event_id,
                stream_id=event.stream_id,
                event_type=event.type,
                schema_version=event.schema_version,
                data=data,
                metadata=event.metadata,
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
            )
            new_hash = link_hash(body, prev, event.version)
            await connection.execute(
                "UPDATE events SET data = $1::text::jsonb, prev_hash = $2, hash = $3 "
                "WHERE event_id = $4",
                json.dumps(data),
                prev,
                new_hash,
                event.event_id,
            )
            await connection.execute(
                "UPDATE merkle_leaves SET event_hash = $1 WHERE position = $2",
                new_hash,
                event.position,
            )
            prev = new_hash
    finally:
        await connection.close()


async def test_a_rewritten_event_chain_and_leaf_is_409_everywhere(
    callers: dict[Role, Caller],
    app_settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
    store: EventStore,
) -> None:
    """After the rewrite, the running service and one that loads the log (a restart) answer 409
    record_tampered for every trail, the rewritten operation's and an untouched one's, and for
    a consistency proof: the running one names the first rewritten leaf, both the first signed
    checkpoint the stored leaves no longer give."""
    field, legal = callers[Role.FIELD], callers[Role.LEGAL]
    touched = await field.open()
    await field.record(touched, event("StatusNoted", note="one"), event("StatusNoted", note="two"))
    await a_trail(legal, touched)
    untouched = await field.open()
    await field.record(untouched, event("StatusNoted", note="three"))
    await a_trail(legal, untouched)
    first_size = await pool.fetchval("SELECT min(tree_size) FROM signed_checkpoints")
    await rewrite_with_chain_and_leaf(database_url, store, touched, 2)

    # The running service still holds the log it integrated: every trail, the untouched
    # operation's too, names the first rewritten leaf (the rewritten event's).
    first_rewritten = await pool.fetchval(
        "SELECT leaf_index FROM merkle_leaves WHERE stream_id = $1 AND version = 2",
        uuid.UUID(touched),
    )
    for operation in (touched, untouched):
        running = await a_trail(legal, operation, 409)
        assert running["error"] == "record_tampered"
        assert "bad_proof" in running["detail"]
        assert f"leaf {first_rewritten} (version 2 of stream {touched})" in running["detail"]
        assert "no longer give the root signed" in running["detail"]
    response = await legal.get(f"/v1/audit/checkpoint?from_size={first_size}")
    assert response.status == 409, await response.text()
    assert f"leaf {first_rewritten} " in (await response.json())["detail"]

    # A service started now loads the rewritten log.
    restarted_app = create_app(app_settings, database_url)
    async with TestClient(TestServer(restarted_app)) as client:
        token = await create_token(pool, f"legal-{uuid.uuid4().hex[:6]}", Role.LEGAL)
        restarted = Caller(client, token)
        for operation in (touched, untouched):
            body = await a_trail(restarted, operation, 409)
            assert body["error"] == "record_tampered"
            assert "no longer give the root signed" in body["detail"]
            assert "was changed" in body["detail"]
        response = await restarted.get(f"/v1/audit/checkpoint?from_size={first_size}")
        assert response.status == 409, await response.text()
        detail = (await response.json())["detail"]
        assert "no longer give the root signed" in detail
