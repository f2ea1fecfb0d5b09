"""Many leaves of an RFC 9162 tree shown included at once: a multiproof.

The inclusion proofs of leaves that lie close together in a log share most of their
hashes: an incident's 230,000 leaves in a tree of 1.1 million need 4.6 million proof
hashes one proof at a time, but only about 700,000 distinct subtrees. A multiproof
carries each of those once.

In the terms of RFC 9162 §2.1.1, the tree hash of leaves ``D[0:n]`` splits recursively:
``MTH(D[lo:hi]) = SHA-256(0x01 ‖ MTH(D[lo:lo+k]) ‖ MTH(D[lo+k:hi]))`` with ``k`` the
largest power of two smaller than ``hi - lo``. For a set of leaf indexes, the
multiproof is the hash of every subtree ``D[start:end]`` of that split that holds none
of the leaves while its sibling holds one: exactly the subtrees a verifier cannot
compute from the leaves themselves. With them, the root is recomputed once
(``root_from_parts``), where checking proofs one by one hashed each shared node again
for every leaf under it.

Written by hand: RFC 9162 defines proofs of one leaf only, and no maintained Python
package computes multiproofs over this tree's storage (``merkle`` explains its tiles).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from incident_ledger.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    TILE_HEIGHT,
    NodeStore,
    ProofError,
    _largest_power_of_two_below,
    _subtree_hash,
    complete_levels,
    node_at,
    node_hash,
)

Span = tuple[int, int]
"""A subtree of the split by the leaves it hashes, ``D[start:end]``."""


BLOCK = 1 << 16
"""Leaves of the largest complete subtree ``needed_subtrees`` works out in one piece."""


def needed_subtrees(size: int, indexes: Sequence[int]) -> Iterator[list[Span]]:
    """The subtrees of the tree of ``size`` leaves whose hashes, with the leaves at
    ``indexes`` (ascending, each once), make its root: every subtree of the RFC 9162 split
    that holds none of those leaves while its sibling holds one, in the order of their
    leaves, a piece at a time (at most ``BLOCK`` leaves' worth each, so that memory does
    not grow with the tree). The split is walked from the root down to complete subtrees
    of ``BLOCK`` leaves, and those a level at a time (``_under_complete``): a set per
    level rather than a call per node."""
    if indexes and not (indexes[0] >= 0 and indexes[-1] < size):
        wrong = indexes[0] if indexes[0] < 0 else indexes[-1]
        raise ValueError(f"leaf index {wrong} is not in a tree of size {size}")

    def walk(lo: int, hi: int, first: int, last: int) -> Iterator[list[Span]]:
        width = hi - lo
        if first == last:
            yield [(lo, hi)]
        elif width & (width - 1) == 0 and width <= BLOCK:
            yield _under_complete(width.bit_length() - 1, indexes[first:last])
        else:
            mid = lo + _largest_power_of_two_below(width)
            split = bisect_left(indexes, mid, first, last)
            yield from walk(lo, mid, first, split)
            yield from walk(mid, hi, split, last)

    if size:
        yield from walk(0, size, 0, len(indexes))


def _under_complete(height: int, leaves: Sequence[int]) -> list[Span]:
    """``needed_subtrees`` inside one complete subtree of ``2^height`` leaves that holds
    ``leaves`` (ascending, at least one): level by level, the siblings of the nodes
    above the leaves that are not themselves above one."""
    found: list[tuple[int, int]] = []  # (start, level)
    path = list(leaves)
    for level in range(height):
        on_path = set(path)
        found += [((node ^ 1) << level, level) for node in path if node ^ 1 not in on_path]
        path = list(dict.fromkeys(node >> 1 for node in path))  # still ascending
    found.sort()
    return [(start, start + (1 << level)) for start, level in found]


def subtree_hashes(store: NodeStore, size: int, spans: Sequence[Span]) -> list[bytes]:
    """The hash of each subtree of ``spans`` (as ``needed_subtrees`` gives them) in the
    tree of ``size`` leaves held in ``store``. A complete subtree of a level between two
    stored ones is hashed from its tile (``TILE_HEIGHT`` levels above a stored level),
    each tile once, read with its neighbours in one range read; a tile the store cannot
    give whole is left to ``node_at``, which names what is missing."""
    hashes = [b""] * len(spans)
    tiles: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for position, (start, end) in enumerate(spans):
        width = end - start
        if width & (width - 1):  # the tree's right edge: folded from complete subtrees
            hashes[position] = _subtree_hash(store, start, end)
            continue
        level = width.bit_length() - 1
        base = level - level % TILE_HEIGHT
        tile = start >> base >> TILE_HEIGHT
        tiles.setdefault((base, tile), []).append((position, level, start >> level))
    for base, run in _runs(sorted(tiles)):
        first = run[0] << TILE_HEIGHT
        count = min(len(run) << TILE_HEIGHT, (size >> base) - first)
        below = store.run(base, first, count)
        for tile in run:
            wanted = tiles[(base, tile)]
            offset = (tile << TILE_HEIGHT) - first
            nodes = below[offset : offset + (1 << TILE_HEIGHT)]
            top = max(level for _, level, _ in wanted) - base
            levels = complete_levels(nodes, top)
            for position, level, index in wanted:
                row = levels[level - base] if level - base < len(levels) else []
                at = (index << (level - base)) - (tile << TILE_HEIGHT) >> (level - base)
                hashes[position] = row[at] if at < len(row) else node_at(store, level, index)
    return hashes


RUN_TILES = 64
"""Tiles read in one range read: 16,384 hashes of one stored level."""


def _runs(keys: list[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """Sorted (base level, tile) keys as runs of consecutive tiles of one level, each of
    at most ``RUN_TILES``."""
    runs: list[tuple[int, list[int]]] = []
    for base, tile in keys:
        last = runs[-1] if runs else None
        if last and last[0] == base and last[1][-1] == tile - 1 and len(last[1]) < RUN_TILES:
            last[1].append(tile)
            continue
        runs.append((base, [tile]))
    return runs


def root_from_parts(
    size: int, indexes: Sequence[int], leaf_hashes: Sequence[bytes], parts: dict[Span, bytes]
) -> bytes:
    """The root of a tree of ``size`` leaves from the hashes of some of its leaves (at
    ``indexes``, ascending) and of the subtrees ``needed_subtrees`` names (``parts``, by
    span). Raises ProofError if an index is out of order or outside the tree, if a
    needed subtree is missing, or if a part is not one of the needed subtrees (a part
    covering a leaf would let that leaf go unchecked)."""
    previous = -1
    for index in indexes:
        if not previous < index < size:
            raise ProofError(f"leaf index {index} is out of order or not in a tree of {size}")
        previous = index
    if len(indexes) != len(leaf_hashes):
        raise ProofError(f"{len(indexes)} leaf indexes for {len(leaf_hashes)} leaves")
    if any(len(value) != HASH_SIZE for value in parts.values()):
        raise ProofError(f"subtree hashes must be {HASH_SIZE} bytes")
    unused = dict(parts)

    def root(lo: int, hi: int, first: int, last: int) -> bytes:
        if first == last:
            found = unused.pop((lo, hi), None)
            if found is None:
                raise ProofError(f"the hash of leaves {lo} to {hi - 1} is missing")
            return found
        if hi - lo == 1:
            return leaf_hashes[first]
        mid = lo + _largest_power_of_two_below(hi - lo)
        split = bisect_left(indexes, mid, first, last)
        return node_hash(root(lo, mid, first, split), root(mid, hi, split, last))

    digest = root(0, size, 0, len(indexes)) if size else EMPTY_ROOT
    if unused:
        start, end = min(unused)
        raise ProofError(f"the hash of leaves {start} to {end - 1} is not one the leaves need")
    return digest
