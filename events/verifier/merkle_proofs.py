"""Checking RFC 9162 Merkle proofs: the hashing rules, inclusion and consistency proofs.

This is what a verifier needs of the Merkle log without holding the tree (evidence/merkle_tree.py
builds the tree and writes the proofs). Standard library only: the offline verifier imports it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof that cannot be checked at all: wrong length, wrong sizes or a malformed hash."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || leaf)."""
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 section 2.1.3.2, steps 1 to 4)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    _check_hashes(leaf_hash, *proof)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            # A rightmost node without a right sibling moves up unchanged until it is a right child.
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    *,
    hashed: bool = False,
) -> bool:
    """Whether `leaf` (an event hash; its leaf hash if `hashed`) sits at `index` under `root`."""
    try:
        computed = root_from_inclusion_proof(
            leaf if hashed else leaf_hash(leaf), index, size, proof
        )
    except ProofError:
        return False
    return computed == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether the tree `new_root` extends `old_root` (RFC 9162 section 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        # Every tree extends the empty one; the proof of that is empty.
        return not proof and old_root == EMPTY_ROOT
    if not proof or any(len(node) != HASH_SIZE for node in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class InclusionChecker:
    """Checks many inclusion proofs against one signed tree head, hashing shared nodes once.

    Proofs of leaves under one subtree repeat the same computation from that subtree upwards.
    After a proof verifies, each step of it is remembered as (position in the RFC 9162 walk,
    value, the rest of the proof). A later proof that reaches the same position with the same
    value and the same rest of the proof would repeat a computation already shown to end at the
    root, so it is accepted there; every node of every proof is still compared.
    """

    __slots__ = ("_levels", "_proven", "_root", "_size")

    def __init__(self, size: int, root: bytes) -> None:
        self._size = size
        self._root = root
        # A walk shifts right at most size.bit_length() times.
        self._levels = size.bit_length() + 1
        # The walk's position, fn * levels + right shifts so far (one int, cheaper to hash than
        # a pair) -> (value there, the proof's nodes from there on).
        self._proven: dict[int, tuple[bytes, list[Any]]] = {}

    def check(self, leaf: bytes, index: int, proof: Sequence[bytes]) -> bool:
        """Whether `leaf` (an event hash) sits at `index` in the tree of this head."""
        return self._check(leaf, index, list(proof), _as_hash)

    def check_hex(self, leaf: bytes, index: int, proof: list[Any]) -> bool:
        """`check` for a proof as a bundle writes it, hex text; False if a node is not hex.

        Only the nodes the walk hashes are decoded: the rest equal, as text, nodes already
        decoded and proven.
        """
        return self._check(leaf, index, proof, hash_from_hex)

    def _check(
        self, leaf: bytes, index: int, nodes: list[Any], decode: Callable[[Any], bytes | None]
    ) -> bool:
        size = self._size
        if not 0 <= index < size:
            return False
        proven, levels = self._proven, self._levels
        steps: list[tuple[int, bytes, int]] = []
        fn, sn, shift = index, size - 1, 0
        r = _sha256(b"\x00" + leaf).digest()
        for position, node in enumerate(nodes):
            # A leaf's own position is met again only by a proof of the same leaf: not looked up.
            if position:
                key = fn * levels + shift
                known = proven.get(key)
                if known is not None and known[0] == r and known[1] == nodes[position:]:
                    break
                steps.append((key, r, position))
            p = decode(node)
            if sn == 0 or p is None:
                return False
            # The RFC 9162 section 2.1.3.2 walk, as in root_from_inclusion_proof.
            if fn & 1 or fn == sn:
                r = _sha256(b"\x01" + p + r).digest()
                while not fn & 1 and fn:
                    fn >>= 1
                    sn >>= 1
                    shift += 1
            else:
                r = _sha256(b"\x01" + r + p).digest()
            fn >>= 1
            sn >>= 1
            shift += 1
        else:
            if sn != 0 or r != self._root:
                return False
        for key, value, position in steps:
            if key not in proven:
                proven[key] = (value, nodes[position:])
        return True


def hash_from_hex(text: Any) -> bytes | None:
    """The SHA-256 hash that `text` writes as 64 lower-case hex digits; None if it is anything
    else (upper case too: a hash has one written form)."""
    if type(text) is not str or len(text) != 2 * HASH_SIZE:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    # fromhex skips whitespace and reads upper case; hex() writes the one canonical form.
    return raw if raw.hex() == text else None


def _as_hash(node: bytes) -> bytes | None:
    return node if len(node) == HASH_SIZE else None


def _check_hashes(*hashes: bytes) -> None:
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash in the proof is {len(value)} bytes, not {HASH_SIZE}")
