"""Where a rewritten Merkle log was changed, as far as its signed checkpoints tell.

A superuser who rewrites an event, its chain and its leaf leaves a log whose stored leaves no
longer give the roots that were signed. Each signed checkpoint pins the root of the log at its
size, so the first checkpoint whose root the stored leaves no longer give, after the last one
they still give, brackets the changed leaves. Read only when an export has already failed.
"""

from __future__ import annotations

import json
from typing import Any

from events.store.connection import Queryable
from evidence.merkle_tree import MerkleTree

_LEAVES = "SELECT event_hash FROM merkle_leaves ORDER BY leaf_index"
_CHECKPOINTS = "SELECT document FROM signed_checkpoints ORDER BY tree_size"


async def which_leaves_changed(connection: Queryable) -> str | None:
    """A sentence naming the changed leaves' range, or None if every signed root still holds."""
    leaves = [bytes(row["event_hash"]) for row in await connection.fetch(_LEAVES)]
    tree = MerkleTree.from_leaves(leaves)
    holding = 0
    for row in await connection.fetch(_CHECKPOINTS):
        checkpoint = _document(row["document"])["checkpoint"]
        size, root = checkpoint["tree_size"], checkpoint["root_hash"]
        if size > tree.size:
            return (
                f"the log stores {tree.size} leaves, fewer than the {size} the checkpoint signed "
                f"at {checkpoint['timestamp']} covers"
            )
        if size and tree.root(size).hex() != root:
            return (
                f"the stored leaves no longer give the root signed at {checkpoint['timestamp']} "
                f"for {size} leaves, while they still give the root signed for {holding}: a "
                f"leaf from index {holding} to {size - 1} was changed"
            )
        holding = size
    return None


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
