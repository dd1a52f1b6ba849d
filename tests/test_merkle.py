"""The Merkle log against RFC 9162's definitions, written out naively here, and RFC 6962 vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.verifier.merkle_proofs import (
    EMPTY_ROOT,
    InclusionChecker,
    ProofError,
    leaf_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evidence.merkle_tree import MerkleTree

pytestmark = pytest.mark.unit

# The certificate-transparency reference leaves and hashes (google/trillian merkle/testonly,
# transparency-dev/merkle proof/verify_test.go).
VECTOR_LEAVES = [
    bytes.fromhex(text)
    for text in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof)
VECTOR_INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
VECTOR_CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


# --- RFC 9162 section 2.1, transcribed as literally as Python allows -------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = _k(n)
    return _h(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], *, b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b=b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], b=False), naive_mth(d[:k])]


def naive_proof(m: int, d: list[bytes]) -> list[bytes]:
    return naive_subproof(m, d, b=True)


# ----------------------------------------------------------------------------------------------

LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(64)]


@pytest.fixture(scope="module")
def tree64() -> MerkleTree:
    """A tree over 64 distinct event hashes."""
    return MerkleTree.from_leaves(LEAVES)


def _unhex(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(node) for node in proof]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    """The root of the empty tree is SHA-256 of the empty string."""
    assert MerkleTree().root() == EMPTY_ROOT == bytes.fromhex(VECTOR_ROOTS[0])


def test_roots_match_the_rfc_6962_reference_vectors() -> None:
    """Every prefix root of the 8 reference leaves is the published one."""
    tree = MerkleTree.from_leaves(VECTOR_LEAVES)
    assert [tree.root(size).hex() for size in range(9)] == VECTOR_ROOTS


@pytest.mark.parametrize(("index", "size", "proof"), VECTOR_INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(
    index: int, size: int, proof: list[str]
) -> None:
    """Inclusion proofs equal the published ones and verify against the published root."""
    tree = MerkleTree.from_leaves(VECTOR_LEAVES)
    assert tree.inclusion_proof(index, size) == _unhex(proof)
    root = bytes.fromhex(VECTOR_ROOTS[size])
    assert verify_inclusion(VECTOR_LEAVES[index], index, size, _unhex(proof), root)


@pytest.mark.parametrize(("old", "new", "proof"), VECTOR_CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(
    old: int, new: int, proof: list[str]
) -> None:
    """Consistency proofs equal the published ones and verify between the published roots."""
    tree = MerkleTree.from_leaves(VECTOR_LEAVES)
    assert tree.consistency_proof(old, new) == _unhex(proof)
    old_root, new_root = bytes.fromhex(VECTOR_ROOTS[old]), bytes.fromhex(VECTOR_ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, _unhex(proof))


def test_roots_equal_the_rfc_definition_for_every_size(tree64: MerkleTree) -> None:
    """root(n) is MTH(D[0:n]) for every n from 0 to 64."""
    for size in range(65):
        assert tree64.root(size) == naive_mth(LEAVES[:size]), size


def test_inclusion_proofs_equal_the_rfc_definition_and_verify(tree64: MerkleTree) -> None:
    """Every (index, size) proof is PATH(m, D[n]) and leads to the root of that size."""
    for size in range(1, 65):
        root = naive_mth(LEAVES[:size])
        for index in range(size):
            proof = tree64.inclusion_proof(index, size)
            assert proof == naive_path(index, LEAVES[:size]), (index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root), (index, size)


def test_proofs_written_in_one_pass_equal_the_rfc_definition(tree64: MerkleTree) -> None:
    """inclusion_proofs, which a bundle uses for all its events at once, is PATH for each."""
    for size in range(1, 65):
        indexes = list(range(size))
        proofs = tree64.inclusion_proofs(indexes, size)
        assert proofs == [naive_path(index, LEAVES[:size]) for index in indexes], size


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 3000), data=st.data())
def test_proofs_written_in_one_pass_agree_on_larger_trees(size: int, data: st.DataObject) -> None:
    """For random sizes and random leaves, one-pass proofs equal proofs computed one by one."""
    tree = MerkleTree.from_leaves(i.to_bytes(4, "big") for i in range(size + 100))
    indexes = data.draw(st.lists(st.integers(0, size - 1), max_size=50))
    assert tree.inclusion_proofs(indexes, size) == [
        tree.inclusion_proof(index, size) for index in indexes
    ]


def test_proofs_written_in_one_pass_refuse_a_leaf_outside_the_tree(tree64: MerkleTree) -> None:
    """A leaf index at or beyond the size has no proof."""
    with pytest.raises(ProofError):
        tree64.inclusion_proofs([3, 40], 40)


def test_consistency_proofs_equal_the_rfc_definition_and_verify(tree64: MerkleTree) -> None:
    """Every (old, new) proof is PROOF(m, D[n]) and verifies between the two roots."""
    for new in range(1, 65):
        new_root = naive_mth(LEAVES[:new])
        for old in range(1, new + 1):
            proof = tree64.consistency_proof(old, new)
            expected = naive_proof(old, LEAVES[:new]) if old < new else []
            assert proof == expected, (old, new)
            old_root = naive_mth(LEAVES[:old])
            assert verify_consistency(old, new, old_root, new_root, proof), (old, new)


def test_a_flipped_bit_anywhere_in_an_inclusion_proof_is_rejected(tree64: MerkleTree) -> None:
    """Flipping any bit of any proof node, or dropping or adding a node, fails verification."""
    for size in (1, 2, 3, 7, 8, 13, 64):
        root = tree64.root(size)
        for index in range(size):
            proof = tree64.inclusion_proof(index, size)
            for position in range(len(proof)):
                for bit in (0, 7):
                    bad = list(proof)
                    bad[position] = bytes([bad[position][0] ^ (1 << bit)]) + bad[position][1:]
                    assert not verify_inclusion(LEAVES[index], index, size, bad, root)
            assert not verify_inclusion(LEAVES[index], index, size, [*proof, root], root)
            if proof:
                assert not verify_inclusion(LEAVES[index], index, size, proof[:-1], root)


def test_an_inclusion_proof_does_not_prove_another_leaf_index_or_size(tree64: MerkleTree) -> None:
    """A valid proof is refused for another index, another tree height or another leaf.

    Sizes with the same path shape share proofs (RFC 9162 binds the size through the signed tree
    head, not the hash), so the sizes probed here change the tree's height, as the reference
    tests do.
    """
    size, index = 13, 6
    proof = tree64.inclusion_proof(index, size)
    root = tree64.root(size)
    assert not verify_inclusion(LEAVES[index], index + 1, size, proof, root)
    assert not verify_inclusion(LEAVES[index], index - 1, size, proof, root)
    assert not verify_inclusion(LEAVES[index], index, size * 2, proof, root)
    assert not verify_inclusion(LEAVES[index], index, size // 2, proof, root)
    assert not verify_inclusion(LEAVES[index + 1], index, size, proof, root)
    assert not verify_inclusion(LEAVES[index], index, size, proof, tree64.root(size + 1))
    assert not verify_inclusion(LEAVES[index], size, size, proof, root)


def test_the_leaf_is_hashed_unless_marked_as_a_leaf_hash(tree64: MerkleTree) -> None:
    """verify_inclusion takes the event hash, or its leaf hash when told so, never mixing them."""
    proof = tree64.inclusion_proof(3, 10)
    root = tree64.root(10)
    assert verify_inclusion(leaf_hash(LEAVES[3]), 3, 10, proof, root, hashed=True)
    assert not verify_inclusion(leaf_hash(LEAVES[3]), 3, 10, proof, root)
    assert not verify_inclusion(LEAVES[3], 3, 10, proof, root, hashed=True)


def test_a_tampered_consistency_proof_is_rejected(tree64: MerkleTree) -> None:
    """Flipped bits, dropped or extra nodes, swapped roots and wrong sizes all fail."""
    for old, new in ((1, 8), (6, 8), (2, 5), (6, 7), (13, 64), (32, 33), (31, 64)):
        proof = tree64.consistency_proof(old, new)
        old_root, new_root = tree64.root(old), tree64.root(new)
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = bytes([bad[position][0] ^ 16]) + bad[position][1:]
            assert not verify_consistency(old, new, old_root, new_root, bad)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
        assert not verify_consistency(old, new, old_root, new_root, [*proof, new_root])
        assert not verify_consistency(old, new, old_root, new_root, [proof[0], *proof])
        assert not verify_consistency(old, new, new_root, old_root, proof)
        assert not verify_consistency(old - 1, new, old_root, new_root, proof)
        assert not verify_consistency(old + 1, new, old_root, new_root, proof)
        assert not verify_consistency(old, new * 2, old_root, new_root, proof)
        assert not verify_consistency(old, new // 2, old_root, new_root, proof)
        assert not verify_consistency(old, new, old_root, new_root, [])


def test_consistency_edge_sizes_follow_the_rfc() -> None:
    """Equal sizes need equal roots and no proof; the empty tree precedes all; no time travel."""
    tree = MerkleTree.from_leaves(LEAVES[:5])
    assert verify_consistency(5, 5, tree.root(), tree.root(), [])
    assert not verify_consistency(5, 5, tree.root(), tree.root(4), [])
    assert not verify_consistency(5, 5, tree.root(), tree.root(), [tree.root()])
    assert verify_consistency(0, 5, EMPTY_ROOT, tree.root(), [])
    assert not verify_consistency(0, 5, tree.root(1), tree.root(), [])
    assert not verify_consistency(5, 4, tree.root(), tree.root(4), [])


def test_proofs_outside_the_tree_are_refused(tree64: MerkleTree) -> None:
    """Asking for a size beyond the tree, or a leaf beyond the size, raises ProofError."""
    with pytest.raises(ProofError):
        tree64.root(65)
    with pytest.raises(ProofError):
        tree64.inclusion_proof(5, 5)
    with pytest.raises(ProofError):
        tree64.consistency_proof(9, 8)
    with pytest.raises(ProofError):
        root_from_inclusion_proof(b"short", 0, 1, [])


def test_a_tree_loaded_from_stored_levels_gives_the_same_proofs(tree64: MerkleTree) -> None:
    """from_levels(levels()) restores a tree with identical roots and proofs."""
    loaded = MerkleTree.from_levels(tree64.levels())
    assert loaded.root() == tree64.root()
    assert loaded.inclusion_proof(17, 40) == tree64.inclusion_proof(17, 40)
    loaded.append(b"next")
    assert loaded.root() == naive_mth([*LEAVES, b"next"])


def test_a_tree_rebuilt_from_stored_leaf_hashes_is_the_same_tree(tree64: MerkleTree) -> None:
    """from_leaf_hashes over the stored leaf hashes restores every level."""
    rebuilt = MerkleTree.from_leaf_hashes(tree64.leaf_hash_at(i) for i in range(len(tree64)))
    assert rebuilt.levels() == tree64.levels()


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 1500), data=st.data())
def test_larger_trees_agree_with_the_rfc_definition(size: int, data: st.DataObject) -> None:
    """For random sizes up to 1,500, a random proof of each kind is the RFC's and verifies."""
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    tree = MerkleTree.from_leaves(leaves)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    assert tree.root() == naive_mth(leaves)
    assert tree.inclusion_proof(index) == naive_path(index, leaves)
    assert verify_inclusion(leaves[index], index, size, tree.inclusion_proof(index), tree.root())
    proof = tree.consistency_proof(old)
    assert proof == (naive_proof(old, leaves) if old < size else [])
    assert verify_consistency(old, size, tree.root(old), tree.root(), proof)


def test_loading_damaged_levels_is_refused(tree64: MerkleTree) -> None:
    """A stored node that does not hash from its children, or a missing node, is refused."""
    levels = tree64.levels()
    levels[2][3] = bytes(32)
    with pytest.raises(ValueError, match="does not match"):
        MerkleTree.from_levels(levels)
    levels = tree64.levels()
    levels[1].pop()
    with pytest.raises(ValueError, match="holds"):
        MerkleTree.from_levels(levels)


def test_nodes_added_since_are_exactly_the_new_stored_nodes() -> None:
    """nodes_added_since(old) lists what an incremental store must write after an append."""
    tree = MerkleTree.from_leaves(LEAVES[:5])
    before = {(h, i) for h, row in enumerate(tree.levels()) for i in range(len(row))}
    tree.extend(LEAVES[5:12])
    after = {(h, i) for h, row in enumerate(tree.levels()) for i in range(len(row))}
    assert {(h, i) for h, i, _ in tree.nodes_added_since(5)} == after - before


def test_a_large_tree_built_leaf_by_leaf_has_the_rfc_root() -> None:
    """100,000 leaves appended one by one give the RFC 9162 root (speed: ops/bench_audit.py)."""
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(100_000)]
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    assert len(tree) == 100_000
    assert tree.root(100_000) == naive_mth(leaves)
    assert tree.root(65_537) == naive_mth(leaves[:65_537])


def test_the_caching_checker_agrees_with_the_plain_verifier(tree64: MerkleTree) -> None:
    """InclusionChecker accepts exactly what verify_inclusion accepts, also after caching."""
    size = 61
    checker = InclusionChecker(size, tree64.root(size))
    proofs = [tree64.inclusion_proof(index, size) for index in range(size)]
    for index in range(size):
        assert checker.check(LEAVES[index], index, proofs[index])
    for index in range(size):
        proof = proofs[index]
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = bytes([bad[position][0] ^ 1]) + bad[position][1:]
            assert not checker.check(LEAVES[index], index, bad), (index, position)
        assert not checker.check(LEAVES[index], index, [*proof, proof[-1]])
        assert not checker.check(LEAVES[index], index, proof[:-1])
        assert not checker.check(LEAVES[(index + 1) % size], index, proof)
        assert checker.check(LEAVES[index], index, proof)


def test_the_caching_checker_reads_proofs_as_hex_text(tree64: MerkleTree) -> None:
    """check_hex accepts what check accepts, and refuses nodes that are not 64 hex digits."""
    size = 61
    checker = InclusionChecker(size, tree64.root(size))
    texts = [[node.hex() for node in tree64.inclusion_proof(index, size)] for index in range(size)]
    for index in range(size):
        assert checker.check_hex(LEAVES[index], index, texts[index])
    for index in range(size):
        for position in range(len(texts[index])):
            for bad_node in ("zz" * 32, texts[index][position][:-2], " " + "0" * 63, 7, None):
                bad: list[object] = list(texts[index])
                bad[position] = bad_node
                assert not checker.check_hex(LEAVES[index], index, bad), (index, position)
        assert not checker.check_hex(LEAVES[index], index, [*texts[index], texts[index][-1]])
        assert not checker.check_hex(LEAVES[(index + 1) % size], index, texts[index])
        assert checker.check_hex(LEAVES[index], index, texts[index])


def test_proofs_sharing_a_memo_equal_proofs_computed_alone() -> None:
    """The right-edge memo that a bundle's many proofs share changes no proof."""
    tree = MerkleTree.from_leaves(
        hashlib.sha256(bytes([n % 256, n // 256])).digest() for n in range(1000)
    )
    memo: dict[tuple[int, int], bytes] = {}
    for size in (1000, 999, 777):
        for index in range(0, size, 7):
            assert tree.inclusion_proof(index, size, memo=memo) == tree.inclusion_proof(index, size)
        memo.clear()
