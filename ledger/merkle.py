"""RFC 9162 §2.1 Merkle tree hashing, proof generation and proof verification.

Written by hand because the available Python packages use non-standard proof formats or are
unmaintained.

Leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), and the empty tree
hashes to SHA-256(""). The storage-backed tree keeps only *complete* subtrees: node
(level, index) is the hash of leaves [index·2^level, (index+1)·2^level). Any other subtree the
RFC needs (a root, the right edge of a proof) is folded from the O(log n) complete subtrees that
tile it, so roots and proofs cost O(log n) store reads at any size.

Of the complete subtrees only those of levels 0, 8, 16, … are stored (``TILE_HEIGHT``), as
in the C2SP tlog-tiles layout with tiles of height 8: about n + n/255 hashes for n leaves
instead of 2n, which halves what the tree adds to an import. A node of any other level is
hashed from the at most 128 stored nodes under it, read in one range read.

Over 400 lines: hashing, both proofs and their verification follow RFC 9162 in one
place, so that each can be read against the RFC and against the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A Merkle inclusion or consistency proof did not verify."""


TILE_HEIGHT = 8
"""Complete subtrees are stored at the levels that are multiples of this, and no others."""


def is_stored_level(level: int) -> bool:
    """Whether complete subtrees of this level are stored (levels 0, 8, 16, …)."""
    return level % TILE_HEIGHT == 0


class NodeStore(Protocol):
    """Persistent home of complete-subtree hashes, addressed by (level, index).

    It holds the stored levels only (``is_stored_level``); ``node_at`` derives the others.
    """

    def get(self, level: int, index: int) -> bytes | None:
        """Return the stored hash of node (level, index), or None if absent."""
        ...

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        """The stored hashes of nodes ``first`` to ``first + count - 1`` of one level, in
        order, stopping short where one is missing."""
        ...

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples in one batch."""
        ...


class DictNodeStore:
    """In-memory NodeStore, for tests and small trees."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes | None:
        """Return the stored hash of node (level, index), or None if absent."""
        return self.nodes.get((level, index))

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        """The stored hashes of consecutive nodes of one level, up to the first missing."""
        hashes = []
        for index in range(first, first + count):
            value = self.nodes.get((level, index))
            if value is None:
                break
            hashes.append(value)
        return hashes

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples."""
        for level, index, value in items:
            self.nodes[(level, index)] = value


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 hash of a leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of a whole list of leaf hashes, iteratively."""
    _check_leaf_hashes(hashes)
    # Roots of the complete subtrees seen so far, largest first; after n leaves there is one
    # per set bit of n, so each new leaf merges once per trailing zero bit of the new count.
    stack: list[bytes] = []
    for count, value in enumerate(hashes, start=1):
        stack.append(value)
        merges = count
        while merges & 1 == 0:
            right = stack.pop()
            stack[-1] = node_hash(stack[-1], right)
            merges >>= 1
    return _fold_right(stack) if stack else EMPTY_ROOT


def complete_levels(leaf_hashes: Sequence[bytes], top: int | None = None) -> list[list[bytes]]:
    """Every complete subtree over a run of leaf hashes, level by level (up to level
    ``top`` when given).

    ``levels[l][i]`` hashes leaves ``[i·2^l, (i+1)·2^l)`` of the run. When the run starts at
    a multiple of a power of two at least its length, these are nodes of the whole tree:
    node ``(l, start >> l + i)``. Each level is one pass over the one below, so a page of
    leaves costs a list comprehension per level rather than a frontier push per leaf.
    """
    levels = [list(leaf_hashes)]
    below = levels[0]
    while len(below) > 1 and (top is None or len(levels) <= top):
        below = [
            _sha256(b"\x01" + a + b).digest() for a, b in zip(below[::2], below[1::2], strict=False)
        ]
        levels.append(below)
    return levels


class Frontier:
    """The right edge of a Merkle tree built leaf by leaf (or subtree by subtree): O(log n).

    Holds the roots of the complete subtrees that tile the leaves so far, largest first,
    like the bits of a binary counter.
    """

    def __init__(self, size: int = 0, stack: Sequence[tuple[int, bytes]] = ()) -> None:
        self.size = size
        self.stack: list[tuple[int, bytes]] = list(stack)

    def copy(self) -> Frontier:
        """An independent frontier in the same state."""
        return Frontier(self.size, self.stack)

    def push(self, digest: bytes, level: int = 0) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash, or the root of a complete subtree of ``2^level`` leaves.

        The subtree must start at a multiple of its width (the size so far must be one).
        Returns the complete subtrees (level, index, hash) it closed above ``level``.
        """
        if self.size % (1 << level):
            raise ValueError(f"a subtree of level {level} cannot start at leaf {self.size}")
        width = 1 << level
        closed: list[tuple[int, int, bytes]] = []
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            digest = node_hash(left, digest)
            level += 1
            closed.append((level, self.size >> level, digest))
        self.stack.append((level, digest))
        self.size += width
        return closed

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves pushed so far."""
        if not self.stack:
            return EMPTY_ROOT
        digest = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def append_leaves(store: NodeStore, size: int, leaf_hashes: Sequence[bytes]) -> int:
    """Append leaf hashes to a tree of `size` leaves held in `store`; return the new size.

    Writes the new leaves and every complete subtree of a stored level they complete in a
    single put_many batch, reading at most one existing node per level.
    """
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    _check_leaf_hashes(leaf_hashes)
    new_size = size + len(leaf_hashes)
    writes = list(zip(repeat(0), range(size, new_size), leaf_hashes, strict=False))
    level, level_hashes = 0, list(leaf_hashes)  # new nodes at `level`, from index size >> level
    sha256 = hashlib.sha256  # node_hash, inline: this loop runs once per node
    while size >> (level + 1) < new_size >> (level + 1):
        first = size >> level
        if first & 1:  # the left sibling of the first new node was completed by earlier appends
            first -= 1
            level_hashes.insert(0, node_at(store, level, first))
        pairs = zip(level_hashes[0::2], level_hashes[1::2], strict=False)  # an odd last one waits
        level_hashes = [sha256(b"\x01" + left + right).digest() for left, right in pairs]
        level += 1
        if is_stored_level(level):
            indexes = range(first >> 1, (first >> 1) + len(level_hashes))
            writes += zip(repeat(level), indexes, level_hashes, strict=False)
    if writes:
        store.put_many(writes)
    return new_size


def root_at(store: NodeStore, size: int) -> bytes:
    """Return the root hash of the first `size` leaves of the tree in `store`."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    return _subtree_hash(store, 0, size) if size else EMPTY_ROOT


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size`."""
    return _inclusion_path(index, size, lambda start, end: _subtree_hash(store, start, end))


def _inclusion_path(index: int, size: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    # Walk PATH(m, D[lo:hi]) from the root down, collecting siblings, then return them leaf-first.
    proof: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _largest_power_of_two_below(hi - lo)
        if index < mid:
            proof.append(subtree(mid, hi))
            hi = mid
        else:
            proof.append(subtree(lo, mid))
            lo = mid
    proof.reverse()
    return proof


def consistency_proof(store: NodeStore, size1: int, size2: int) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof from tree size `size1` to `size2`."""
    if not 0 < size1 <= size2:
        raise ValueError(f"need 0 < size1 <= size2, got size1={size1}, size2={size2}")
    # Walk SUBPROOF(m, D[lo:hi], b) from the root down, then return the hashes bottom-up.
    proof: list[bytes] = []
    lo, hi, whole_old_tree = 0, size2, True
    while hi != size1:
        mid = lo + _largest_power_of_two_below(hi - lo)
        if size1 <= mid:
            proof.append(_subtree_hash(store, mid, hi))
            hi = mid
        else:
            proof.append(_subtree_hash(store, lo, mid))
            lo, whole_old_tree = mid, False
    if not whole_old_tree:
        proof.append(_subtree_hash(store, lo, hi))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof with the RFC 9162 §2.1.3.2 algorithm; raise ProofError if bad."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_proof_hashes(leaf_hash=leaf_hash, root=root, proof=proof)
    _, r = _walk(index, size - 1, leaf_hash, proof, "inclusion")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check a consistency proof with the RFC 9162 §2.1.4.2 algorithm; raise ProofError if bad.

    Consistency from an empty tree is rejected as meaningless. For equal sizes the proof
    must be empty and the roots equal; as in transparency-dev/merkle, their length is not
    checked in that case.
    """
    if not 0 <= size1 <= size2:
        raise ProofError(f"need 0 <= size1 <= size2, got size1={size1}, size2={size2}")
    if size1 == 0:
        raise ProofError("consistency with an empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("roots differ for equal tree sizes")
        return
    _check_proof_hashes(root1=root1, root2=root2, proof=proof)
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr, sr = _walk(fn, sn, path[0], path[1:], "consistency", first=True)
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root hash")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root hash")


def _walk(
    fn: int, sn: int, seed: bytes, path: Sequence[bytes], kind: str, *, first: bool = False
) -> tuple[bytes, bytes]:
    """The walk both RFC 9162 verifications share (§2.1.3.2 and §2.1.4.2): from node
    ``fn`` of a tree whose last node is ``sn``, hash ``seed`` with each hash of ``path``
    up to the root. Returns (fr, sr): sr the root reached; fr, when ``first``, the root
    reached with the left siblings only (the first tree's, in a consistency proof).
    A path that does not reach the root exactly raises ProofError naming ``kind``."""
    fr = sr = seed
    for c in path:
        if sn == 0:
            raise ProofError(f"{kind} proof is too long")
        if fn & 1 or fn == sn:
            if first:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"{kind} proof is too short")
    return fr, sr


def _subtree_hash(
    store: NodeStore, start: int, end: int, node: Callable[[int, int], bytes] | None = None
) -> bytes:
    """Hash leaves [start, end), a node of an RFC 9162 tree, from its complete subtrees.

    For such a node, start is a multiple of the largest power of two <= end - start, so the
    set bits of the width, largest first, tile it with aligned complete subtrees.
    """
    width = end - start
    parts: list[bytes] = []
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            index = start >> level
            parts.append(node_at(store, level, index) if node is None else node(level, index))
            start += 1 << level
    return _fold_right(parts)


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine subtree hashes right to left, as the RFC's recursive split does."""
    result = hashes[-1]
    for value in reversed(hashes[:-1]):
        result = node_hash(value, result)
    return result


def node_at(store: NodeStore, level: int, index: int) -> bytes:
    """The hash of complete subtree (level, index): read if its level is stored, else
    hashed from the nodes under it at the stored level below (one range read).

    Raises LookupError if the store lacks what it needs.
    """
    base = level - level % TILE_HEIGHT
    if base == level:
        value = store.get(level, index)
        if value is None:
            raise LookupError(f"node store has no hash for level {level}, index {index}")
        return value
    width = 1 << (level - base)
    below = store.run(base, index * width, width)
    if len(below) != width:
        raise LookupError(
            f"node store lacks the level {base} hashes under level {level}, index {index}"
        )
    return complete_levels(below)[-1][0]


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_leaf_hashes(hashes: Sequence[bytes]) -> None:
    for length in set(map(len, hashes)):  # the lengths seen, in one pass at C speed
        if length != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes, got {length}")


def _check_proof_hashes(proof: Sequence[bytes], **named: bytes) -> None:
    for name, value in named.items():
        if len(value) != HASH_SIZE:
            raise ProofError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")
    for value in proof:
        if len(value) != HASH_SIZE:
            raise ProofError(f"proof hashes must be {HASH_SIZE} bytes, got {len(value)}")
