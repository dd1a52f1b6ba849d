"""Checkpoints as C2SP signed notes: signed with the log's key beside the JSON form, stored with
the witnesses' cosignatures, and handed out with them (events/verifier/tlog_checkpoint.py has
the format).

Both forms are signed by the same key read once, at the same moment, and stored in one
transaction, so every checkpoint signed since migration 0015 has its note.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.store.connection import Queryable
from events.verifier.checkpoints import Checkpoint, SignedCheckpoint
from events.verifier.cosignature import Cosignature, verify_cosignatures
from events.verifier.signed_note import (
    ED25519,
    NoteRejected,
    NoteSignature,
    SignedNote,
    VerifierKey,
    parse_note,
    verifier_key,
)
from events.verifier.tlog_checkpoint import GENESIS, AccessAnchor, NoteCheckpoint
from evidence.keyring import SigningKeyring, raw_public_key


class UnknownCheckpoint(LookupError):
    """A cosigned note whose text is not the note of any checkpoint this log signed."""


class NoTrustedWitness(PermissionError):
    """A posted note carries no cosignature of a witness key this service accepts."""


@dataclass(frozen=True, slots=True)
class SignedForms:
    """One checkpoint in both forms: the JSON statement and the C2SP signed note."""

    json: SignedCheckpoint
    note: str


def sign_checkpoint(keyring: SigningKeyring, body: NoteCheckpoint) -> SignedForms:
    """Sign `body`'s tree, now, as a JSON checkpoint and as a signed note, with one key."""
    key_id, private_key = keyring.signer()
    checkpoint = Checkpoint(
        tree_size=body.tree_size, root_hash=body.root.hex(), timestamp=keyring.now(), key_id=key_id
    )
    note_key = verifier_key(body.origin, ED25519, raw_public_key(private_key))
    text = body.text()
    line = NoteSignature(body.origin, note_key.key_id, private_key.sign(text.encode()))
    return SignedForms(
        SignedCheckpoint(checkpoint, private_key.sign(checkpoint.message())),
        SignedNote(text, (line,)).to_text(),
    )


async def log_origin(connection: Queryable) -> str:
    """This deployment's origin line, made once by migration 0015."""
    origin = await connection.fetchval("SELECT origin FROM log_origin")
    if origin is None:
        raise LookupError("the log has no origin: run the migrations")
    return str(origin)


async def access_log_head(connection: Queryable) -> AccessAnchor:
    """The access log's entry count and last hash now (entries are numbered 1, 2, ... in commit
    order: record_access queues writers on one lock, so no lower number commits later)."""
    row = await connection.fetchrow(
        "SELECT entry, hash FROM access_log ORDER BY entry DESC LIMIT 1"
    )
    return (
        AccessAnchor(0, GENESIS) if row is None else AccessAnchor(row["entry"], bytes(row["hash"]))
    )


async def store_note(connection: Queryable, tree_size: int, note: str) -> None:
    """Record the signed note of the checkpoint of `tree_size` (once)."""
    await connection.execute(
        "INSERT INTO checkpoint_notes (tree_size, note) VALUES ($1, $2) "
        "ON CONFLICT (tree_size) DO NOTHING",
        tree_size,
        note,
    )


async def cosigned_note(connection: Queryable, tree_size: int) -> str | None:
    """The note of the checkpoint of `tree_size` with every cosignature recorded on it, oldest
    first; None if that checkpoint has no note (signed before migration 0015)."""
    note = await connection.fetchval(
        "SELECT note FROM checkpoint_notes WHERE tree_size = $1", tree_size
    )
    if note is None:
        return None
    lines = await connection.fetch(
        "SELECT line FROM checkpoint_cosignatures WHERE tree_size = $1 "
        "ORDER BY recorded_at, witness, key_id",
        tree_size,
    )
    return str(note) + "".join(row["line"] for row in lines)


async def add_cosignatures(
    connection: Queryable, posted: str, witnesses: list[VerifierKey]
) -> tuple[int, list[Cosignature]]:
    """Record the cosignatures of `witnesses` on a posted note (a checkpoint note this log
    signed, with cosignature lines); return its tree size and the cosignatures recorded.

    Raises NoteRejected (malformed, or a known witness's line does not verify),
    UnknownCheckpoint, or NoTrustedWitness (no line of a known witness).
    """
    note = parse_note(posted)
    stored = await connection.fetchrow(
        "SELECT tree_size, note FROM checkpoint_notes WHERE tree_size = $1",
        _size_line(note.text),
    )
    if stored is None or parse_note(stored["note"]).text != note.text:
        raise UnknownCheckpoint("this log signed no checkpoint note with that text")
    cosigned = verify_cosignatures(note, witnesses)
    if not cosigned:
        raise NoTrustedWitness("the note carries no cosignature of a witness key accepted here")
    by_key = {(line.name, line.key_id): line.line() for line in note.signatures}
    for cosignature in cosigned:
        await connection.execute(
            "INSERT INTO checkpoint_cosignatures (tree_size, witness, key_id, cosigned_at, line) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            stored["tree_size"],
            cosignature.witness,
            cosignature.key_id,
            cosignature.timestamp,
            by_key[(cosignature.witness, cosignature.key_id)],
        )
    return int(stored["tree_size"]), cosigned


def _size_line(text: str) -> int:
    lines = text.split("\n")
    if len(lines) < 3 or not (lines[1].isascii() and lines[1].isdigit()) or len(lines[1]) > 19:
        raise NoteRejected("the posted note is not a checkpoint")
    return int(lines[1])
