"""Tests for ledger.merkle: RFC 9162 known answers, reference-model comparisons and properties.

Over 400 lines: RFC 9162's known answers and properties, one per proof kind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.merkle import (
    EMPTY_ROOT,
    DictNodeStore,
    Frontier,
    ProofError,
    append_leaves,
    complete_levels,
    consistency_proof,
    inclusion_proof,
    is_stored_level,
    leaf_hash,
    node_at,
    node_hash,
    root_at,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parent / "data" / "tlog-merkle"
"""transparency-dev/merkle's test data, kept in the repository with its licence (see its README)."""
MAX_SIZE = 1_100

# ---------------------------------------------------------------------------------------------
# Known-answer vectors (transparency-dev/merkle testdata, tests/data/tlog-merkle)
# ---------------------------------------------------------------------------------------------


def _vector_params(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(path, id=path.relative_to(VECTORS / kind).as_posix()) for path in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _constants() -> dict[str, Any]:
    return _load(VECTORS / "constants.json")


@cache
def _constant_store() -> DictNodeStore:
    """A store holding the 8 known-answer leaves, appended one at a time."""
    store, size = DictNodeStore(), 0
    for data in _constants()["leaf_inputs_hex"]:
        size = append_leaves(store, size, [leaf_hash(bytes.fromhex(data))])
    return store


def test_vector_count() -> None:
    count = sum(
        1 for kind in ("inclusion", "consistency") for _ in (VECTORS / kind).rglob("*.json")
    )
    assert count == 196


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
        return
    verify_inclusion(*args)
    if path.name == "happy-path.json":  # built from the constants' leaves: regenerate the proof
        assert inclusion_proof(_constant_store(), case["leafIdx"], case["treeSize"]) == proof


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
        return
    verify_consistency(*args)
    if path.name == "happy-path.json":
        assert consistency_proof(_constant_store(), case["size1"], case["size2"]) == proof


def test_constants() -> None:
    constants = _constants()
    leaves = [leaf_hash(bytes.fromhex(data)) for data in constants["leaf_inputs_hex"]]
    store = _constant_store()
    for level, hashes in enumerate(constants["node_hashes_hex"]):
        for index, expected in enumerate(hashes):
            assert node_at(store, level, index) == bytes.fromhex(expected), (level, index)
            stored = store.get(level, index)
            assert stored == (bytes.fromhex(expected) if is_stored_level(level) else None)
    for size, expected in enumerate(constants["root_hashes_hex"]):
        assert root_from_leaf_hashes(leaves[:size]).hex() == expected, size
        assert root_at(store, size).hex() == expected, size
    assert constants["root_hashes_hex"][0] == EMPTY_ROOT.hex()


# ---------------------------------------------------------------------------------------------
# Reference model: the RFC 9162 §2.1 recursive definitions, written as literally as possible
# ---------------------------------------------------------------------------------------------

LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]


def _split(n: int) -> int:
    """k, the largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def _mth(lo: int, hi: int) -> bytes:
    if hi == lo:
        return hashlib.sha256(b"").digest()
    if hi - lo == 1:
        return LEAVES[lo]
    k = _split(hi - lo)
    return node_hash(_mth(lo, lo + k), _mth(lo + k, hi))


def _path(m: int, lo: int, hi: int) -> list[bytes]:
    if hi - lo == 1:
        return []
    k = _split(hi - lo)
    if m < k:
        return [*_path(m, lo, lo + k), _mth(lo + k, hi)]
    return [*_path(m - k, lo + k, hi), _mth(lo, lo + k)]


def _subproof(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    if m == hi - lo:
        return [] if whole else [_mth(lo, hi)]
    k = _split(hi - lo)
    if m <= k:
        return [*_subproof(m, lo, lo + k, whole), _mth(lo + k, hi)]
    return [*_subproof(m - k, lo + k, hi, False), _mth(lo, lo + k)]


@cache
def _store() -> DictNodeStore:
    """A store of MAX_SIZE leaves appended in uneven batches."""
    store, size, batch = DictNodeStore(), 0, 1
    while size < MAX_SIZE:
        size = append_leaves(store, size, LEAVES[size : size + batch])
        batch = batch % 7 + 2
    return store


@pytest.mark.slow
def test_roots_match_reference_at_every_size() -> None:
    store = _store()
    for size in range(MAX_SIZE + 1):
        expected = _mth(0, size)
        assert root_from_leaf_hashes(LEAVES[:size]) == expected, size
        assert root_at(store, size) == expected, size


def _around_tiles(n: int) -> list[int]:
    """Every size to 40, then sizes at and next to the edges of stored levels (256 = 2^8)."""
    edges = [1, 2, 3, n // 3, n // 2, n // 2 + 1, 255, 256, 257, 511, 512, 513, 1023, 1024]
    return list(range(1, min(n, 40) + 1)) + [e for e in edges if 40 < e <= n]


def test_proofs_match_reference_definitions() -> None:
    store = _store()
    for n in _around_tiles(MAX_SIZE):
        for i in sorted({*range(0, n, 13), *(v - 1 for v in _around_tiles(n))}):
            assert inclusion_proof(store, i, n) == _path(i, 0, n), (i, n)
        for m in _around_tiles(n):
            assert consistency_proof(store, m, n) == _subproof(m, 0, n, True), (m, n)


def test_only_the_tile_levels_are_stored() -> None:
    store = _store()
    levels = {level for level, _ in store.nodes}
    assert levels == {0, 8}  # 1,100 leaves: 4 nodes of 256 at level 8
    assert len(store.nodes) == MAX_SIZE + MAX_SIZE // 256
    assert node_at(store, 10, 0) == _mth(0, 1024)  # from four stored level-8 nodes
    assert node_at(store, 6, 16) == _mth(1024, 1024 + 64)  # from 64 stored leaves


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=20))
def test_uneven_batches_store_the_same_nodes(batches: list[int]) -> None:
    total = min(sum(batches), MAX_SIZE)
    one_by_one, size = DictNodeStore(), 0
    for value in LEAVES[:total]:
        size = append_leaves(one_by_one, size, [value])
    batched, size = DictNodeStore(), 0
    for wanted in batches:
        batch = min(wanted, total - size)
        size = append_leaves(batched, size, LEAVES[size : size + batch])
        assert root_at(batched, size) == _mth(0, size)
    assert size == total
    assert batched.nodes == one_by_one.nodes


@given(st.integers(min_value=0, max_value=MAX_SIZE), st.sampled_from([1, 2, 4, 8, 16, 32]))
def test_pages_of_subtrees_build_the_tree_leaf_pushes_build(size: int, page: int) -> None:
    """verify's page-wise hashing: each aligned page's levels are the stored nodes, and
    pushing each page's tiling subtrees gives the frontier a push per leaf gives."""
    stored = DictNodeStore()
    append_leaves(stored, 0, LEAVES[:size])
    by_leaf, by_page = Frontier(), Frontier()
    closed_by_leaf: list[tuple[int, int, bytes]] = []
    for value in LEAVES[:size]:
        closed_by_leaf.extend(by_leaf.push(value))
    closed_by_page: list[tuple[int, int, bytes]] = []
    for start in range(0, size, page):
        levels = complete_levels(LEAVES[start : min(start + page, size)])
        for level, hashes in enumerate(levels):
            if is_stored_level(level):
                assert hashes == stored.run(level, start >> level, len(hashes))
            closed_by_page.extend((level, (start >> level) + i, h) for i, h in enumerate(hashes))
        for level in range(len(levels) - 1, -1, -1):
            if len(levels[level]) % 2:
                closed_by_page.extend(by_page.push(levels[level][-1], level))
    assert (by_page.size, by_page.stack) == (by_leaf.size, by_leaf.stack)
    assert by_page.root() == _mth(0, size)
    assert {n for n in closed_by_leaf} <= set(closed_by_page)
    assert {n for n in closed_by_page if is_stored_level(n[0])} == {
        (lv, i, h) for (lv, i), h in stored.nodes.items()
    }


def test_frontier_refuses_a_subtree_that_does_not_start_at_its_width() -> None:
    frontier = Frontier()
    frontier.push(LEAVES[0])
    with pytest.raises(ValueError, match="a subtree of level 1 cannot start at leaf 1"):
        frontier.push(node_hash(LEAVES[1], LEAVES[2]), 1)


# ---------------------------------------------------------------------------------------------
# Properties: every proof for sizes 1..256 verifies, and mutations of it do not
# ---------------------------------------------------------------------------------------------

OTHER = hashlib.sha256(b"not in the tree").digest()


def _flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _rejects_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return True
    return False


def _rejects_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> bool:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except ProofError:
        return True
    return False


def _proof_mutations(proof: list[bytes], salt: int) -> list[list[bytes]]:
    """One bit flip in every element, one element dropped, elements added (salt picks which)."""
    mutated = [
        [*proof[:j], _flip(p, salt * 31 + j * 97), *proof[j + 1 :]] for j, p in enumerate(proof)
    ]
    mutated += [[OTHER, *proof], [*proof, OTHER]]
    if proof:
        j = salt % len(proof)
        mutated += [proof[:j] + proof[j + 1 :], [*proof[:j], OTHER, *proof[j:]]]
    return mutated


EXHAUSTIVE_SIZE = 256
"""The verifiers are checked on every proof of trees up to this size (the reference
model's proofs: the store's are checked against them above)."""


@pytest.mark.slow
def test_inclusion_proofs_verify_and_mutations_fail() -> None:
    for n in range(1, EXHAUSTIVE_SIZE + 1):
        root = _mth(0, n)
        for i in range(n):
            leaf, proof = LEAVES[i], _path(i, 0, n)
            verify_inclusion(leaf, i, n, proof, root)
            bad_args = [
                (leaf, i + 1, n, proof, root),
                (leaf, i - 1, n, proof, root),
                (leaf, i, n * 2, proof, root),
                (leaf, i, n // 2, proof, root),
                (leaf, i, n, proof, _flip(root, i)),
                (leaf, i, n, proof, OTHER),
                (OTHER, i, n, proof, root),
            ]
            bad_args += [(leaf, i, n, bad, root) for bad in _proof_mutations(proof, i + n)]
            for args in bad_args:
                assert _rejects_inclusion(*args), (i, n, args[1:4])


@pytest.mark.slow
def test_consistency_proofs_verify_and_mutations_fail() -> None:
    roots = [_mth(0, n) for n in range(EXHAUSTIVE_SIZE + 1)]
    for n in range(1, EXHAUSTIVE_SIZE + 1):
        for m in range(1, n + 1):
            proof, r1, r2 = _subproof(m, 0, n, True), roots[m], roots[n]
            verify_consistency(m, n, proof, r1, r2)
            # Not size2 ± 1: the verifier sees sizes only through the proof's shape, which a
            # neighbouring size2 often shares (transparency-dev's vectors skip it too).
            bad_args = [
                (m - 1, n, proof, r1, r2),
                (m + 1, n, proof, r1, r2),
                (m ^ 2, n, proof, r1, r2),
                (m, n * 2, proof, r1, r2),
                (m, n // 2, proof, r1, r2),
                (m, n, proof, _flip(r1, m), r2),
                (m, n, proof, r1, _flip(r2, n)),
                (m, n, proof, OTHER, r2),
                (m, n, proof, r1, OTHER),
            ]
            if m != n:
                bad_args.append((m, n, proof, r2, r1))
            bad_args += [(m, n, bad, r1, r2) for bad in _proof_mutations(proof, m * n)]
            for args in bad_args:
                assert _rejects_consistency(*args), (m, n, args[:2])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_bit_flip_breaks_a_proof(data: st.DataObject) -> None:
    store = _store()
    n = data.draw(st.integers(min_value=2, max_value=MAX_SIZE), label="n")
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="i")
    proof = inclusion_proof(store, i, n)
    j = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    proof[j] = _flip(proof[j], bit)
    assert _rejects_inclusion(LEAVES[i], i, n, proof, _mth(0, n))

    m = data.draw(st.integers(min_value=1, max_value=n - 1), label="m")
    proof = consistency_proof(store, m, n)
    j = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="c-element")
    proof[j] = _flip(proof[j], bit)
    assert _rejects_consistency(m, n, proof, _mth(0, m), _mth(0, n))


# ---------------------------------------------------------------------------------------------
# Cost: O(log n) store reads at a million leaves
# ---------------------------------------------------------------------------------------------


class _SyntheticStore:
    """Answers every node with a made-up hash and counts reads; enough to measure cost."""

    def __init__(self) -> None:
        self.reads = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        self.reads += 1
        return [
            hashlib.sha256(f"{level}/{i}".encode()).digest() for i in range(first, first + count)
        ]

    def put_many(self, items: object) -> None:
        raise AssertionError("read-only")


@pytest.mark.parametrize("size", [1_000_000, 1_048_575, 1_048_576, 1_048_577])
def test_proofs_cost_logarithmic_reads(size: int) -> None:
    bound = 2 * math.ceil(math.log2(size)) + 1
    store = _SyntheticStore()
    for index in (0, 1, size // 3, size - 2, size - 1):
        store.reads = 0
        inclusion_proof(store, index, size)
        assert store.reads <= bound, ("inclusion", index, store.reads)
    for size1 in (1, 2, 3, size // 2, size // 2 + 1, 999_999, size - 1):
        store.reads = 0
        consistency_proof(store, size1, size)
        assert store.reads <= bound, ("consistency", size1, store.reads)
    store.reads = 0
    root_at(store, size)
    assert store.reads == size.bit_count()


class _CountingStore(DictNodeStore):
    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        super().__init__()
        self.nodes = dict(nodes)
        self.reads = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return super().get(level, index)

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        self.reads += 1
        return super().run(level, first, count)


def test_append_reads_at_most_one_node_per_level() -> None:
    store = DictNodeStore()
    size = append_leaves(store, 0, LEAVES[:255])
    counting = _CountingStore(store.nodes)
    append_leaves(counting, size, LEAVES[255:256])  # completes a subtree at each of 8 levels
    assert counting.reads <= 8
    assert root_at(counting, 256) == _mth(0, 256)


# ---------------------------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------------------------


def test_invalid_arguments() -> None:
    store = _store()
    with pytest.raises(ValueError):
        inclusion_proof(store, 5, 5)
    with pytest.raises(ValueError):
        inclusion_proof(store, -1, 5)
    with pytest.raises(ValueError):
        consistency_proof(store, 0, 5)
    with pytest.raises(ValueError):
        consistency_proof(store, 6, 5)
    with pytest.raises(ValueError):
        append_leaves(DictNodeStore(), 0, [b"short"])
    with pytest.raises(ValueError):
        root_from_leaf_hashes([b"short"])
    with pytest.raises(ValueError):
        root_at(store, -1)
    assert consistency_proof(store, 7, 7) == []


def test_missing_nodes_are_reported() -> None:
    with pytest.raises(LookupError):
        root_at(DictNodeStore(), 3)
    with pytest.raises(LookupError):
        append_leaves(DictNodeStore(), 1, [LEAVES[1]])


def test_verify_rejects_wrong_length_hashes() -> None:
    root = _mth(0, 2)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0][:31], 0, 2, [LEAVES[1]], root)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1] + b"\x00"], root)
    with pytest.raises(ProofError):
        verify_consistency(1, 2, [LEAVES[1]], LEAVES[0], root + b"\x00")
