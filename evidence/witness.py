"""The witness's rules (`coordinator witness`, run by a partner organisation with its own key):
accept a checkpoint only if the log signed it and it extends the last checkpoint the witness
cosigned, then cosign it (c2sp.org/tlog-cosignature).

The witness reads the body of a C2SP tlog-witness add-checkpoint request (GET
/v1/audit/checkpoint?format=note&from_size=N):

    old <N>
    <base64 consistency proof node>...

    <the checkpoint note>

A checkpoint that does not extend the one cosigned before means the log rewrote its history (or
showed someone another one): the witness refuses, and keeps its state. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from events.verifier.cosignature import cosign
from events.verifier.merkle_proofs import EMPTY_ROOT, verify_consistency
from events.verifier.signed_note import (
    NoteRejected,
    SignedNote,
    VerifierKey,
    canonical_b64,
    parse_note,
)
from events.verifier.tlog_checkpoint import NoteCheckpoint, verify_log_note

# tlog-witness: a client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF = 63


class WitnessRefused(ValueError):
    """The checkpoint is not one to cosign: unsigned, malformed, or not extending the last."""


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the proof starts at, the proof, the signed note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: SignedNote


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The checkpoint the witness accepted, and its cosignature line (with newline)."""

    checkpoint: NoteCheckpoint
    note: SignedNote
    line: str

    def posted(self) -> str:
        """The note with only the witness's line: what the witness posts back to the log."""
        return self.note.text + "\n" + self.line


def read_add_checkpoint(body: str) -> AddCheckpoint:
    """Read an add-checkpoint request body strictly; WitnessRefused if it is not one."""
    head, separator, note_text = body.partition("\n\n")
    lines = head.split("\n")
    if not separator or not lines[0].startswith("old "):
        raise WitnessRefused("the answer is not an add-checkpoint request (old size, proof, note)")
    size = lines[0][4:]
    if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
        raise WitnessRefused("the old size is not a decimal without leading zeroes")
    if len(lines) - 1 > MAX_PROOF:
        raise WitnessRefused(f"the consistency proof has more than {MAX_PROOF} lines")
    try:
        proof = tuple(canonical_b64(line, "a proof line") for line in lines[1:])
        note = parse_note(note_text)
    except NoteRejected as error:
        raise WitnessRefused(str(error)) from None
    if any(len(node) != 32 for node in proof):
        raise WitnessRefused("a consistency proof line is not a 32-byte hash")
    return AddCheckpoint(int(size), proof, note)


def check_and_cosign(
    request: AddCheckpoint,
    *,
    log_keys: Mapping[str, Any],
    last: NoteCheckpoint | None,
    private_key: Ed25519PrivateKey,
    witness: VerifierKey,
    now: int,
) -> Cosigned:
    """Cosign the request's checkpoint at time `now` if one of `log_keys` signed it and it
    extends `last` (the checkpoint cosigned before, None the first time); else WitnessRefused."""
    try:
        checkpoint = verify_log_note(request.note, log_keys)
    except NoteRejected as error:
        raise WitnessRefused(f"the checkpoint is not the log's: {error}") from None
    old_size = 0 if last is None else last.tree_size
    old_root = EMPTY_ROOT if last is None else last.root
    if last is not None and last.origin != checkpoint.origin:
        raise WitnessRefused(f"the checkpoint is of log {checkpoint.origin}, not {last.origin}")
    if request.old_size != old_size:
        raise WitnessRefused(
            f"the proof starts at {request.old_size} events, the last cosigned had {old_size}"
        )
    if checkpoint.tree_size < old_size:
        raise WitnessRefused(
            f"the log now claims {checkpoint.tree_size} events, fewer than the {old_size} "
            "cosigned before: its history was rewritten"
        )
    if not verify_consistency(
        old_size, checkpoint.tree_size, old_root, checkpoint.root, request.proof
    ):
        raise WitnessRefused(
            f"the log of {checkpoint.tree_size} events does not extend the log of {old_size} "
            "events cosigned before: its history was rewritten"
        )
    line = cosign(private_key, witness, request.note.text, now)
    return Cosigned(checkpoint, request.note, line)
