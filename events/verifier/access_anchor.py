"""Offline check of an exported access log against the checkpoint that anchors it.

    access log = {"format": "homeward-access-log/1", "exported_at", "entries": [{entry,
                  accessed_at, actor_name, actor_role, operation_id, what, format, request_id,
                  prev_hash, hash}, ...], "checkpoint_note": text, "public_keys": {...}}

Every entry from 1 must chain (events/verifier/access_chain.py). The checkpoint note, signed by
the log's key (and perhaps cosigned by witnesses), carries `access-log <n> <base64 head>`: the
access log held n entries, the n-th with that hash, when it was signed. A file with fewer
entries lost some; a file whose n-th hash differs was rewritten, even if every hash after the
change was recomputed. Entries after the n-th are chained but not yet anchored. Standard
library, `cryptography` and the verifier's own modules only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from events.verifier.access_chain import BODY_FIELDS, access_body_hash, access_link_hash
from events.verifier.chain import GENESIS
from events.verifier.checkpoints import PublicKeyRecord
from events.verifier.findings import Failure, Reason, Stop, collector_paused, decode_hashes
from events.verifier.note_checks import read_note
from events.verifier.outline import check_members
from events.verifier.signed_note import NoteRejected
from events.verifier.tlog_checkpoint import verify_log_note
from events.verifier.trust import KeysFrom, KeysRefused, check_key_records, trust

ACCESS_LOG_FORMAT = "homeward-access-log/1"
_FIELDS = frozenset({"format", "exported_at", "entries", "checkpoint_note", "public_keys"})
_ENTRY_FIELDS = frozenset({"entry", *BODY_FIELDS, "prev_hash", "hash"})


@dataclass(frozen=True, slots=True)
class AccessLogReport:
    """Whether an exported access log chains and matches its anchoring checkpoint."""

    ok: bool
    entries_total: int
    entries_anchored: int | None
    tree_size: int | None
    keys_from: str
    failure: Failure | None

    @property
    def proven(self) -> bool:
        """All held, and the checkpoint was signed by a key the caller supplied or pinned."""
        return self.ok and self.keys_from != KeysFrom.FILE.value

    def summary(self) -> str:
        """One sentence for a person."""
        if self.failure is not None:
            entry = "" if self.failure.version is None else f" at entry {self.failure.version}"
            return f"NOT verified, {self.failure.reason}{entry}: {self.failure.sentence}."
        verdict = "Verified" if self.proven else "Checked, but NOT proven (keys from the file)"
        return (
            f"{verdict}: all {self.entries_total} entries of the access log chain from entry 1, "
            f"and the first {self.entries_anchored} are exactly those the checkpoint of "
            f"{self.tree_size} events anchored when it was signed: none was removed or rewritten "
            "since."
        )


def verify_access_log(
    document: Any,
    *,
    trusted_keys: Mapping[str, PublicKeyRecord] | None = None,
    pinned_key_ids: Collection[str] | None = None,
) -> AccessLogReport:
    """Check an exported access log: chain, then the note's signature, then the anchor."""
    entries = document.get("entries") if isinstance(document, dict) else None
    total = len(entries) if isinstance(entries, list) else 0
    try:
        caller = trust(trusted_keys, pinned_key_ids)
    except KeysRefused as error:
        failure = Failure(Reason.BAD_SIGNATURE, str(error))
        return AccessLogReport(
            ok=False,
            entries_total=total,
            entries_anchored=None,
            tree_size=None,
            keys_from=KeysFrom.FILE.value,
            failure=failure,
        )
    with collector_paused():
        try:
            size, anchored = _check(document, caller.keys_for)
        except Stop as stop:
            return AccessLogReport(
                ok=False,
                entries_total=total,
                entries_anchored=None,
                tree_size=None,
                keys_from=caller.source.value,
                failure=stop.failure,
            )
    return AccessLogReport(
        ok=True,
        entries_total=total,
        entries_anchored=anchored,
        tree_size=size,
        keys_from=caller.source.value,
        failure=None,
    )


def _check(
    document: Any, keys_for: Callable[[Mapping[str, Any]], Mapping[str, Any]]
) -> tuple[int, int]:
    """The checkpoint's tree size and the entries it anchors, once all holds; else Stop."""
    hashes = _check_outline_and_chain(document)
    note = read_note(document["checkpoint_note"])
    try:
        checkpoint = verify_log_note(note, keys_for(document["public_keys"]))
    except NoteRejected as error:
        raise Stop(Reason.BAD_SIGNATURE, f"the checkpoint note is refused: {error}") from None
    anchor = checkpoint.access
    if anchor is None:
        raise Stop(Reason.MALFORMED, "the checkpoint note carries no access-log anchor")
    if len(hashes) < anchor.entries:
        sentence = (
            f"the checkpoint anchored {anchor.entries} entries, the file holds {len(hashes)}: "
            "entries were removed"
        )
        raise Stop(Reason.MISSING_EVENT, sentence)
    if anchor.entries and hashes[anchor.entries - 1] != anchor.head:
        sentence = (
            f"entry {anchor.entries} is not the entry the checkpoint anchored: the access log "
            "was rewritten after it was signed"
        )
        raise Stop(Reason.ANCHOR_MISMATCH, sentence, version=anchor.entries)
    return checkpoint.tree_size, anchor.entries


def _check_outline_and_chain(document: Any) -> list[bytes]:
    """The entries' hashes, once the file has exactly its members and every entry chains."""
    if not isinstance(document, dict) or document.get("format") != ACCESS_LOG_FORMAT:
        raise Stop(Reason.MALFORMED, f"the file is not a {ACCESS_LOG_FORMAT} access log")
    check_members(document, _FIELDS, frozenset(), "the access log")
    if not isinstance(document["exported_at"], str) or not isinstance(document["entries"], list):
        raise Stop(Reason.MALFORMED, "the access log's exported_at or entries are malformed")
    try:
        check_key_records(document["public_keys"], what="the file's public_keys")
    except KeysRefused as error:
        raise Stop(Reason.MALFORMED, str(error)) from None
    previous, hashes = GENESIS, []
    for expected, entry in enumerate(document["entries"], start=1):
        if not isinstance(entry, dict):
            raise Stop(Reason.MALFORMED, "an entry is not an object", version=expected)
        check_members(entry, _ENTRY_FIELDS, frozenset(), f"entry {expected}")
        number = entry["entry"]
        if type(number) is not int or number != expected:
            raise Stop(Reason.MISSING_EVENT, f"entry {expected} is missing", version=expected)
        if not all(isinstance(entry[name], str) for name in BODY_FIELDS):
            raise Stop(Reason.MALFORMED, "an entry's fields are not text", version=expected)
        try:
            prev, stated = decode_hashes([entry["prev_hash"], entry["hash"]], None, "hashes")
        except Stop:
            raise Stop(Reason.MALFORMED, "its hashes are not hex", version=expected) from None
        if prev != previous:
            raise Stop(
                Reason.BROKEN_CHAIN, "it does not chain to the entry before", version=expected
            )
        if access_link_hash(access_body_hash(entry), expected, prev) != stated:
            raise Stop(
                Reason.HASH_MISMATCH, "its hash is not the hash of its fields", version=expected
            )
        previous = stated
        hashes.append(stated)
    return hashes
