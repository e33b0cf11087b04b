"""RFC 9162 Merkle hashing and proofs: the Certificate Transparency reference vectors, and
properties over every tree size."""

from __future__ import annotations

import hashlib

from dueprocess.store import merkle
from hypothesis import given
from hypothesis import strategies as st

# The reference leaves and roots of the Certificate Transparency test suite (RFC 6962 and
# RFC 9162 hash the same way).
CT_ENTRIES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
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
CT_LEAVES = [merkle.leaf_hash(e) for e in CT_ENTRIES]


def _proof(ranges: list[merkle.Range], leaves: list[bytes]) -> list[bytes]:
    nodes = merkle.range_roots(leaves, ranges)
    return [nodes[r] for r in ranges]


def inclusion(index: int, leaves: list[bytes]) -> list[bytes]:
    return _proof(merkle.inclusion_ranges(index, len(leaves)), leaves)


def consistency(old: int, leaves: list[bytes]) -> list[bytes]:
    return _proof(merkle.consistency_ranges(old, len(leaves)), leaves)


def test_roots_match_the_reference_for_every_size() -> None:
    for size, expected in enumerate(CT_ROOTS):
        assert merkle.root(CT_LEAVES[:size]).hex() == expected


def test_inclusion_proofs_match_the_reference() -> None:
    assert [h.hex() for h in inclusion(0, CT_LEAVES)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]
    assert [h.hex() for h in inclusion(5, CT_LEAVES)] == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]


def test_consistency_proofs_match_the_reference() -> None:
    assert [h.hex() for h in consistency(2, CT_LEAVES)] == [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]
    assert [h.hex() for h in consistency(6, CT_LEAVES)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]
    root6, root8 = bytes.fromhex(CT_ROOTS[6]), bytes.fromhex(CT_ROOTS[8])
    assert merkle.verify_consistency(6, 8, root6, root8, consistency(6, CT_LEAVES))
    assert not merkle.verify_consistency(6, 8, root6, root8, [])
    assert merkle.verify_consistency(8, 8, root8, root8, [])
    assert not merkle.verify_consistency(8, 6, root8, root6, consistency(6, CT_LEAVES))


def test_an_empty_tree_and_a_single_leaf() -> None:
    assert merkle.Frontier().root() == hashlib.sha256(b"").digest()
    assert inclusion(0, CT_LEAVES[:1]) == []
    assert merkle.verify_inclusion(CT_LEAVES[0], 0, 1, [], CT_LEAVES[0])


def _leaves(n: int, salt: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(f"{salt}/{i}".encode()) for i in range(n)]


@given(st.integers(1, 130), st.data())
def test_every_inclusion_proof_verifies_and_a_changed_leaf_breaks_it(
    size: int, data: st.DataObject
) -> None:
    leaves = _leaves(size)
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root(leaves)
    proof = inclusion(index, leaves)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, proof, root)
    if size > 1:  # any other leaf changed: the root moves and the old proof fails
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        changed = list(leaves)
        changed[other] = merkle.leaf_hash(b"changed")
        assert not merkle.verify_inclusion(leaves[index], index, size,
                                           inclusion(index, changed), root)
        assert not merkle.verify_inclusion(leaves[index], index + 1 if index + 1 < size
                                           else index - 1, size, proof, root)


@given(st.integers(1, 130), st.data())
def test_every_consistency_proof_verifies_and_a_changed_leaf_breaks_it(
    new: int, data: st.DataObject
) -> None:
    old = data.draw(st.integers(1, new))
    leaves = _leaves(new)
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    proof = consistency(old, leaves)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    changed = list(leaves)
    at = data.draw(st.integers(0, old - 1))  # history rewritten inside the old tree
    changed[at] = merkle.leaf_hash(b"changed")
    assert not merkle.verify_consistency(old, new, old_root, merkle.root(changed),
                                         consistency(old, changed))


@given(st.integers(0, 200), st.integers(0, 200))
def test_a_frontier_extends_like_the_whole_tree(first: int, more: int) -> None:
    leaves = _leaves(first + more, salt=1)
    frontier = merkle.Frontier()
    for leaf in leaves[:first]:
        frontier.append(leaf)
    resumed = merkle.Frontier(frontier.size, list(frontier.nodes))  # as a checkpoint keeps it
    assert [merkle.root(leaves[lo:hi]) for lo, hi in resumed.ranges()] == resumed.nodes
    for leaf in leaves[first:]:
        resumed.append(leaf)
    assert resumed.root() == merkle.root(leaves)
    assert len(resumed.nodes) == resumed.size.bit_count()


@given(st.integers(1, 100), st.data())
def test_consistency_proof_nodes_in_the_old_tree_are_frontier_nodes(
    new: int, data: st.DataObject
) -> None:
    # The checkpoint writer builds a proof from the previous frontier and the new leaves.
    old = data.draw(st.integers(1, new))
    frontier = merkle.Frontier(old, [merkle.root(_leaves(old)[lo:hi])
                                     for lo, hi in merkle.Frontier(old, [b""] * old.bit_count())
                                     .ranges()])
    for lo, hi in merkle.consistency_ranges(old, new):
        assert (hi <= old and (lo, hi) in frontier.ranges()) or lo >= old
