"""The right edge of a stored Merkle tree, read once per write transaction.

Appending leaves (``merkle.append_leaves``) reads the left sibling of the first new node
at each level it completes, and the root of the tree (``merkle.root_at``) is hashed from
its complete subtrees: all of them lie in the last, unfinished tile of each stored level
(``merkle.TILE_HEIGHT``), at most 255 nodes a level. Read through a cursor, those are a
query each, up to a dozen per append on a large log; a database a round trip away pays
for each. ``TreeEdge`` reads the edge of every stored level in one query, serves the
reads of later appends from it and from the nodes they write, and keeps only the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from incident_ledger.ledger.merkle import TILE_HEIGHT

TILE_WIDTH = 1 << TILE_HEIGHT

Node = tuple[int, int, bytes]
"""A complete-subtree hash: (level, index, hash)."""


def edge_ranges(size: int) -> Iterator[tuple[int, int, int]]:
    """(level, first index, end index) of the complete nodes of each stored level in its
    last, unfinished tile, for a tree of ``size`` leaves."""
    level = 0
    while size >> level:
        end = size >> level
        yield level, end - end % TILE_WIDTH, end
        level += TILE_HEIGHT


class TreeEdge:
    """A Merkle node store (``merkle.NodeStore``) for one write transaction: reads come
    from the edge of the tree, read at once (``edge_ranges``), or else from ``nodes``;
    the nodes ``append_leaves`` gives it are kept to be written (``written``) and join
    the edge."""

    def __init__(self, nodes: Any, prefix: str, size: int) -> None:
        self.nodes = nodes
        """The store behind (``recorder.CursorNodeStore``)."""
        self.known: dict[tuple[int, int], bytes] = {}
        self.written: list[Node] = []
        ranges = list(edge_ranges(size))
        if ranges:
            where = " OR ".join(["(level = %s AND idx >= %s AND idx < %s)"] * len(ranges))
            nodes.cursor.execute(
                f"SELECT level, idx, hash FROM {prefix}merkle_nodes WHERE {where}",
                [bound for triple in ranges for bound in triple],
            )
            self.known = {(int(r[0]), int(r[1])): bytes(r[2]) for r in nodes.cursor.fetchall()}

    def get(self, level: int, index: int) -> bytes | None:
        """One complete-subtree hash."""
        found = self.known.get((level, index))
        return found if found is not None else self.nodes.get(level, index)

    def run(self, level: int, first: int, count: int) -> list[bytes]:
        """Consecutive hashes of one level (shorter if one is missing)."""
        found = [self.known.get((level, index)) for index in range(first, first + count)]
        if None in found:
            return list(self.nodes.run(level, first, count))
        return found  # type: ignore[return-value]  # no None left

    def put_many(self, items: Iterable[Node]) -> None:
        """Keep new hashes to write (``written``); they join the edge."""
        items = list(items)
        self.written += items
        self.known.update(((level, index), value) for level, index, value in items)

    def moved_to(self, size: int) -> list[Node]:
        """The nodes to write since the last call, forgetting what is no longer on the
        edge of a tree of ``size`` leaves (memory stays a few tiles)."""
        written, self.written = self.written, []
        keep = {level: (first, end) for level, first, end in edge_ranges(size)}
        self.known = {
            key: value
            for key, value in self.known.items()
            if key[0] in keep and keep[key[0]][0] <= key[1] < keep[key[0]][1]
        }
        return written
