"""Checkpoints as C2SP tlog-checkpoint signed notes, read by an implementation written here from
the specs (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), not by the service's own parser."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from coordinator.settings import Settings
from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.signed_note import (
    ED25519,
    NoteRejected,
    parse_note,
    read_vkey,
    verifier_key,
)
from events.verifier.tlog_checkpoint import (
    GENESIS,
    AccessAnchor,
    NoteCheckpoint,
    read_checkpoint_text,
    verify_log_note,
)
from evidence.checkpoint_note import sign_checkpoint
from evidence.keyring import SigningKeyring
from tests.api import Caller, event

ROOT = hashlib.sha256(b"a root").digest()

# The example of c2sp.org/signed-note, section "Verifier keys".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
)


# --- an independent reader, written from the specs ------------------------------------------


@dataclass
class SpecNote:
    """A signed note as the spec defines it: text (with its final newline) and signatures."""

    text: str
    signatures: list[tuple[str, bytes, bytes]]  # key name, 4-byte key ID, signature


def spec_parse(note: str) -> SpecNote:
    """Split at the last blank line; each signature line is '— name base64(id || sig)'."""
    body, _, tail = note.rpartition("\n\n")
    signatures = []
    for line in tail.rstrip("\n").split("\n"):
        dash, name, blob = line.split(" ")
        assert dash == "\u2014"
        raw = base64.b64decode(blob, validate=True)
        signatures.append((name, raw[:4], raw[4:]))
    return SpecNote(body + "\n", signatures)


def spec_key_id(name: str, kind: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([kind]) + public_key).digest()[:4]


def spec_verify(note: str, name: str, public_key: bytes) -> SpecNote:
    """The note, once the Ed25519 signature line of (name, key) verifies over its text."""
    parsed = spec_parse(note)
    wanted = spec_key_id(name, 0x01, public_key)
    lines = [(n, k, s) for n, k, s in parsed.signatures if (n, k) == (name, wanted)]
    assert len(lines) == 1, "exactly one signature line of that key"
    Ed25519PublicKey.from_public_bytes(public_key).verify(lines[0][2], parsed.text.encode())
    return parsed


def spec_checkpoint(text: str) -> tuple[str, int, bytes, list[str]]:
    """Origin, tree size, root hash and extension lines of a tlog-checkpoint note text."""
    origin, size, root, *rest = text.rstrip("\n").split("\n")
    assert str(int(size)) == size
    return origin, int(size), base64.b64decode(root, validate=True), rest


# --- the published vectors ----------------------------------------------------------------


@pytest.mark.unit
def test_the_spec_example_verifies_with_the_independent_reader() -> None:
    """The signed-note spec's vkey verifies its example note: the reader above is the spec's."""
    name, key_hex, material = SPEC_VKEY.split("+")
    raw = base64.b64decode(material)
    assert raw[0] == 0x01
    assert spec_key_id(name, 0x01, raw[1:]).hex() == key_hex
    assert spec_verify(SPEC_NOTE, name, raw[1:]).text == "This is an example message.\n"


@pytest.mark.unit
def test_the_spec_example_reads_with_our_signed_note_code() -> None:
    """Our vkey reader and note parser agree with the spec's example, key ID included."""
    key = read_vkey(SPEC_VKEY)
    assert key.vkey() == SPEC_VKEY
    note = parse_note(SPEC_NOTE)
    assert note.to_text() == SPEC_NOTE
    (line,) = note.signatures
    assert (line.name, line.key_id) == (key.name, key.key_id)
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(line.signature, note.text.encode())


# --- our checkpoints, read independently ----------------------------------------------------


@pytest.fixture
def keyring(tmp_path: Path) -> SigningKeyring:
    """A keyring in a fresh folder."""
    return SigningKeyring(tmp_path / "keys")


def public_key(keyring: SigningKeyring) -> bytes:
    """The keyring's active raw public key."""
    return base64.b64decode(keyring.public_keys()[keyring.active_key_id]["public_key"])


@pytest.mark.unit
def test_a_checkpoint_note_reads_with_the_independent_reader(keyring: SigningKeyring) -> None:
    """Origin, size, base64 root, the access-log line; signed under the origin as key name."""
    anchor = AccessAnchor(3, hashlib.sha256(b"head").digest())
    forms = sign_checkpoint(keyring, NoteCheckpoint("homeward.example/t1", 42, ROOT, anchor))
    parsed = spec_verify(forms.note, "homeward.example/t1", public_key(keyring))
    origin, size, root, extensions = spec_checkpoint(parsed.text)
    assert (origin, size, root) == ("homeward.example/t1", 42, ROOT)
    assert extensions == [f"access-log 3 {base64.b64encode(anchor.head).decode()}"]
    # The JSON form of the same moment states the same tree with the same key.
    assert forms.json.checkpoint.tree_size == 42
    assert forms.json.checkpoint.root_hash == ROOT.hex()
    assert forms.json.checkpoint.key_id == keyring.active_key_id


@pytest.mark.unit
def test_an_independently_signed_note_verifies_with_our_code() -> None:
    """A note signed here from the spec, with a key of our own, passes verify_log_note."""
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    text = f"other.example/log\n7\n{base64.b64encode(ROOT).decode()}\n"
    blob = base64.b64encode(spec_key_id("other.example/log", 1, raw) + private.sign(text.encode()))
    note = parse_note(text + "\n\u2014 other.example/log " + blob.decode() + "\n")
    keys = {"k": {"public_key": base64.b64encode(raw).decode()}}
    assert verify_log_note(note, keys) == NoteCheckpoint("other.example/log", 7, ROOT)
    assert verifier_key("other.example/log", ED25519, raw).key_id == spec_key_id(
        "other.example/log", 1, raw
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n: n.replace("\n42\n", "\n43\n"), "does not verify"),
        (lambda n: n.replace("\n\n\u2014", "\nextra line\n\n\u2014"), "extension line"),
        (lambda n: n.replace("homeward.example/t1", "homeward.example/t2", 1), "no known key"),
        (lambda n: n.replace("\n42\n", "\n042\n"), "leading zeroes"),
        (lambda n: n.rstrip("\n"), "newline"),
        (lambda n: n.replace("\u2014", "-"), "signature line"),
        (lambda n: n.replace("homeward", "home\tward", 1), "control character"),
    ],
)
def test_a_changed_note_is_refused(keyring: SigningKeyring, change: Any, message: str) -> None:
    """A changed size, an added extension, another origin or a malformed note do not verify."""
    forms = sign_checkpoint(keyring, NoteCheckpoint("homeward.example/t1", 42, ROOT))
    with pytest.raises(NoteRejected, match=message):
        verify_log_note(parse_note(change(forms.note)), keyring.public_keys())


@pytest.mark.unit
def test_a_note_signed_by_another_key_is_refused(keyring: SigningKeyring, tmp_path: Path) -> None:
    """The log's keys are the ones trusted: a second keyring's signature is not the log's."""
    other = SigningKeyring(tmp_path / "other")
    forms = sign_checkpoint(other, NoteCheckpoint("homeward.example/t1", 1, ROOT))
    with pytest.raises(NoteRejected, match="no known key"):
        verify_log_note(parse_note(forms.note), keyring.public_keys())


@pytest.mark.unit
@pytest.mark.parametrize(
    "line",
    ["access-log 0 " + base64.b64encode(b"x" * 32).decode(), "access-log 1 " + "A" * 43 + "="],
)
def test_an_access_anchor_that_cannot_be_is_refused(line: str) -> None:
    """No entries means the genesis hash, and entries mean another hash."""
    text = f"o.example/x\n1\n{base64.b64encode(ROOT).decode()}\n{line}\n"
    with pytest.raises(NoteRejected, match="access-log"):
        read_checkpoint_text(text)
    genesis = base64.b64encode(GENESIS).decode()
    assert read_checkpoint_text(text.replace(line, f"access-log 0 {genesis}")).access


# --- through the service ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real app, signing checkpoints every 100 ms."""
    key_dir = tmp_path_factory.mktemp("signing-keys")
    return Settings(
        database_url=database_url, signing_key_dir=key_dir, checkpoint_interval_seconds=0.1
    )


async def note_covering(legal: Caller, pool: asyncpg.Pool, path: str, **headers: str) -> str:
    """The checkpoint note once it covers every event recorded so far."""
    total = await pool.fetchval("SELECT count(*) FROM events")
    deadline = time.monotonic() + 20
    while True:
        response = await legal.client.get(
            path, headers={"Authorization": f"Bearer {legal.token}", **headers}
        )
        if response.status == 200:
            assert response.content_type == "text/plain"
            text = await response.text()
            if spec_checkpoint(spec_parse(text).text)[1] >= total:
                return text
        assert time.monotonic() < deadline, "no checkpoint note covered the log in time"
        await asyncio.sleep(0.05)


async def test_the_service_serves_its_checkpoint_as_a_signed_note(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """?format=note and Accept: text/plain give the note; the spec reader verifies it with the
    published key under the published origin, and it states the JSON checkpoint's tree."""
    operation = await field.open()
    await field.record(operation, event("StatusNoted", note="reached the border"))
    note = await note_covering(legal, pool, "/v1/audit/checkpoint?format=note")
    keys = await (await legal.get("/v1/audit/public-key")).json()
    origin, active = keys["origin"], keys["active_key_id"]
    assert origin.startswith("homeward.example/")
    assert keys["origin"] == await pool.fetchval("SELECT origin FROM log_origin")
    raw = base64.b64decode(keys["keys"][active]["public_key"])
    parsed = spec_verify(note, origin, raw)
    assert keys["vkeys"][active] == (
        f"{origin}+{spec_key_id(origin, 1, raw).hex()}+" + base64.b64encode(b"\x01" + raw).decode()
    )
    _, size, root, extensions = spec_checkpoint(parsed.text)
    stored = await pool.fetchval(
        "SELECT document FROM signed_checkpoints WHERE tree_size = $1", size
    )
    document = json.loads(stored) if isinstance(stored, str) else stored
    assert document["checkpoint"]["root_hash"] == root.hex()
    assert extensions[0].startswith("access-log ")
    plain = await note_covering(legal, pool, "/v1/audit/checkpoint", Accept="text/plain")
    assert spec_parse(plain).text.split("\n")[0] == origin


async def test_from_size_in_note_form_is_a_tlog_witness_request(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """`old N`, the consistency proof in base64 lines, a blank line, then the note."""
    await field.open()
    old = spec_checkpoint(
        spec_parse(await note_covering(legal, pool, "/v1/audit/checkpoint?format=note")).text
    )
    await field.open()
    await note_covering(legal, pool, "/v1/audit/checkpoint?format=note")
    response = await legal.get(f"/v1/audit/checkpoint?format=note&from_size={old[1]}")
    text = await response.text()
    head, _, note = text.partition("\n\n")
    first, *proof = head.split("\n")
    assert first == f"old {old[1]}"
    assert all(len(base64.b64decode(line, validate=True)) == 32 for line in proof)
    assert spec_checkpoint(spec_parse(note).text)[1] > old[1]


async def test_a_bundle_carries_the_note_and_the_verifier_reads_it(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """The bundle's checkpoint_note is the checkpoint's; a note of another tree is refused."""
    operation = await field.open()
    bundle = await (await legal.get(f"/v1/operations/{operation}/audit-trail")).json()
    keys = await (await legal.get("/v1/audit/public-key")).json()
    report = verify_bundle(bundle, trusted_keys=keys["keys"])
    assert report.proven, report.summary()
    assert report.origin == keys["origin"]
    assert "checkpoint note of log" in report.summary()
    size = bundle["checkpoint"]["checkpoint"]["tree_size"]
    assert spec_checkpoint(spec_parse(bundle["checkpoint_note"]).text)[1] == size
    other = await pool.fetchval(
        "SELECT note FROM checkpoint_notes WHERE tree_size <> $1 LIMIT 1", size
    )
    bundle["checkpoint_note"] = other
    refused = verify_bundle(bundle, trusted_keys=keys["keys"])
    assert refused.first_failure is not None
    assert refused.first_failure.reason == Reason.MALFORMED


async def test_the_format_of_the_checkpoint_is_json_or_note(legal: Caller, field: Caller) -> None:
    """Another format is 400."""
    await field.open()
    assert (await legal.get("/v1/audit/checkpoint?format=xml")).status == 400
