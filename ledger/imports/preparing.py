"""Recording's per-record work, done ahead on the second core.

Recording many spooled records (an import's records that waited for a
reference further down the input) spends much of its time on each before the
store is involved: reading it back from the spool, building its creation
event's leaf, hashing the leaf. A forked helper does that for the pages ahead,
reading the sealed spool file in the same dependency order, and sends each page
as flat columns (ids, kinds, references, the leaves joined into one bytes
object and their hashes into another), which cost little to pass through a
pipe. This process checks each page against the store and writes it; a record
that needs more than the columns (a repeated id, a correction, a reference not
yet known) is read from the spool and handled the usual way. Should the helper
stop, this process goes on from the first record it did not receive.
"""

from __future__ import annotations

import hashlib
import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

from incident_ledger.ledger.domain import creation_leaf
from incident_ledger.ledger.forking import Producer, two_cores
from incident_ledger.ledger.imports.kinds import NewEvents
from incident_ledger.ledger.imports.rules import queue
from incident_ledger.ledger.imports.spool import PAGE, Spool, Spooled
from incident_ledger.ledger.incident_chains import Concerns
from incident_ledger.ledger.stores.recorder import NewRow

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger

PREPARE_MIN_RECORDS = 20_000
"""Smaller imports are recorded in one process: a fork would not pay for itself."""


@dataclass(frozen=True)
class PreparedPage:
    """A page of spooled records as columns, with their creation events' leaves made."""

    seqs: list[int]
    kinds: list[str]
    aggregate_ids: list[str]
    ref_ids: list[str]
    """Each record's referenced aggregate ids, ``;``-joined (empty for none)."""
    topics: list[str]
    leaves: bytes
    """Every record's creation leaf, one after another; record i's ends at ``ends[i]``."""
    ends: list[int]
    digests: bytes
    """The leaves' Merkle leaf hashes, 32 bytes each."""
    fact_ids: list[str]
    """The fact each claim or declaration concerns (``Spooled.fact``; empty for others)."""
    sigs: list[str]
    """Each claim's value signature (``Spooled.sig``), checked against its fact's kind."""

    def __len__(self) -> int:
        return len(self.seqs)

    def made_before_cited(self, made: set[str], position: dict[str, int], joined: str) -> bool:
        """Whether each of these ids, made by the record at ``position[id]`` of the page,
        comes before every record that references it (``joined``: the records' ``ref_ids``
        joined by ``;``). Found as the first whole ``;``-separated id in ``joined`` (never
        ``report:r1`` in ``report:r10``), rather than by splitting every record's: most
        pages reference a few ids of their own from many records."""
        starts = list(accumulate([len(refs) + 1 for refs in self.ref_ids], initial=0))
        padded = f";{joined};"
        for aggregate_id in made:
            first = padded.find(f";{aggregate_id};")  # where in ``joined`` it starts
            if first < 0 or bisect_right(starts, first) - 1 <= position[aggregate_id]:
                return False
        return True

    @cached_property
    def ref_lists(self) -> list[list[str]]:
        """Each record's referenced aggregate ids as a list (split once, when needed)."""
        return [r.split(";") if r else [] for r in self.ref_ids]


def pages(spool: Spool, recorded: str) -> Iterator[list[Spooled] | PreparedPage]:
    """The spool's records in dependency order, a page at a time.

    Pages come prepared (creation leaves recorded at ``recorded``) when a helper
    made them, otherwise as spooled records.
    """
    spool.seal()
    if spool.path is None or spool.count < PREPARE_MIN_RECORDS or not two_cores():
        yield from _paged(spool.in_order())
        return
    received = 0
    with Producer(_prepared_pages, spool.path, recorded) as helper:
        for page in helper:
            received += len(page)
            yield page
        complete = helper.complete
    if not complete:
        yield from _paged(itertools.islice(spool.in_order(), received, None))


def _prepared_pages(path: Path, recorded: str) -> Iterator[PreparedPage]:
    """The helper's work: every page of the spool as columns, leaves and hashes made."""
    spool = Spool(path=path, sealed=True)
    sha256 = hashlib.sha256
    try:
        for page in _paged(spool.in_order()):
            topics, leaves, ends, digests = [], [], [], []
            end = 0
            for spooled in page:
                _, topic, leaf = creation_leaf(
                    spooled.kind, spooled.record_id, spooled.data, recorded
                )
                topics.append(topic)
                leaves.append(leaf)
                end += len(leaf)
                ends.append(end)
                digests.append(sha256(b"\x00" + leaf).digest())
            yield PreparedPage(
                seqs=[s.seq for s in page],
                kinds=[s.kind for s in page],
                aggregate_ids=[s.aggregate_id for s in page],
                ref_ids=[";".join(s.ref_ids) for s in page],
                topics=topics,
                leaves=b"".join(leaves),
                ends=ends,
                digests=b"".join(digests),
                fact_ids=[s.fact for s in page],
                sigs=[s.sig for s in page],
            )
    finally:
        spool.close()


def _paged(records: Iterable[Spooled]) -> Iterator[list[Spooled]]:
    page: list[Spooled] = []
    for spooled in records:
        page.append(spooled)
        if len(page) >= PAGE:
            yield page
            page = []
    if page:
        yield page


def column_events(
    ledger: Ledger, page: PreparedPage, before: list[tuple[int, NewEvents]]
) -> tuple[list[NewRow], list[bytes], Concerns]:
    """The creation events of every record of a page, straight from its columns, with
    ``before`` (place in the page, events: those that give facts their kinds) each just
    before the record at that place, so the log's order does not depend on paging; and
    the incidents each concerns, as far as the page tells (``ValidatedPage.concerns``;
    None for the others)."""
    leaves, ends, hashes = page.leaves, page.ends, page.digests
    states = [leaves[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    events = ledger.leaf_mapper.creations_from_leaves(page.aggregate_ids, page.topics, states)
    digests = [hashes[i : i + 32] for i in range(0, len(hashes), 32)]
    concerns: Concerns = getattr(page, "concerns", None) or [None] * len(events)
    if not before:
        return events, digests, concerns
    merged: list[NewRow] = []
    merged_digests: list[bytes] = []
    merged_concerns: Concerns = []
    start = 0
    for place, extra in before:
        merged += events[start:place]
        merged_digests += digests[start:place]
        merged_concerns += concerns[start:place]
        queue(extra, merged, merged_digests)
        merged_concerns += [None] * len(extra)
        start = place
    return (
        merged + events[start:],
        merged_digests + digests[start:],
        merged_concerns + concerns[start:],
    )


def creation_place(before: list[tuple[int, NewEvents]]) -> Callable[[int], int]:
    """Where ``column_events`` puts the creation of a page's record (by its place in the
    page), given the same ``before``: after every event made before it or an earlier one."""
    places = [place for place, extra in before for _ in extra]
    return lambda i: i + bisect_right(places, i)
