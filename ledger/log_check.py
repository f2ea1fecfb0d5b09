"""Full verification of the stored log against its Merkle tree and signed checkpoints.

The log is checked a page at a time. A page holds ``PAGE`` leaves (a power of
two) and starts at a multiple of it, so its leaves are complete subtrees of the
whole tree: the page is hashed level by level, one list comprehension a level,
and each stored level (``merkle.TILE_HEIGHT``) is compared with the stored
nodes in one range read. Only a page that disagrees is walked again entry by
entry, which names the first bad entry (order, envelope, leaf, then each stored
tree node the entry closes) exactly as a leaf-by-leaf check would.

On a large SQLite log a forked helper checks the middle pages while this
process checks the first ones; this process then takes the helper's pages in
order up to the first it did not vouch for, and checks the rest itself,
ending with the last page, where the log's end is. The first bad entry is
still named by this process, by the same walk.

Over 400 lines: the log, its tree nodes, its checkpoints, the chains and the desk's
batches are checked in one pass over the pages, which keeps it one module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.audit import Checkpoint, b64, open_checkpoint, order_error
from incident_ledger.ledger.batch_check import batch_of_entry, check_batches
from incident_ledger.ledger.chain_check import ChainCheck, labels
from incident_ledger.ledger.errors import StoreError, VerificationError
from incident_ledger.ledger.evidence import check_captures
from incident_ledger.ledger.forking import Helper, two_cores
from incident_ledger.ledger.gcpause import gc_paused
from incident_ledger.ledger.mapper import LeafMapper
from incident_ledger.ledger.merkle import (
    TILE_HEIGHT,
    Frontier,
    complete_levels,
    is_stored_level,
    leaf_hash,
    root_at,
)
from incident_ledger.ledger.stores.recorder import EventRow, LogView

PAGE = 4096


def verify_ledger(ledger: Ledger, verifier: str | None) -> dict[str, Any]:
    """Recompute every leaf and tree node from the stored events; check every checkpoint
    against the ``verifier`` (public) key. Without one the checkpoints are counted, not
    checked: only the key says who signed them.

    Raises VerificationError naming the first bad entry (index and id), or what could not
    be read when the store fails to read (a damaged file).
    """
    reading = _Reading()
    try:
        return _verify_log(ledger, verifier, reading)
    except StoreError as error:
        raise VerificationError(f"{_unreadable(ledger, reading)} cannot be read: {error}") from None
    except VerificationError as error:
        raise _with_batch(ledger, error) from None


def _with_batch(ledger: Ledger, error: VerificationError) -> VerificationError:
    """The error, naming the signed batch that holds the entry it names, if any: a
    changed entry breaks its batch's signature too."""
    try:
        with ledger.audit.reading() as view:
            batch = batch_of_entry(ledger, view, str(error))
    except StoreError:
        batch = None
    if batch is None:
        return error
    return VerificationError(f"{error}; it is in {batch}, whose signature it breaks")


class _Reading:
    """What ``verify`` is reading: the log's checkpoints, a page of entries (the
    notification id its rows follow and its first leaf index), or the tree nodes."""

    def __init__(self) -> None:
        self.what = "the checkpoints"
        self.page: tuple[int, int] | None = None


def _unreadable(ledger: Ledger, reading: _Reading) -> str:
    """What could not be read: within a page of entries, the first entry the store fails
    to give (read again a few at a time, each read in a transaction of its own), or the
    tree nodes above the page if every entry reads."""
    if reading.page is None:
        return reading.what
    after, index = reading.page
    step = 64
    while step:
        try:
            while True:
                with ledger.audit.reading() as view:
                    rows = view.event_rows(after, step)
                if not rows:
                    return f"the Merkle tree nodes above {reading.what}"
                after, index = rows[-1][0], index + len(rows)
        except StoreError:
            step //= 8  # 64 rows, then 8, then 1: the first unreadable is the next one
    return f"entry {index}"


def _verify_log(ledger: Ledger, verifier: str | None, reading: _Reading) -> dict[str, Any]:
    mapper = ledger.leaf_mapper
    frontier = Frontier()
    with gc_paused(), ledger.audit.reading() as view:
        stored = view.checkpoints()
        keys = [] if verifier is None else [verifier]
        checkpoints = [
            (size, open_checkpoint(note, keys, f"checkpoint {size}"))
            for size, note in (stored if keys else [])
        ]
        chains = ChainCheck(view, ledger.audit.plain, checkpoints)
        reading.what = "the Merkle log"
        helper, first = _helper_for(ledger, view.size())
        try:
            _check_pages_in_order(view, mapper, frontier, helper, first, reading, chains)
        finally:
            if helper is not None:
                helper.stop()
        reading.what, reading.page = "the Merkle tree nodes", None
        size = view.size()
        if frontier.size != size:
            raise VerificationError(
                f"entry {frontier.size}: the Merkle log has {size} leaves but the store "
                f"{frontier.size} events"
            )
        root = frontier.root()
        if root_at(view.nodes, size) != root:
            raise VerificationError(
                "the stored Merkle tree nodes do not match the leaves (a tree node was edited)"
            )
        # Every stored node of a complete subtree has now been checked, so the stored
        # tree gives each checkpoint's root in O(log n) reads.
        roots = {s: root_at(view.nodes, s) for s, _ in checkpoints if s <= size}
        reading.what = "the chains of incidents"
        stored_chains = view.chain_heads()
        reading.what = "the desk's signed batches"
        batches = check_batches(ledger, view, size)
        reading.what = "the captured files"
        captures = check_captures(ledger, view)
    _check_checkpoints(checkpoints, size, roots)
    incidents = chains.check(checkpoints, stored_chains)
    return {
        "events": frontier.size,
        "tree_size": size,
        "root": b64(root),
        "checkpoints": len(checkpoints),
        "checkpoints_unchecked": len(stored) - len(checkpoints),
        "incidents": incidents,
        **batches,
        **captures.as_json(),
    }


def _check_checkpoints(
    checkpoints: list[tuple[int, Checkpoint]], size: int, roots: dict[int, bytes]
) -> None:
    """Each stored checkpoint: its note's size, within the log, and its root the log's."""
    for checkpoint_size, checkpoint in checkpoints:
        if checkpoint.size != checkpoint_size:
            raise VerificationError(
                f"checkpoint {checkpoint_size}: its note says {checkpoint.size}"
            )
        if checkpoint_size > size:
            raise VerificationError(
                f"checkpoint {checkpoint_size}: signed for more entries than the log holds "
                f"({size}): the log was rolled back or truncated"
            )
        if roots[checkpoint_size] != checkpoint.root:
            raise VerificationError(
                f"checkpoint {checkpoint_size}: the signed root does not match the events: "
                f"some entry below {checkpoint_size} was rewritten"
            )


def _check_pages_in_order(
    view: LogView,
    mapper: LeafMapper,
    frontier: Frontier,
    helper: Helper | None,
    first: int,
    reading: _Reading,
    chains: ChainCheck,
) -> None:
    """Check every page in ledger order, extending the frontier and the chains of
    incidents; raise at the first bad entry.

    The helper's pages, from page ``first``, are taken as it vouches for them.
    """
    after = 0
    while True:
        if helper is not None and frontier.size == first * PAGE:
            after = _take_helper_pages(view, frontier, helper, after, chains)
            helper = None
        start = frontier.size
        reading.what, reading.page = f"entries from {start}", (after, start)
        rows, leaf_ids, leaf_hashes = view.page(after, start, PAGE)
        if not rows and not leaf_ids:
            return
        before = frontier.copy()
        checked = _page_tiles(view, mapper, start, rows, leaf_ids, leaf_hashes)
        if checked is None or not _push_tiles(view, frontier, checked[0]):
            leaves = view.leaf_notifications(start, PAGE)
            _name_first_bad_entry(view, mapper, before, rows, leaves)
        else:
            chains.add(checked[1], checked[2])
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


def _page_tiles(
    view: LogView,
    mapper: LeafMapper,
    start: int,
    rows: list[EventRow],
    leaf_ids: list[int],
    leaf_hashes: list[Any],
) -> tuple[list[tuple[int, bytes]], list[bytes], list[bytes]] | None:
    """Check the page of leaves from ``start`` in bulk; None at any disagreement.

    Returns the complete subtrees that tile the page, largest first, as (level,
    hash): one, for a full page; and the page's leaves and leaf hashes. A leaf
    missing from the page's index range makes it shorter than the events; one past
    the log's end is caught by the size check after the last page.
    """
    if len(rows) != len(leaf_ids) or [row[0] for row in rows] != leaf_ids:
        return None
    try:
        lines = mapper.leaves_of_rows(rows)
        if lines is None:
            return None
        sha256 = hashlib.sha256
        levels = complete_levels([sha256(b"\x00" + line).digest() for line in lines])
    except (TypeError, ValueError):  # a tampered row of the wrong type
        return None
    if leaf_hashes != levels[0]:
        return None
    for level in range(TILE_HEIGHT, len(levels), TILE_HEIGHT):  # the stored levels above
        hashes = levels[level]
        if view.node_hashes(level, start >> level, len(hashes)) != hashes:
            return None
    # The page is tiled by the last node of each level of odd length.
    tiles = [
        (level, levels[level][-1])
        for level in range(len(levels) - 1, -1, -1)
        if len(levels[level]) % 2
    ]
    return tiles, lines, levels[0]


def _push_tiles(view: LogView, frontier: Frontier, tiles: list[tuple[int, bytes]]) -> bool:
    """Extend the frontier by a page's tiles; False if a node they close is not the stored one."""
    for level, digest in tiles:
        for above, node, closed in frontier.push(digest, level):
            if is_stored_level(above) and view.nodes.get(above, node) != closed:
                return False
    return True


def checked_pages(
    view: LogView, mapper: LeafMapper, size: int, frontier: Frontier
) -> Iterator[tuple[list[EventRow], list[bytes]]]:
    """The log's first ``size`` entries, a page at a time: (stored events, their leaves).

    Each page is checked in bulk as ``verify`` checks it (the events' envelopes, their
    leaves against the stored leaf hashes, the stored tree nodes above them) and pushed
    onto ``frontier``, whose root after the last page is the log's root at ``size``.
    Raises VerificationError at a page that does not check (``verify`` names the entry).
    """
    after = 0
    while frontier.size < size:
        start = frontier.size
        rows, leaf_ids, leaf_hashes = view.page(after, start, min(PAGE, size - start))
        checked = _page_tiles(view, mapper, start, rows, leaf_ids, leaf_hashes) if rows else None
        if checked is None or not _push_tiles(view, frontier, checked[0]):
            raise VerificationError(
                f"entries {start} to {start + len(rows) - 1}: the stored events do not match "
                "the Merkle log; 'ledger verify' names the first bad entry"
            )
        yield rows, checked[1]
        after = rows[-1][0]


# --- the second core ------------------------------------------------------------------------

PARALLEL_MIN_PAGES = 8
"""Logs of fewer pages are verified in one process: a fork would not pay for itself."""


def _helper_for(ledger: Ledger, size: int) -> tuple[Helper | None, int]:
    """A helper checking the middle pages [first, last) of a large SQLite log, if one pays.

    This process checks the pages before ``first`` meanwhile, then the last page
    itself, where the log's end is checked.
    """
    pages = -(-size // PAGE)
    if pages < PARALLEL_MIN_PAGES or not ledger.in_sqlite_file or not two_cores():
        return None, 0
    first, last = pages // 2, pages - 1
    return Helper(_check_pages, dict(ledger.env), first, last), first


def _check_pages(env: dict[str, str], first: int, last: int) -> list[tuple[Any, ...]]:
    """The helper's work: check pages [first, last) in bulk, stopping at the first bad one.

    Returns each good page's tiles and last notification id, and the incidents each of
    its events concerns with its leaf hash. It opens the store afresh: a connection
    must not cross a fork.
    """
    checked: list[tuple[Any, ...]] = []
    ledger = Ledger(env)
    try:
        with gc_paused(), ledger.audit.reading() as view:
            before = view.leaf_notification_ids(first * PAGE - 1, 1)
            if not before:
                return checked
            after = before[0]
            for page in range(first, last):
                start = page * PAGE
                rows, leaf_ids, leaf_hashes = view.page(after, start, PAGE)
                good = _page_tiles(view, ledger.leaf_mapper, start, rows, leaf_ids, leaf_hashes)
                if good is None or len(rows) < PAGE:
                    break
                after = rows[-1][0]
                tiles, lines, digests = good
                checked.append((tiles, after, labels(view, ledger.audit.plain, lines), digests))
    finally:
        ledger.close()
    return checked


def _take_helper_pages(
    view: LogView, frontier: Frontier, helper: Helper, after: int, chains: ChainCheck
) -> int:
    """Extend the frontier and the chains by the pages the helper found good; returns
    the new ``after``.

    From the first page it did not vouch for, this process goes on itself (and
    names the bad entry there, if there is one).
    """
    done, checked = helper.result()
    for tiles, last_id, page_labels, digests in checked if done else []:
        before = frontier.copy()
        if not _push_tiles(view, frontier, tiles):
            frontier.size, frontier.stack = before.size, before.stack
            break
        chains.add_labelled(page_labels, digests)
        after = last_id
    return after


def _name_first_bad_entry(
    view: LogView,
    mapper: LeafMapper,
    frontier: Frontier,
    rows: list[EventRow],
    leaves: list[tuple[int, int]],
) -> None:
    """Walk a page that failed the bulk check entry by entry and raise for the first bad one."""
    start = frontier.size
    stored: dict[int, dict[int, bytes]] = {}

    def stored_node(level: int, node: int) -> bytes | None:
        if level not in stored:
            first = start >> level
            stored[level] = view.node_range(level, first, first + (PAGE >> level))
        return stored[level].get(node)

    for offset in range(max(len(rows), len(leaves))):
        index = start + offset
        row = rows[offset] if offset < len(rows) else None
        leaf = leaves[offset] if offset < len(leaves) else None
        if row is None or leaf is None or leaf[1] != row[0]:
            raise order_error(index, None if row is None else (row[0], row[1]), leaf)
        entry = row[1]
        if leaf[0] != index:
            raise VerificationError(
                f"entry {index} ({entry}): the Merkle log has no leaf at this index (the next "
                f"is {leaf[0]}): a leaf or its event was deleted"
            )
        try:
            lines = mapper.leaves_of_rows([row])
        except Exception as error:  # any failure to read the row is tampering to report
            raise VerificationError(
                f"entry {index} ({entry}): the stored event cannot be decoded "
                f"({type(error).__name__})"
            ) from None
        if lines is None:
            raise VerificationError(
                f"entry {index} ({entry}): the stored event is not a recorded event of this "
                "id, version and topic (edited after it was recorded)"
            )
        digest = leaf_hash(lines[0])
        if stored_node(0, index) != digest:
            raise VerificationError(
                f"entry {index} ({entry}): the event does not match its Merkle leaf "
                "(edited after it was recorded)"
            )
        for level, node, closed in frontier.push(digest):
            if is_stored_level(level) and stored_node(level, node) != closed:
                raise VerificationError(
                    f"entry {index} ({entry}): the stored Merkle tree node (level {level}, "
                    f"index {node}) above it was edited"
                )
    raise VerificationError(  # the bulk check and this walk disagree: report, never pass
        f"entries {start} to {start + len(rows) - 1}: the page does not verify"
    )
