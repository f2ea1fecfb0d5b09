"""Multiproofs: the subtrees many leaves need, each once, against RFC 9162 proofs one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger import multiproofs
from incident_ledger.ledger.merkle import (
    DictNodeStore,
    ProofError,
    _subtree_hash,
    append_leaves,
    inclusion_proof,
    leaf_hash,
    root_at,
)
from incident_ledger.ledger.multiproofs import needed_subtrees, root_from_parts, subtree_hashes


def tree(size: int) -> tuple[DictNodeStore, list[bytes]]:
    store, hashes = DictNodeStore(), [leaf_hash(b"leaf %d" % i) for i in range(size)]
    append_leaves(store, 0, hashes)
    return store, hashes


@st.composite
def trees_and_leaves(draw: st.DrawFn) -> tuple[int, list[int]]:
    size = draw(st.integers(1, 700))
    return size, sorted(draw(st.sets(st.integers(0, size - 1), max_size=size)))


def multiproof(store: DictNodeStore, size: int, indexes: list[int]) -> dict[tuple[int, int], bytes]:
    parts: dict[tuple[int, int], bytes] = {}
    for piece in needed_subtrees(size, indexes):
        parts.update(zip(piece, subtree_hashes(store, size, piece), strict=True))
    return parts


def naive(lo: int, hi: int, indexes: list[int]) -> list[tuple[int, int]]:
    """The subtrees of the RFC 9162 split of ``D[lo:hi]`` holding none of the leaves
    while their sibling holds one, by the recursive definition."""
    if not any(lo <= i < hi for i in indexes):
        return [(lo, hi)]
    if hi - lo == 1:
        return []
    mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
    return naive(lo, mid, indexes) + naive(mid, hi, indexes)


@settings(max_examples=150, deadline=None)
@given(trees_and_leaves(), st.sampled_from([2, 16, 1 << 16]))
def test_the_leaves_and_their_subtrees_make_the_root(
    case: tuple[int, list[int]], block: int
) -> None:
    size, indexes = case
    store, hashes = tree(size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multiproofs, "BLOCK", block)
        spans = [span for piece in needed_subtrees(size, indexes) for span in piece]
    assert spans == naive(0, size, indexes)  # in the order of their leaves, each once
    parts = multiproof(store, size, indexes)
    assert len(parts) == len(spans)
    assert all(digest == _subtree_hash(store, *span) for span, digest in parts.items())
    leaves = [hashes[i] for i in indexes]
    assert root_from_parts(size, indexes, leaves, parts) == root_at(store, size)
    # Every hash of the leaves' own RFC 9162 proofs is one of the parts or is computed
    # from the leaves: the multiproof carries each needed subtree once, and no other.
    siblings = {h for i in indexes for h in inclusion_proof(store, i, size)}
    whole = {(0, size): root_at(store, size)}  # no leaf: the root is the one part
    assert set(parts.values()) <= siblings if indexes else parts == whole


@settings(max_examples=100, deadline=None)
@given(trees_and_leaves(), st.data())
def test_a_part_missing_or_added_or_a_leaf_changed_fails(
    case: tuple[int, list[int]], data: st.DataObject
) -> None:
    size, indexes = case
    store, hashes = tree(size)
    parts = multiproof(store, size, indexes)
    leaves = [hashes[i] for i in indexes]
    if parts:
        span = data.draw(st.sampled_from(sorted(parts)))
        with pytest.raises(ProofError, match="is missing"):
            root_from_parts(size, indexes, leaves, {k: v for k, v in parts.items() if k != span})
    if indexes:
        # A part covering a leaf would let a verifier skip it: refused.
        leaf = data.draw(st.sampled_from(indexes))
        extra = parts | {(leaf, leaf + 1): hashes[leaf]}
        with pytest.raises(ProofError, match="not one the leaves need"):
            root_from_parts(size, indexes, leaves, extra)
        changed = list(leaves)
        changed[indexes.index(leaf)] = leaf_hash(b"edited")
        assert root_from_parts(size, indexes, changed, parts) != root_at(store, size)
    if len(indexes) > 1:
        with pytest.raises(ProofError, match="out of order"):
            root_from_parts(size, indexes[::-1], leaves[::-1], parts)


def test_a_hot_incident_needs_far_fewer_hashes_than_its_proofs() -> None:
    # One leaf in five, as a hot incident's share of a log: the proofs one by one hold
    # every shared subtree again for each leaf under it.
    size = 5000
    store, _ = tree(size)
    indexes = list(range(0, size, 5))
    parts = multiproof(store, size, indexes)
    per_leaf = sum(len(inclusion_proof(store, i, size)) for i in indexes)
    assert len(parts) == len(naive(0, size, indexes))
    assert per_leaf > 5 * len(parts)


def test_an_index_outside_the_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="leaf index 9 is not in a tree of size 9"):
        list(needed_subtrees(9, [1, 9]))
    assert list(needed_subtrees(0, [])) == []
    assert root_from_parts(0, [], [], {}) == root_at(DictNodeStore(), 0)


def test_a_node_missing_from_the_store_is_named() -> None:
    size = 4000
    store, _ = tree(size)
    del store.nodes[(0, 10)]  # a leaf beside leaf 11
    with pytest.raises(LookupError, match="level 0"):
        multiproof(store, size, [11])
    assert multiproof(store, size, [3000])  # a piece that does not need it
    store, _ = tree(size)
    del store.nodes[(8, 3)]  # under node (9, 1), a sibling on leaf 0's path
    with pytest.raises(LookupError, match="level 8"):
        multiproof(store, size, [0])
