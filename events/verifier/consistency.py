"""Offline check that a newer signed checkpoint's log extends an older one's (invariant 6).

Two checkpoints are consistent when an RFC 9162 consistency proof leads from the older root to
the newer: nothing recorded before the older checkpoint was changed or removed since. Standard
library, `cryptography` and the integrity modules only.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from events.verifier.checkpoints import PublicKeyRecord, SignedCheckpoint
from events.verifier.findings import (
    Failure,
    Reason,
    Stop,
    check_signature,
    decode_hashes,
    read_checkpoint,
)
from events.verifier.merkle_proofs import verify_consistency
from events.verifier.outline import BUNDLE_FORMAT, STREAMS_BUNDLE_FORMAT
from events.verifier.trust import KeysFrom, KeysRefused, check_key_records, trust

CONSISTENCY_FORMAT = "homeward-consistency/1"
_CONSISTENCY_FIELDS = frozenset({"format", "checkpoint", "public_keys", "consistency"})
_PROOF_FIELDS = frozenset({"old_size", "new_size", "proof"})
# Bundles carry a checkpoint and keys too (evidence/bundle.py writes them); their other members
# are the bundle verifier's concern.
_BUNDLES = (BUNDLE_FORMAT, STREAMS_BUNDLE_FORMAT)


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """Whether a newer checkpoint's log extends an older checkpoint's log."""

    ok: bool
    old_size: int | None
    new_size: int | None
    failure: Failure | None
    keys_from: str = KeysFrom.TRUSTED.value

    @property
    def proven(self) -> bool:
        """Consistent, and both checkpoints signed by keys the caller supplied or pinned."""
        return self.ok and self.keys_from != KeysFrom.FILE.value

    def summary(self) -> str:
        """One sentence for a person."""
        if self.failure is not None:
            return f"NOT consistent, {self.failure.reason}: {self.failure.sentence}."
        if not self.proven:
            return (
                f"Checked, but NOT proven: a proof leads from the log of {self.old_size} "
                f"events to the log of {self.new_size} events, but the checkpoints were checked "
                "only with keys the files themselves carry, and anyone can make a key: NOTHING "
                "is proven about who signed them. Check again with --keys FILE (GET "
                "/v1/audit/public-key, fetched from Homeward separately) or --key-id ID."
            )
        return (
            f"Consistent: the log of {self.new_size} events extends the log of "
            f"{self.old_size} events; nothing recorded before was changed or removed."
        )


def verify_consistency_files(
    old: Any,
    new: Any,
    proof: Any = None,
    *,
    trusted_keys: Mapping[str, PublicKeyRecord] | None = None,
    pinned_key_ids: Collection[str] | None = None,
) -> ConsistencyReport:
    """Whether the log of checkpoint `new` extends the log of checkpoint `old`.

    `old` and `new` are each a signed checkpoint, a bundle or a consistency document. The proof
    comes from `new` (a consistency document's "consistency") or from `proof`, an object
    {"old_size", "new_size", "proof": [hex, ...]}. Keys: `trusted_keys`; else the keys of one
    file (the newer's if it carries any, else the older's), never a mix of both, restricted to
    `pinned_key_ids` if given; without trusted or pinned keys the report is not `proven`.
    """
    sizes: list[int | None] = [None, None]
    source = KeysFrom.FILE
    try:
        try:
            caller = trust(trusted_keys, pinned_key_ids)
        except KeysRefused as error:
            raise Stop(Reason.BAD_SIGNATURE, str(error)) from None
        source = caller.source
        old_signed, old_keys = _checkpoint_and_keys(old)
        new_signed, new_keys = _checkpoint_and_keys(new)
        sizes = [old_signed.checkpoint.tree_size, new_signed.checkpoint.tree_size]
        keys = caller.keys_for(new_keys or old_keys)
        check_signature(old_signed, keys)
        check_signature(new_signed, keys)
        _check_extends(old_signed, new_signed, new, proof)
    except Stop as stop:
        return ConsistencyReport(
            ok=False,
            old_size=sizes[0],
            new_size=sizes[1],
            failure=stop.failure,
            keys_from=source.value,
        )
    return ConsistencyReport(
        ok=True, old_size=sizes[0], new_size=sizes[1], failure=None, keys_from=source.value
    )


def _checkpoint_and_keys(document: Any) -> tuple[SignedCheckpoint, dict[str, Any]]:
    """A file's checkpoint and the keys it carries, refusing members no check covers."""
    found = document.get("format") if isinstance(document, dict) else None
    if found not in (CONSISTENCY_FORMAT, *_BUNDLES):
        return read_checkpoint(document), {}
    assert isinstance(document, dict)  # noqa: S101 -- for mypy: a format was found in it
    if found == CONSISTENCY_FORMAT:
        unknown = sorted(set(document) - _CONSISTENCY_FIELDS)
        if unknown:
            sentence = f"the consistency document carries a field no check covers: {unknown[0]!r}"
            raise Stop(Reason.UNKNOWN_FIELD, sentence)
    try:
        keys = check_key_records(document.get("public_keys"), what="the file's public_keys")
    except KeysRefused as error:
        raise Stop(Reason.MALFORMED, str(error)) from None
    return read_checkpoint(document.get("checkpoint")), dict(keys)


def _check_extends(old: SignedCheckpoint, new: SignedCheckpoint, new_doc: Any, proof: Any) -> None:
    m, n = old.checkpoint.tree_size, new.checkpoint.tree_size
    if m > n:
        raise Stop(Reason.MALFORMED, f"the older file's log ({m}) is larger than the newer's ({n})")
    if isinstance(new_doc, dict) and isinstance(new_doc.get("consistency"), dict):
        proof = new_doc["consistency"]
    if m in (0, n):
        nodes: list[bytes] = []
    elif not isinstance(proof, dict) or (proof.get("old_size"), proof.get("new_size")) != (m, n):
        raise Stop(Reason.MALFORMED, f"there is no consistency proof from {m} to {n} events")
    elif set(proof) != _PROOF_FIELDS:
        raise Stop(Reason.UNKNOWN_FIELD, "the consistency proof has other members than its own")
    else:
        raw = proof.get("proof")
        if not isinstance(raw, list):
            raise Stop(Reason.MALFORMED, "the consistency proof is not a list of hashes")
        nodes = decode_hashes(raw, None, "consistency proof")
    old_root, new_root = (
        bytes.fromhex(old.checkpoint.root_hash),
        bytes.fromhex(new.checkpoint.root_hash),
    )
    if not verify_consistency(m, n, old_root, new_root, nodes):
        sentence = (
            f"two signed checkpoints of {m} events have different roots: the log was rewritten"
            if m == n
            else f"the proof does not show the log of {n} events extends the log of {m}"
        )
        raise Stop(Reason.BAD_PROOF, sentence)
