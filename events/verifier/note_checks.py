"""The checkpoint note a bundle carries: the same tree as its JSON checkpoint, signed by the log's
key as a C2SP signed note (events/verifier/tlog_checkpoint.py), with the witnesses' cosignatures
(events/verifier/cosignature.py), of which the caller may require a number.

A bundle without a note (exported before notes were signed) is still read; it then satisfies no
witness requirement. Standard library, `cryptography` and the verifier's own modules only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.verifier.checkpoints import SignedCheckpoint
from events.verifier.cosignature import verify_cosignatures
from events.verifier.findings import Reason, Stop
from events.verifier.signed_note import NoteRejected, SignedNote, parse_note
from events.verifier.tlog_checkpoint import AccessAnchor, read_checkpoint_text, verify_log_note
from events.verifier.trust import Trust

NOTE = "checkpoint_note"


@dataclass(frozen=True, slots=True)
class NoteFindings:
    """What the checkpoint note showed: the log's origin, who cosigned, the access-log anchor."""

    origin: str
    witnesses: tuple[str, ...]
    access: AccessAnchor | None


def check_note(
    document: Mapping[str, Any], signed: SignedCheckpoint, keys: Mapping[str, Any], caller: Trust
) -> NoteFindings | None:
    """The findings of `document`'s checkpoint note, or None if it carries none (and no witness
    is required); Stop if the note is malformed, not the checkpoint's tree, not signed by one of
    `keys`, cosigned falsely by a trusted witness, or cosigned by too few."""
    text = document.get(NOTE)
    if text is None:
        if caller.required_witnesses:
            sentence = "the file carries no checkpoint note, so no witness cosigned its checkpoint"
            raise Stop(Reason.TOO_FEW_WITNESSES, sentence)
        return None
    note = read_note(text)
    try:
        checkpoint = verify_log_note(note, keys)
    except NoteRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the checkpoint note is refused: {error}") from None
    stated = signed.checkpoint
    if (checkpoint.tree_size, checkpoint.root.hex()) != (stated.tree_size, stated.root_hash):
        sentence = "the checkpoint note states another tree than the signed checkpoint"
        raise Stop(Reason.MALFORMED, sentence)
    try:
        cosigned = verify_cosignatures(note, caller.witnesses)
    except NoteRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"a witness cosignature is refused: {error}") from None
    if len(cosigned) < caller.required_witnesses:
        sentence = (
            f"{len(cosigned)} of the trusted witnesses cosigned the checkpoint, "
            f"{caller.required_witnesses} are required"
        )
        raise Stop(Reason.TOO_FEW_WITNESSES, sentence)
    names = tuple(sorted(cosignature.witness for cosignature in cosigned))
    return NoteFindings(checkpoint.origin, names, checkpoint.access)


def read_note(text: Any) -> SignedNote:
    """The signed note `text` writes, its body a checkpoint; Stop(MALFORMED) if it is not."""
    if not isinstance(text, str):
        raise Stop(Reason.MALFORMED, "the checkpoint note is not text")
    try:
        note = parse_note(text)
        read_checkpoint_text(note.text)
    except NoteRejected as error:
        raise Stop(Reason.MALFORMED, f"the checkpoint note is unreadable: {error}") from None
    return note
