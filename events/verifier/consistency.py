"""Offline check that a newer signed checkpoint's log extends an older one's (invariant 6).

Two checkpoints are consistent when an RFC 9162 consistency proof leads from the older root to
the newer: nothing recorded before the older checkpoint was changed or removed since. Standard
library, `cryptography` and the integrity modules only.
"""

from __future__ import annotations

from collections.abc import Mapping
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

CONSISTENCY_FORMAT = "homeward-consistency/1"
# Documents that carry a checkpoint and the keys that verify it (evidence/bundle.py writes them).
_CARRIERS = ("homeward-bundle/2", CONSISTENCY_FORMAT)


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """Whether a newer checkpoint's log extends an older checkpoint's log."""

    ok: bool
    old_size: int | None
    new_size: int | None
    failure: Failure | None

    def summary(self) -> str:
        """One sentence for a person."""
        if self.failure is None:
            return (
                f"Consistent: the log of {self.new_size} events extends the log of "
                f"{self.old_size} events; nothing recorded before was changed or removed."
            )
        return f"NOT consistent, {self.failure.reason}: {self.failure.sentence}."


def verify_consistency_files(
    old: Any,
    new: Any,
    proof: Any = None,
    *,
    trusted_keys: Mapping[str, PublicKeyRecord] | None = None,
) -> ConsistencyReport:
    """Whether the log of checkpoint `new` extends the log of checkpoint `old`.

    `old` and `new` are each a signed checkpoint, a bundle or a consistency document. The proof
    comes from `new` (a consistency document's "consistency") or from `proof`, an object
    {"old_size", "new_size", "proof": [hex, ...]}. Keys: `trusted_keys`, else both files' keys.
    """
    sizes: list[int | None] = [None, None]
    try:
        old_signed, old_keys = _checkpoint_and_keys(old)
        new_signed, new_keys = _checkpoint_and_keys(new)
        sizes = [old_signed.checkpoint.tree_size, new_signed.checkpoint.tree_size]
        keys = trusted_keys if trusted_keys is not None else {**old_keys, **new_keys}
        check_signature(old_signed, keys)
        check_signature(new_signed, keys)
        _check_extends(old_signed, new_signed, new, proof)
    except Stop as stop:
        return ConsistencyReport(
            ok=False, old_size=sizes[0], new_size=sizes[1], failure=stop.failure
        )
    return ConsistencyReport(ok=True, old_size=sizes[0], new_size=sizes[1], failure=None)


def _checkpoint_and_keys(document: Any) -> tuple[SignedCheckpoint, dict[str, Any]]:
    if isinstance(document, dict) and document.get("format") in _CARRIERS:
        keys = document.get("public_keys")
        return read_checkpoint(document.get("checkpoint")), keys if isinstance(keys, dict) else {}
    return read_checkpoint(document), {}


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
