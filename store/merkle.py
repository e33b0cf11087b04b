"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their checks.

Hand-written because no maintained library fits the store: pymerkle (the maintained Python
implementation) keeps every leaf in its own store, in memory or SQLite, so checking a log
of n events would need O(n) memory and a second copy of the log. Here leaves stream past
once: ``Frontier`` is the compact range of RFC 9162 §2.1.1's tree (one perfect subtree
root per set bit of the size), so the root of any prefix costs O(log n) memory and one
SHA-256 per leaf and per merge. Proofs are the MTHs of ranges known from the sizes alone
(PATH and SUBPROOF of §2.1.3.1/§2.1.4.1), computed in the same single pass.
Tested against the Certificate Transparency reference vectors and by properties.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

Range = tuple[int, int]
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees that make up a tree of ``size`` leaves, largest
    first: enough to extend the tree and to compute its root."""

    __slots__ = ("nodes", "size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} nodes, "
                             f"not {len(nodes)}")
        self.size = size
        self.nodes = list(nodes)

    def append(self, leaf: bytes) -> None:
        nodes = self.nodes
        nodes.append(leaf)
        size = self.size
        while size & 1:  # merge equal-sized subtrees, as a binary counter carries
            right = nodes.pop()
            nodes[-1] = node_hash(nodes[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root

    def ranges(self) -> list[Range]:
        """The leaf range each node covers."""
        out, lo = [], 0
        for bit in reversed(range(self.size.bit_length())):
            if self.size >> bit & 1:
                out.append((lo, lo + (1 << bit)))
                lo += 1 << bit
        return out


def root(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(index, D[0:size]) as leaf ranges, in proof order (nearest sibling first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    return out[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """PROOF(old, D[0:new]) = SUBPROOF(old, D[0:new], true) as leaf ranges, in order."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    out: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    return out[::-1]


def range_roots(leaves: Iterable[bytes], ranges: Sequence[Range]) -> dict[Range, bytes]:
    """The MTH of each of the disjoint ``ranges`` of the leaf sequence, in one pass."""
    todo = sorted(ranges)
    out: dict[Range, bytes] = {}
    if not todo:
        return out
    current, frontier = 0, Frontier()
    for i, leaf in enumerate(leaves):
        lo, hi = todo[current]
        if i < lo:
            continue
        frontier.append(leaf)
        if i + 1 == hi:
            out[(lo, hi)] = frontier.root()
            current, frontier = current + 1, Frontier()
            if current == len(todo):
                break
    if len(out) != len(todo):
        raise ValueError("fewer leaves than the proof needs")
    return out


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 (sizes equal: an empty proof and equal roots)."""
    if old == new:
        return not proof and old_root == new_root
    if not 0 < old < new or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is a node of the proof
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
