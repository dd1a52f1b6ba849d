"""What the bundle verifier reports: what was checked, and the first failure if there was one.

One report for both kinds of bundle, so `coordinator audit verify FILE` prints either the same
way. Standard library and the verifier's own modules only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from events.verifier.findings import Failure

if TYPE_CHECKING:
    from events.verifier.note_checks import NoteFindings
    from events.verifier.timestamp_checks import TimestampFindings


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What was checked in a bundle, and the first failure if there was one.

    For a bundle of several streams `operation_id` is the primary stream's id, the counts are
    over all streams, `streams_total` says how many there are and `stubs_total` how many of the
    events are stubs, checked by their link and inclusion only; `head_version` is the primary
    stream's. For a one-stream bundle `streams_total` is None.
    """

    ok: bool
    operation_id: str | None
    events_total: int
    events_verified: int
    proofs_verified: int
    signature_verified: bool
    tree_size: int | None
    key_id: str | None
    # "trusted": a keys file the caller gave; "pinned": key ids the caller gave, their keys from
    # the file; "bundle": the keys the file itself carries, so nothing is proven about who signed.
    keys_from: str
    first_failure: Failure | None
    head_version: int | None = None  # the last version, as the signed stream head states it
    streams_total: int | None = None
    stubs_total: int = 0
    # From the checkpoint note, when the file carries one (events/verifier/note_checks.py).
    origin: str | None = None
    witnesses: tuple[str, ...] = ()  # the trusted witnesses whose cosignatures verified
    access_log_entries: int | None = None  # the access log's length the checkpoint anchors
    # From the RFC 3161 token on the note, when the file carries one: the time it states, and the
    # authority whose certificate (given by the caller) verified it; None: not checked.
    timestamped_at: str | None = None
    timestamp_authority: str | None = None

    @property
    def proven(self) -> bool:
        """Every check held, under keys the caller supplied or pinned: exit 0 only on this."""
        return self.ok and self.keys_from != "bundle"

    def to_json(self) -> dict[str, Any]:
        """The report as JSON, for machines and for the record."""
        return {**asdict(self), "proven": self.proven}

    def summary(self) -> str:
        """One sentence for a person."""
        failure = self.first_failure
        if failure is not None:
            return f"NOT verified, {failure.reason}{failure.where()}: {failure.sentence}."
        return self._events_sentence() + self._note_sentence()

    def _note_sentence(self) -> str:
        if self.origin is None:
            return ""
        witnessed = (
            f" Witnesses {', '.join(self.witnesses)} cosigned that checkpoint."
            if self.witnesses
            else " No trusted witness cosignature was checked."
        )
        anchored = (
            ""
            if self.access_log_entries is None
            else f" It anchors the access log at {self.access_log_entries} entries."
        )
        return (
            f" The checkpoint note of log {self.origin} verifies.{witnessed}{anchored}"
            + self._timestamp_sentence()
        )

    def _timestamp_sentence(self) -> str:
        if self.timestamped_at is None:
            return ""
        if self.timestamp_authority is None:
            return (
                f" It carries an RFC 3161 timestamp of {self.timestamped_at}, NOT checked: give "
                "the time-stamping authority's certificate with --tsa-cert."
            )
        return (
            f" Time-stamping authority {self.timestamp_authority} dated that note at "
            f"{self.timestamped_at} (RFC 3161): the checkpoint existed then."
        )

    def _events_sentence(self) -> str:
        keys = (
            "; the file's manifest, signed at export, covers every other field."
            if self.proven
            else ". But that key is one the bundle itself carries, and anyone can make a key: "
            "NOTHING is proven about who signed this file. Verify it again with --keys FILE "
            "(GET /v1/audit/public-key, fetched from Homeward separately) or --key-id ID (the "
            "key id Homeward publishes)."
        )
        verdict = "Verified" if self.proven else "Checked, but NOT proven"
        if self.streams_total is None:
            return (
                f"{verdict}: all {self.events_total} events of operation {self.operation_id} hash "
                "to their stored hashes, chain in order from version 1 without gaps, and are in "
                f"the Merkle log of {self.tree_size} events signed by key {self.key_id}; the "
                f"signed stream head confirms version {self.head_version} was the last" + keys
            )
        stubs = (
            ""
            if not self.stubs_total
            else f", {self.stubs_total} of them stubs whose data the bundle withholds, checked "
            "by their link in the chain and their inclusion proof only,"
        )
        return (
            f"{verdict}: all {self.events_total} events of {self.streams_total} streams (primary "
            f"{self.operation_id}){stubs} hash to their stored hashes, chain in order from "
            f"version 1 without gaps in each stream, and are in the Merkle log of "
            f"{self.tree_size} events signed by key {self.key_id}; each stream's signed head "
            "confirms its last event was its last" + keys
        )


def with_note(
    report: VerificationReport,
    note: NoteFindings | None,
    stamp: TimestampFindings | None = None,
) -> VerificationReport:
    """`report` with what the checkpoint note and its timestamp showed, if the file carried
    them."""
    if note is None:
        return report
    return replace(
        report,
        origin=note.origin,
        witnesses=note.witnesses,
        access_log_entries=None if note.access is None else note.access.entries,
        timestamped_at=None if stamp is None else stamp.time,
        timestamp_authority=None if stamp is None else stamp.authority,
    )
