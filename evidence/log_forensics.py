"""Where a rewritten Merkle log was changed, as far as its signed checkpoints tell.

A superuser who rewrites an event, its chain and its leaf leaves a log whose stored leaves no
longer give the roots that were signed. Each signed checkpoint pins the root of the log at its
size, so the first checkpoint whose root the stored leaves no longer give, after the last one
they still give, brackets the changed leaves. Read only when an export has already failed.

A service that keeps running holds the tree it integrated and checked at start, so it would go
on proving untouched operations against the signed roots while the stored leaves say otherwise.
`check_stored_leaves` compares the two on every export: the database hashes the stored leaves
(the SHA-256 over their leaf hashes in order) and only a mismatch reads them all, to name the
first changed leaf. Measured by ops/bench_audit.py: 0.18 s for a log of 100,000 leaves (the SQL
aggregate, linear in the log's size); the 10,000-event export + verify around it took 4.3 s wall,
1.1 s processor time, on a shared machine under another benchmark's load.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from events.store.connection import Queryable
from events.verifier.merkle_proofs import leaf_hash
from evidence.merkle_tree import MerkleTree


class StoredLeafChanged(RuntimeError):
    """A stored leaf is not the leaf this process integrated: the table was rewritten."""


_LEAVES = "SELECT event_hash FROM merkle_leaves ORDER BY leaf_index"
_CHECKPOINTS = "SELECT document FROM signed_checkpoints ORDER BY tree_size"
# One 32-byte answer however long the log: the hash over the stored leaves' leaf hashes, in order.
_STORED_DIGEST = """
SELECT count(*) AS leaves,
       sha256(string_agg(sha256('\\x00'::bytea || event_hash), ''::bytea ORDER BY leaf_index))
         AS digest
  FROM merkle_leaves WHERE leaf_index < $1
"""
_STORED_LEAVES = """
SELECT leaf_index, event_hash, stream_id, version FROM merkle_leaves
 WHERE leaf_index < $1 ORDER BY leaf_index
"""


async def check_stored_leaves(connection: Queryable, tree: MerkleTree) -> None:
    """StoredLeafChanged naming the first stored leaf (below the tree's size) that is not the
    tree's, or a leaf that is missing; nothing if the stored leaves are the tree's."""
    size = tree.size
    if not size:
        return
    held = hashlib.sha256(b"".join(tree.nodes(0, 0, size))).digest()
    stored = await connection.fetchrow(_STORED_DIGEST, size)
    if stored is not None and stored["leaves"] == size and bytes(stored["digest"]) == held:
        return
    index = 0
    for index, row in enumerate(await connection.fetch(_STORED_LEAVES, size)):
        if row["leaf_index"] != index:
            raise StoredLeafChanged(f"leaf {index} of the Merkle log is no longer stored")
        if leaf_hash(bytes(row["event_hash"])) != tree.leaf_hash_at(index):
            event = (
                ""
                if row["stream_id"] is None
                else f" (version {row['version']} of stream {row['stream_id']})"
            )
            raise StoredLeafChanged(
                f"leaf {index}{event} stored in the Merkle log is not the leaf this service "
                "integrated and proved against the signed checkpoints: it was rewritten"
            )
    raise StoredLeafChanged(f"the Merkle log stores fewer than its {size} leaves (from {index})")


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
