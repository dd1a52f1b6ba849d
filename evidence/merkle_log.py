"""The Merkle log in the database: leaves in global order, node runs, and signed checkpoints.

`MerkleLog` is one process's copy of the tree, kept in step with the tables of
events/migrations/0004_merkle_log.sql. Only the integrator (the one process holding the log's
advisory lock) appends, and each batch of leaves, with the cursor it reached, is one transaction.
Every other process only reads what was committed. Stored node runs make start-up cheap; every
node is still recomputed from the level below on load, and the tree is checked against the last
signed checkpoint before anything is signed or proven with it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from events.store.connection import Connection, Queryable
from events.store.envelope import START, Cursor
from events.verifier.checkpoints import (
    CheckpointRejected,
    PublicKeyRecord,
    SignedCheckpoint,
    verify_checkpoint,
)
from events.verifier.merkle_proofs import HASH_SIZE, leaf_hash, node_hash
from evidence.merkle_tree import MerkleTree

# Node hashes per stored run; the schema's CHECK on merkle_node_chunks.hashes says the same.
CHUNK = 1024

_LEAF_COLUMNS = ("leaf_index", "position", "epoch", "xid", "event_hash", "stream_id", "version")
_INSERT_CHUNKS = """
INSERT INTO merkle_node_chunks (level, chunk, hashes)
SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
"""


class Leaf(Protocol):
    """What the log needs of an event (`events.store.envelope.Logged`, or a whole `Recorded`)."""

    @property
    def cursor(self) -> Cursor:
        """Its place in the global order."""
        ...

    @property
    def position(self) -> int:
        """Its global position."""
        ...

    @property
    def stream_id(self) -> UUID:
        """Its operation."""
        ...

    @property
    def version(self) -> int:
        """Its version in the operation."""
        ...

    @property
    def hash(self) -> bytes:
        """Its chained hash: the leaf."""
        ...


class LogInconsistent(RuntimeError):
    """The stored Merkle log does not match itself or its signed checkpoints: it was changed."""


class MerkleLog:
    """This process's copy of the Merkle log; `refresh` catches up with the database."""

    def __init__(self, *, check_on_load: bool = True) -> None:
        self._tree: MerkleTree | None = None
        self._size = 0
        self._cursor = START
        self._check_on_load = check_on_load
        # Loading, refreshing and integrating mutate the tree across awaits: one at a time.
        self._lock = asyncio.Lock()

    @property
    def size(self) -> int:
        """How many leaves are committed in the database, as far as this copy knows."""
        return self._size

    @property
    def cursor(self) -> Cursor:
        """The log cursor of the last integrated event: where integration resumes."""
        return self._cursor

    @property
    def tree(self) -> MerkleTree:
        """The tree; sizes up to `size` are committed (refresh first)."""
        if self._tree is None:
            raise LogInconsistent("the Merkle log is not loaded; refresh it first")
        return self._tree

    async def refresh(self, connection: Connection) -> MerkleTree:
        """Load the tree, or append the leaves other processes committed since the last call."""
        async with self._lock:
            if self._tree is None:
                # One snapshot for the leaves and node runs, however many the integrator adds.
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    self._tree, self._cursor = await _load(connection, check=self._check_on_load)
            else:
                rows = await connection.fetch(
                    "SELECT leaf_index, epoch, xid, position, event_hash FROM merkle_leaves "
                    "WHERE leaf_index >= $1 ORDER BY leaf_index",
                    self._tree.size,
                )
                for row in rows:
                    if row["leaf_index"] != self._tree.size:
                        raise LogInconsistent(f"leaf {self._tree.size} is missing")
                    self._tree.append(bytes(row["event_hash"]))
                if rows:
                    self._cursor = _cursor(rows[-1])
            self._size = self._tree.size
            return self._tree

    async def integrate(self, connection: Connection, events: Sequence[Leaf]) -> int:
        """Append `events` (read in global order) as leaves, in one transaction; return how many.

        Only the holder of the log's advisory lock calls this; if anyone else wrote leaves
        meanwhile, the primary keys refuse this batch and the copy is reloaded next time.
        """
        async with self._lock:
            tree = self.tree
            fresh = [event for event in events if event.cursor > self._cursor]
            if not fresh:
                return 0
            old_size = tree.size
            for event in fresh:
                tree.append(event.hash)
            chunks = _completed_chunks(tree, old_size)
            try:
                async with connection.transaction():
                    # COPY: the integrator writes tens of thousands of leaves a second.
                    await connection.copy_records_to_table(
                        "merkle_leaves",
                        columns=_LEAF_COLUMNS,
                        records=[
                            (
                                old_size + offset,
                                event.position,
                                event.cursor.epoch,
                                event.cursor.xid,
                                event.hash,
                                event.stream_id,
                                event.version,
                            )
                            for offset, event in enumerate(fresh)
                        ],
                    )
                    if chunks:
                        levels, indexes, blobs = zip(*chunks, strict=True)
                        await connection.execute(
                            _INSERT_CHUNKS, list(levels), list(indexes), list(blobs)
                        )
            except BaseException:
                # The copy holds leaves the database does not: drop it, reload on next use.
                self._tree = None
                self._size = 0
                raise
            self._cursor = fresh[-1].cursor
            self._size = tree.size
            return len(fresh)


def _cursor(row: Any) -> Cursor:
    return Cursor(row["epoch"], row["xid"], row["position"])


def _completed_chunks(tree: MerkleTree, old_size: int) -> list[tuple[int, int, bytes]]:
    """The (level, chunk, hashes) runs that became complete when the tree grew past old_size."""
    runs = []
    height = 0
    while tree.size >> height >= CHUNK:
        first, last = (old_size >> height) // CHUNK, (tree.size >> height) // CHUNK
        for chunk in range(first, last):
            nodes = tree.nodes(height, chunk * CHUNK, (chunk + 1) * CHUNK)
            runs.append((height, chunk, b"".join(nodes)))
        height += 1
    return runs


async def _load(connection: Connection, *, check: bool) -> tuple[MerkleTree, Cursor]:
    last = await connection.fetchrow(
        "SELECT leaf_index, epoch, xid, position FROM merkle_leaves "
        "ORDER BY leaf_index DESC LIMIT 1"
    )
    if last is None:
        return MerkleTree(), START
    size = int(last["leaf_index"]) + 1
    levels: list[list[bytes]] = [[] for _ in range(size.bit_length())]
    for row in await connection.fetch(
        "SELECT level, chunk, hashes FROM merkle_node_chunks ORDER BY level, chunk"
    ):
        level, blob = row["level"], bytes(row["hashes"])
        if level >= len(levels) or row["chunk"] * CHUNK != len(levels[level]):
            raise LogInconsistent(f"node run {row['chunk']} of level {level} is out of place")
        levels[level].extend(blob[at : at + HASH_SIZE] for at in range(0, len(blob), HASH_SIZE))
    tail = await connection.fetch(
        "SELECT leaf_index, event_hash FROM merkle_leaves WHERE leaf_index >= $1 "
        "ORDER BY leaf_index",
        len(levels[0]),
    )
    if len(levels[0]) + len(tail) != size:
        raise LogInconsistent(f"the log has {size} leaves but stores {len(levels[0]) + len(tail)}")
    levels[0].extend(leaf_hash(bytes(row["event_hash"])) for row in tail)
    for height in range(1, len(levels)):
        below, row_nodes = levels[height - 1], levels[height]
        row_nodes.extend(
            node_hash(below[2 * index], below[2 * index + 1])
            for index in range(len(row_nodes), size >> height)
        )
    try:
        tree = MerkleTree.from_levels(levels, check=check)
    except ValueError as error:
        raise LogInconsistent(f"the stored Merkle log is damaged: {error}") from None
    return tree, _cursor(last)


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def latest_checkpoint(connection: Queryable) -> SignedCheckpoint | None:
    """The checkpoint of the largest tree signed so far (None before the first)."""
    document = await connection.fetchval(
        "SELECT document FROM signed_checkpoints ORDER BY tree_size DESC LIMIT 1"
    )
    return None if document is None else SignedCheckpoint.from_json(_document(document))


async def checkpoint_of_size(connection: Queryable, tree_size: int) -> SignedCheckpoint | None:
    """The checkpoint signed at exactly `tree_size` leaves, if one was."""
    document = await connection.fetchval(
        "SELECT document FROM signed_checkpoints WHERE tree_size = $1", tree_size
    )
    return None if document is None else SignedCheckpoint.from_json(_document(document))


async def store_checkpoint(connection: Queryable, signed: SignedCheckpoint) -> bool:
    """Record a signed checkpoint; False if one of that size was already recorded."""
    checkpoint = signed.checkpoint
    stored = await connection.fetchval(
        """
        INSERT INTO signed_checkpoints (tree_size, root_hash, signed_at, key_id, signature,
                                        document)
        VALUES ($1, $2, $3::text::timestamptz, $4, $5, $6::text::jsonb)
        ON CONFLICT (tree_size) DO NOTHING
        RETURNING true
        """,
        checkpoint.tree_size,
        bytes.fromhex(checkpoint.root_hash),
        checkpoint.timestamp,
        checkpoint.key_id,
        signed.signature,
        json.dumps(signed.to_json()),
    )
    return bool(stored)


def check_against(
    tree: MerkleTree, signed: SignedCheckpoint, public_keys: dict[str, PublicKeyRecord]
) -> None:
    """Raise LogInconsistent unless `signed` verifies and the tree has its root at its size."""
    try:
        checkpoint = verify_checkpoint(signed, public_keys)
    except CheckpointRejected as error:
        raise LogInconsistent(f"the last signed checkpoint does not verify: {error}") from None
    if tree.size < checkpoint.tree_size:
        raise LogInconsistent(
            f"the log holds {tree.size} leaves, fewer than the {checkpoint.tree_size} signed"
        )
    if tree.root(checkpoint.tree_size).hex() != checkpoint.root_hash:
        raise LogInconsistent(
            f"the log's root at {checkpoint.tree_size} leaves is not the signed root"
        )
