"""`coordinator witness`: a partner organisation's check that Homeward's log only grows.

Run with the partner's own Ed25519 key (never Homeward's), it fetches the latest checkpoint
note with a consistency proof from the last checkpoint it cosigned, checks the log signed it and
it extends that one (evidence/witness.py), cosigns it (C2SP `cosignature/v1`) and posts the
cosignature back, so bundles carry it. It keeps the cosigned note in `--state`; a refused
checkpoint leaves the state as it was. Run it every few minutes (a timer); exit 0 cosigned,
1 refused (the history was rewritten, or the answer is not the log's), 2 unusable setup or
unreachable service.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.verifier.signed_note import COSIGNATURE_V1, NoteRejected, VerifierKey, verifier_key
from events.verifier.strict_json import load_json
from events.verifier.tlog_checkpoint import NoteCheckpoint, verify_log_note
from events.verifier.trust import KeysRefused, read_keys_file
from evidence.keyring import raw_public_key
from evidence.witness import WitnessRefused, check_and_cosign, read_add_checkpoint

COSIGNED, REFUSED, UNUSABLE = 0, 1, 2


class SetupUnusable(Exception):
    """A key, keys file or state file that cannot be used, or a service that cannot be reached."""


@dataclass(frozen=True, slots=True)
class Witness:
    """Who cosigns (name and key), which log keys it trusts, where it keeps what it cosigned."""

    private_key: Ed25519PrivateKey
    key: VerifierKey
    log_keys: dict[str, Any]
    state: Path


def add_arguments(commands: Any) -> None:
    """Register `witness` on the main parser's subcommands."""
    witness = commands.add_parser(
        "witness", help="as a partner organisation: check the log only grows, and cosign it"
    )
    witness.add_argument("--url", required=True, help="Homeward's address, e.g. https://h.example")
    witness.add_argument("--name", required=True, help="the witness's key name, partner.example/w1")
    witness.add_argument("--key", type=Path, required=True, help="the witness's Ed25519 key (PEM)")
    witness.add_argument(
        "--generate-key", action="store_true", help="create --key if missing; print its vkey"
    )
    witness.add_argument(
        "--log-keys", type=Path, help="Homeward's public keys, fetched once, out of band"
    )
    witness.add_argument("--state", type=Path, help="the last cosigned checkpoint note (file)")
    witness.add_argument(
        "--token", help="a token to read checkpoints (default: COORDINATOR_WITNESS_TOKEN)"
    )


def load_key(path: Path, *, generate: bool) -> Ed25519PrivateKey:
    """The witness's private key from `path` (created 0600 first, with `generate`)."""
    if generate and not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise SetupUnusable(f"the witness key {path} cannot be read: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SetupUnusable(f"{path} does not hold an Ed25519 private key")
    return key


def witness_key(name: str, private_key: Ed25519PrivateKey) -> VerifierKey:
    """The witness's cosignature verifier key (give its vkey to Homeward and to verifiers)."""
    try:
        return verifier_key(name, COSIGNATURE_V1, raw_public_key(private_key))
    except NoteRejected as error:
        raise SetupUnusable(str(error)) from None


def read_log_keys(path: Path) -> dict[str, Any]:
    """Homeward's public keys (the answer of GET /v1/audit/public-key, saved out of band)."""
    try:
        return dict(read_keys_file(load_json(path.read_bytes())))
    except (OSError, ValueError, KeysRefused) as error:
        raise SetupUnusable(f"the log's keys file {path} cannot be used: {error}") from None


def last_cosigned(witness: Witness) -> NoteCheckpoint | None:
    """The checkpoint cosigned last (None before the first), checked again under the log keys."""
    try:
        text = witness.state.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    from events.verifier.signed_note import parse_note  # noqa: PLC0415  only here

    try:
        return verify_log_note(parse_note(text), witness.log_keys)
    except NoteRejected as error:
        raise SetupUnusable(
            f"the state file {witness.state} is not a log's note: {error}"
        ) from None


async def witness_once(session: aiohttp.ClientSession, url: str, witness: Witness) -> str:
    """Fetch, check, cosign and post the latest checkpoint once; the sentence to print.
    Raises WitnessRefused (nothing posted, state kept) or SetupUnusable."""
    last = last_cosigned(witness)
    size = 0 if last is None else last.tree_size
    query = f"{url.rstrip('/')}/v1/audit/checkpoint?format=note&from_size={size}"
    try:
        async with session.get(query) as response:
            body = await response.text()
            if response.status != 200:
                raise SetupUnusable(f"GET checkpoint answered {response.status}: {body[:200]}")
        request = read_add_checkpoint(body)
        cosigned = check_and_cosign(
            request,
            log_keys=witness.log_keys,
            last=last,
            private_key=witness.private_key,
            witness=witness.key,
            now=int(time.time()),
        )
        posted = f"{url.rstrip('/')}/v1/audit/checkpoint/cosignatures"
        async with session.post(posted, data=cosigned.posted().encode()) as response:
            if response.status != 201:
                answer = await response.text()
                raise SetupUnusable(
                    f"the cosignature was not accepted ({response.status}): {answer}"
                )
    except aiohttp.ClientError as error:
        raise SetupUnusable(f"{url} cannot be reached: {error}") from None
    temporary = witness.state.with_suffix(".tmp")
    temporary.write_text(request.note.to_text(), encoding="utf-8")
    temporary.replace(witness.state)
    checkpoint = cosigned.checkpoint
    return (
        f"Cosigned {checkpoint.origin} at {checkpoint.tree_size} events as {witness.key.name}: "
        f"it extends the log of {size} events cosigned before."
    )


async def _run(arguments: Any, witness: Witness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        try:
            print(await witness_once(session, arguments.url, witness))
        except WitnessRefused as error:
            print(f"REFUSED: {error}.", file=sys.stderr)
            return REFUSED
        except SetupUnusable as error:
            print(f"error: {error}", file=sys.stderr)
            return UNUSABLE
    return COSIGNED


def run(arguments: Any) -> int:
    """Run `coordinator witness` once; see the module doc for the exit codes."""
    try:
        private_key = load_key(arguments.key, generate=arguments.generate_key)
        key = witness_key(arguments.name, private_key)
        if arguments.generate_key:
            print(
                f"witness vkey (give it to Homeward's witness_keys and to verifiers):\n{key.vkey()}"
            )
        if arguments.log_keys is None or arguments.state is None:
            if arguments.generate_key:
                return COSIGNED
            print("error: --log-keys and --state are needed to cosign", file=sys.stderr)
            return UNUSABLE
        witness = Witness(private_key, key, read_log_keys(arguments.log_keys), arguments.state)
    except SetupUnusable as error:
        print(f"error: {error}", file=sys.stderr)
        return UNUSABLE
    token = arguments.token or os.environ.get("COORDINATOR_WITNESS_TOKEN", "")
    return asyncio.run(_run(arguments, witness, token))
