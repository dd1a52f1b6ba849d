"""The append-only Merkle log over event hashes (invariant 5), as RFC 9162 section 2.1 defines it.

Leaves are the 32-byte event hashes, in the order the log received them. The tree keeps every
complete subtree hash by level, so an append costs one leaf hash plus, amortised, one node hash,
and the root, inclusion proof and consistency proof of any earlier size come from stored nodes.
Standard library only. Checking proofs, all a verifier needs, is events/verifier/merkle_proofs.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from events.verifier.merkle_proofs import EMPTY_ROOT, HASH_SIZE, ProofError, node_hash

_sha256 = hashlib.sha256


def _split(width: int) -> int:
    """The largest power of two strictly below `width` (RFC 9162's k), for width >= 2."""
    return 1 << ((width - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 Merkle tree that keeps the hash of every complete subtree.

    `_levels[h][i]` is the hash of the complete subtree over leaves [i * 2**h, (i + 1) * 2**h).
    Every range the RFC's MTH, PATH and SUBPROOF recurse into starts at a multiple of the largest
    power of two it contains, so each is one stored node or a split into stored nodes.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        """Rebuild a tree from its leaves (the stored event hashes), in log order."""
        tree = cls()
        tree.extend(leaves)
        return tree

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MerkleTree:
        """Rebuild a tree from stored leaf hashes (SHA-256(0x00 || leaf)), in log order."""
        tree = cls()
        for node in leaf_hashes:
            tree.append_leaf_hash(node)
        return tree

    @classmethod
    def from_levels(cls, levels: Sequence[Sequence[bytes]], *, check: bool = True) -> MerkleTree:
        """Load a tree from stored level hashes (level 0 = leaf hashes), as `levels()` gave them.

        With `check`, every stored node is recomputed from its children, so a damaged or edited
        store is refused instead of silently producing proofs that fail later in court.
        """
        if not levels:
            return cls()
        tree = cls()
        tree._levels = [list(row) for row in levels]
        size = len(tree._levels[0])
        for height, row in enumerate(tree._levels):
            if len(row) != size >> height:
                raise ValueError(f"level {height} holds {len(row)} nodes, not {size >> height}")
            if any(len(node) != HASH_SIZE for node in row):
                raise ValueError(f"level {height} holds a node that is not a SHA-256 hash")
        if size and len(tree._levels) != size.bit_length():
            raise ValueError(f"{len(tree._levels)} levels stored, a tree of {size} needs fewer")
        if check:
            for height in range(1, len(tree._levels)):
                below = tree._levels[height - 1]
                for index, node in enumerate(tree._levels[height]):
                    if node_hash(below[2 * index], below[2 * index + 1]) != node:
                        raise ValueError(f"stored node ({height}, {index}) does not match below")
        return tree

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Add one leaf (an event hash) and return its index."""
        return self.append_leaf_hash(_sha256(b"\x00" + leaf).digest())

    def append_leaf_hash(self, node: bytes) -> int:
        """Add one leaf by its stored leaf hash (SHA-256(0x00 || leaf)); return its index."""
        if len(node) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        levels = self._levels
        row = levels[0]
        row.append(node)
        index = len(row) - 1
        height = 0
        # A right child completes its parent: carry upwards while the new node is a right child.
        while index & 1:
            node = _sha256(b"\x01" + row[index - 1] + node).digest()
            height += 1
            if height == len(levels):
                levels.append([])
            row = levels[height]
            row.append(node)
            index >>= 1
        return len(levels[0]) - 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaves in order."""
        for leaf in leaves:
            self.append(leaf)

    def leaf_hash_at(self, index: int) -> bytes:
        """The stored leaf hash at `index` (SHA-256(0x00 || leaf))."""
        self._check_size(index + 1)
        return self._levels[0][index]

    def levels(self) -> list[list[bytes]]:
        """A copy of the stored complete-subtree hashes, level by level, for `from_levels`."""
        return [list(row) for row in self._levels]

    def nodes(self, height: int, start: int, end: int) -> list[bytes]:
        """The stored complete-subtree hashes at level `height`, indexes [start, end)."""
        row = self._levels[height] if height < len(self._levels) else []
        if not 0 <= start <= end <= len(row):
            raise ProofError(f"level {height} holds {len(row)} nodes, not [{start}, {end})")
        return row[start:end]

    def nodes_added_since(self, old_size: int) -> Iterator[tuple[int, int, bytes]]:
        """The (level, index, hash) nodes the tree gained after `old_size` leaves, for storing."""
        self._check_size(old_size)
        for height, row in enumerate(self._levels):
            for index in range(old_size >> height, len(row)):
                yield height, index, row[index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (all leaves when None)."""
        size = self.size if size is None else size
        self._check_size(size)
        return self._range(0, size) if size else EMPTY_ROOT

    def inclusion_proof(
        self,
        index: int,
        size: int | None = None,
        *,
        memo: dict[tuple[int, int], bytes] | None = None,
    ) -> list[bytes]:
        """RFC 9162 PATH(index, D[0:size]): sibling hashes from the leaf up to the root.

        Proofs of many leaves at one size share the hashes of the tree's right edge: pass the
        same `memo` dict to compute each of those once.
        """
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self._range(start + k, end, memo))
                end = start + k
            else:
                proof.append(self._range(start, start + k, memo))
                start += k
        proof.reverse()
        return proof

    def inclusion_proofs(
        self, indexes: Iterable[int], size: int | None = None
    ) -> list[list[bytes]]:
        """PATH(index, D[0:size]) of each index, as `inclusion_proof` gives it, in one pass.

        A bundle proves thousands of leaves at one size. Walking up level by level, a leaf's
        sibling at each height is a stored complete subtree, or the one partial subtree on the
        tree's right edge at that height (hashed once for all proofs), or absent.
        """
        size = self.size if size is None else size
        self._check_size(size)
        levels = self._levels
        heights = range((size - 1).bit_length()) if size else range(0)
        right_edge: dict[int, bytes] = {}
        proofs = []
        for index in indexes:
            if not 0 <= index < size:
                raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
            proof = []
            for height in heights:
                sibling = (index >> height) ^ 1
                if sibling < size >> height:
                    proof.append(levels[height][sibling])
                elif sibling << height < size:
                    node = right_edge.get(height)
                    if node is None:
                        node = right_edge[height] = self._range(sibling << height, size)
                    proof.append(node)
            proofs.append(proof)
        return proofs

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[0:new_size]); empty when old_size is 0 or new_size."""
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ProofError(f"a tree of {old_size} leaves cannot precede one of {new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, new_size, old_size, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._range(start + k, end))
                end = start + k
            else:
                proof.append(self._range(start, start + k))
                start += k
                m -= k
                whole = False
        if not whole:
            proof.append(self._range(start, end))
        proof.reverse()
        return proof

    def _range(
        self, start: int, end: int, memo: dict[tuple[int, int], bytes] | None = None
    ) -> bytes:
        width = end - start
        if width & (width - 1) == 0:
            height = width.bit_length() - 1
            return self._levels[height][start >> height]
        if memo is not None and (start, end) in memo:
            return memo[start, end]
        k = _split(width)
        node = node_hash(self._range(start, start + k, memo), self._range(start + k, end, memo))
        if memo is not None:
            memo[start, end] = node
        return node

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofError(f"the tree holds {self.size} leaves, not {size}")
