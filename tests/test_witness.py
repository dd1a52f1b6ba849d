"""Witness cosigning: `coordinator witness` checks the log only grows and cosigns its checkpoint
(C2SP cosignature/v1), the service records it, bundles carry it, the verifier can require it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.cli.audit_commands import (
    NOT_VERIFIED,
    PROVEN,
    UNUSABLE,
    offline_arguments,
    run_offline,
)
from coordinator.cli.witness_command import Witness, witness_key, witness_once
from coordinator.settings import Settings
from events.verifier.bundle_checks import Reason, verify_bundle
from events.verifier.signed_note import parse_note
from events.verifier.tlog_checkpoint import NoteCheckpoint
from evidence.checkpoint_note import sign_checkpoint
from evidence.keyring import SigningKeyring
from evidence.witness import WitnessRefused, check_and_cosign, read_add_checkpoint
from tests.api import Caller, Client

WITNESS_NAME = "partner.example/w1"
WITNESS_KEY = Ed25519PrivateKey.generate()
STRANGER_KEY = Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's signing key folder."""
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(scope="module")
def app_settings(database_url: str, key_dir: Path) -> Settings:
    """The real app, signing every 100 ms, accepting the partner's witness key."""
    return Settings(
        database_url=database_url,
        signing_key_dir=key_dir,
        checkpoint_interval_seconds=0.1,
        witness_keys=(witness_key(WITNESS_NAME, WITNESS_KEY).vkey(),),
    )


async def covered(pool: asyncpg.Pool) -> int:
    """The size of the latest checkpoint note, once it covers every event recorded so far."""
    total = await pool.fetchval("SELECT count(*) FROM events")
    deadline = time.monotonic() + 20
    while True:
        size = await pool.fetchval("SELECT max(tree_size) FROM checkpoint_notes")
        if size is not None and size >= total:
            return int(size)
        assert time.monotonic() < deadline, "no checkpoint note covered the log in time"
        await asyncio.sleep(0.05)


async def a_witness(legal: Caller, folder: Path, key: Ed25519PrivateKey = WITNESS_KEY) -> Witness:
    """The partner's witness: its key, Homeward's keys fetched once, a state file."""
    keys = await (await legal.get("/v1/audit/public-key")).json()
    return Witness(key, witness_key(WITNESS_NAME, key), keys["keys"], folder / "state.note")


async def run_witness(client: Client, legal: Caller, witness: Witness) -> str:
    """One run of the witness against the test service."""
    headers = {"Authorization": f"Bearer {legal.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        return await witness_once(session, str(client.make_url("")), witness)


@pytest.mark.unit
def test_a_cosignature_is_the_specs_cosignature_v1(tmp_path: Path) -> None:
    """Key ID over 0x04, u64 time, Ed25519 over 'cosignature/v1', 'time T', the note text."""
    keyring = SigningKeyring(tmp_path / "keys")
    root = hashlib.sha256(b"r").digest()
    forms = sign_checkpoint(keyring, NoteCheckpoint("o.example/log", 1, root))
    cosigned = check_and_cosign(
        read_add_checkpoint("old 0\n\n" + forms.note),
        log_keys=keyring.public_keys(),
        last=None,
        private_key=WITNESS_KEY,
        witness=witness_key(WITNESS_NAME, WITNESS_KEY),
        now=1_700_000_000,
    )
    dash, name, blob = cosigned.line.rstrip("\n").split(" ")
    raw = base64.b64decode(blob)
    public = WITNESS_KEY.public_key().public_bytes_raw()
    assert (dash, name) == ("\u2014", WITNESS_NAME)
    assert raw[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert struct.unpack(">Q", raw[4:12]) == (1_700_000_000,)
    message = b"cosignature/v1\ntime 1700000000\n" + parse_note(forms.note).text.encode()
    WITNESS_KEY.public_key().verify(raw[12:], message)


async def test_the_witness_cosigns_and_bundles_carry_it(
    client: Client, field: Caller, legal: Caller, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Two runs cosign two growing checkpoints; the bundle's checkpoint is witnessed, and
    `audit verify --witness-keys --require-witnesses` holds it to that."""
    witness = await a_witness(legal, tmp_path)
    await field.open()
    first = await covered(pool)
    assert "extends the log of 0 events" in await run_witness(client, legal, witness)
    operation = await field.open()
    second = await covered(pool)
    said = await run_witness(client, legal, witness)
    assert f"at {second} events" in said
    assert f"extends the log of {first} events" in said
    bundle = await (await legal.get(f"/v1/operations/{operation}/audit-trail")).json()
    assert bundle["checkpoint"]["checkpoint"]["tree_size"] == second
    keys = await (await legal.get("/v1/audit/public-key")).json()
    report = verify_bundle(
        bundle, trusted_keys=keys["keys"], witness_keys=[witness.key], required_witnesses=1
    )
    assert report.proven, report.summary()
    assert report.witnesses == (WITNESS_NAME,)
    assert "Witnesses partner.example/w1 cosigned" in report.summary()
    # The command line, with one witness required, two required of two keys, and too many.
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    stranger = witness_key("partner.example/w2", STRANGER_KEY).vkey()
    (tmp_path / "one.vkeys").write_text(f"# the partner\n{witness.key.vkey()}\n")
    (tmp_path / "two.vkeys").write_text(f"{witness.key.vkey()}\n{stranger}\n")
    verify = [
        "audit",
        "verify",
        str(tmp_path / "bundle.json"),
        "--keys",
        str(tmp_path / "keys.json"),
    ]

    def exit_code(*extra: str) -> int:
        arguments = offline_arguments([*verify, *extra])
        assert arguments is not None
        return run_offline(arguments)

    one = ("--witness-keys", str(tmp_path / "one.vkeys"))
    two = ("--witness-keys", str(tmp_path / "two.vkeys"))
    assert exit_code(*one, "--require-witnesses", "1") == PROVEN
    assert exit_code(*two, "--require-witnesses", "2") == NOT_VERIFIED
    assert exit_code(*one, "--require-witnesses", "2") == UNUSABLE
    assert exit_code("--require-witnesses", "1") == UNUSABLE


async def test_a_rewritten_history_is_refused_by_the_witness(
    client: Client,
    field: Caller,
    legal: Caller,
    pool: asyncpg.Pool,
    key_dir: Path,
    tmp_path: Path,
) -> None:
    """A witness that cosigned one history refuses a log that now shows another: the log's own
    key signed both, but no consistency proof leads from the first to the second."""
    witness = await a_witness(legal, tmp_path)
    await field.open()
    size = await covered(pool)
    # What the log showed the witness before: the same size, another root, signed by its key.
    origin = await pool.fetchval("SELECT origin FROM log_origin")
    other = hashlib.sha256(b"the history before it was rewritten").digest()
    shown = sign_checkpoint(SigningKeyring(key_dir), NoteCheckpoint(origin, size, other))
    witness.state.write_text(shown.note)
    await field.open()
    await covered(pool)
    rows = await pool.fetchval("SELECT count(*) FROM checkpoint_cosignatures")
    with pytest.raises(WitnessRefused, match="history was rewritten"):
        await run_witness(client, legal, witness)
    assert witness.state.read_text() == shown.note
    assert await pool.fetchval("SELECT count(*) FROM checkpoint_cosignatures") == rows


async def post(legal: Caller, text: str) -> tuple[int, Any]:
    """POST a cosigned note; its status and JSON answer."""
    response = await legal.client.post(
        "/v1/audit/checkpoint/cosignatures",
        data=text.encode(),
        headers={"Authorization": f"Bearer {legal.token}"},
    )
    return response.status, await response.json()


async def test_forged_or_unknown_cosignatures_are_refused_by_the_service(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """A line under the partner's name and key ID that its key did not sign is 400; a line of a
    key not accepted here is 403; a note this log did not sign is 404; field may not post."""
    await field.open()
    size = await covered(pool)
    note = parse_note(
        await pool.fetchval("SELECT note FROM checkpoint_notes WHERE tree_size = $1", size)
    )
    partner = witness_key(WITNESS_NAME, WITNESS_KEY)
    forged = check_and_cosign(
        read_add_checkpoint("old 0\n\n" + note.to_text()),
        log_keys=await a_log_keys(legal),
        last=None,
        private_key=STRANGER_KEY,
        witness=partner,
        now=int(time.time()),
    )
    status, answer = await post(legal, forged.posted())
    assert (status, answer["error"]) == (400, "bad_request"), answer
    stranger = forged.posted().replace(WITNESS_NAME, "partner.example/w2")
    assert (await post(legal, stranger))[0] == 403
    assert (await post(legal, forged.posted().replace(f"\n{size}\n", f"\n{size + 99}\n")))[0] in {
        400,
        404,
    }
    response = await field.client.post(
        "/v1/audit/checkpoint/cosignatures",
        data=forged.posted().encode(),
        headers={"Authorization": f"Bearer {field.token}"},
    )
    assert response.status == 403


async def a_log_keys(legal: Caller) -> dict[str, Any]:
    """Homeward's published keys."""
    keys: dict[str, Any] = (await (await legal.get("/v1/audit/public-key")).json())["keys"]
    return keys


async def test_a_forged_cosignature_slipped_into_the_database_fails_offline(
    field: Caller, legal: Caller, pool: asyncpg.Pool
) -> None:
    """A cosignature row written behind the service's back under the partner's name is carried
    in the bundle, and the verifier given the partner's key refuses it."""
    operation = await field.open()
    size = await covered(pool)
    partner = witness_key(WITNESS_NAME, WITNESS_KEY)
    note = parse_note(
        await pool.fetchval("SELECT note FROM checkpoint_notes WHERE tree_size = $1", size)
    )
    forged = check_and_cosign(
        read_add_checkpoint("old 0\n\n" + note.to_text()),
        log_keys=await a_log_keys(legal),
        last=None,
        private_key=STRANGER_KEY,
        witness=partner,
        now=int(time.time()),
    )
    await pool.execute(
        "INSERT INTO checkpoint_cosignatures (tree_size, witness, key_id, cosigned_at, line) "
        "VALUES ($1, $2, $3, 0, $4)",
        size,
        WITNESS_NAME,
        partner.key_id,
        forged.line,
    )
    bundle = await (await legal.get(f"/v1/operations/{operation}/audit-trail")).json()
    report = verify_bundle(
        bundle, trusted_keys=await a_log_keys(legal), witness_keys=[partner], required_witnesses=1
    )
    assert report.first_failure is not None
    assert report.first_failure.reason == Reason.BAD_SIGNATURE
    assert "cosignature of witness partner.example/w1 does not verify" in report.summary()
