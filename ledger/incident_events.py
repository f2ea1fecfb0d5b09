"""An incident's events read from where a read model says they are, and proven to be all
of them by the incident's signed chain.

A read model knows where each incident's events are in the log (their ``seq``), but it
is a file anyone can edit. So the events read at those positions count only once they
prove to be exactly the incident's: those of them that concern it (``concerned``, with
every event of the claims they end, which no model row places) must extend its chain to
the count and head the store holds, and the store's chains must be the ones a signed
checkpoint commits to. One event left out, or one too many, and the chain differs: the
caller then reads the whole log instead. An incident bundle (``bundles``) and the check
of an incident's export against the log (``projections.check_scope``) both read an
incident this way, which costs what the incident holds, not what the log holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from eventsourcing.persistence import Notification

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.audit import Checkpoint, _leaf
from incident_ledger.ledger.errors import NotFoundError
from incident_ledger.ledger.event_citations import records_named, report_outlets
from incident_ledger.ledger.incident_chains import ChainMap, Chains, concerned
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.chains import claim_lookup
from incident_ledger.ledger.stores.recorder import EventRow, LogView

Placed = tuple[int, EventRow, bytes]
"""An event of the log: its leaf's index, its stored row (or ``NO_ROW``) and its leaf."""

NO_ROW: EventRow = (0, "", 0, "", b"")
"""Where an event's stored row is not kept (``events_at`` without ``rows``): a bundle needs
only the leaves, and the rows of a hot incident's 230,000 events took 60 MB more."""


@dataclass(frozen=True)
class IncidentEvents:
    """An incident's events, read by position and proven complete (``incident_events``)."""

    entry: dict[str, Any]
    """The incident's chain (count and head) with its proof in the signed tree of chains."""
    read: list[Placed]
    """Every event read, in log order: at the positions given, and every event of the
    claims those name."""
    own: list[Placed]
    """Those that concern the incident, in log order: its whole chain."""
    cited: set[str]
    """The records the incident's events cite, as aggregate ids (``records_named``), with
    the outlets of the reports among them (``report_outlets``)."""


def incident_events(
    ledger: Ledger,
    view: LogView,
    checkpoint: Checkpoint,
    incident: str,
    positions: Collection[int],
    rows: bool = True,
) -> IncidentEvents | None:
    """The events concerning ``incident`` among those at ``positions`` (notification ids
    a read model holds for it) and those of the claims they name, in the log up to
    ``checkpoint``; None unless they make the incident's chain as stored, and the stored
    chains are the ones the checkpoint signed (a read model behind, ahead or edited).
    Raises ``NotFoundError`` for an incident the signed chains do not hold. ``rows``:
    whether the events' stored rows are kept (else ``NO_ROW``)."""
    signed = _signed_chain(view, checkpoint, incident)
    if signed is None:
        return None
    entry, head = signed
    placed = events_at(ledger, view, checkpoint.size, ("notification", sorted(positions)), rows)
    # The claims these events end have events of their own (Claim.Retracted and
    # Claim.Superseded), which no read-model row places: every event of those claims.
    named = records_named(leaf for _, _, leaf in placed or ())
    ended_claims = sorted(f"claim:{claim}" for claim in named["claim"])
    ended = events_at(ledger, view, checkpoint.size, ("originator", ended_claims), rows)
    if placed is None or ended is None:
        return None
    read = sorted({item[0]: item for item in placed + ended}.values())
    labels = concerned([leaf for _, _, leaf in read], claim_lookup(view, ledger.audit.plain))
    own = [item for item, label in zip(read, labels, strict=True) if incident in label]
    chain = Chains()
    chain.add([(incident,)] * len(own), [leaf_hash(leaf) for _, _, leaf in own])
    if chain.heads.get(incident) != head:
        return None
    cited = _cited(leaf for _, _, leaf in own)
    cited |= report_outlets(view, ledger, cited)
    return IncidentEvents(entry, read, own, cited)


@dataclass(frozen=True)
class ChainedIncident:
    """An incident's events as ``incident_events`` proves them, read a page at a time and
    kept as where they are and their leaves' hashes only (``chained_incident``)."""

    entry: dict[str, Any]
    positions: list[int]
    """The notification ids of the events concerning the incident, in log order."""
    indexes: list[int]
    """Their leaves' indexes."""
    hashes: list[bytes]
    """Their leaves' hashes."""
    cited: set[str]
    """As ``IncidentEvents.cited``."""


def chained_incident(
    ledger: Ledger,
    view: LogView,
    checkpoint: Checkpoint,
    incident: str,
    positions: Collection[int],
) -> ChainedIncident | None:
    """``incident_events`` in memory that does not follow the incident: the events are
    read a page at a time in log order (``_in_log_order``), and of each one concerning
    the incident only its place and its leaf's hash are kept (a hot incident's 230,000
    events held whole took 180 MB)."""
    signed = _signed_chain(view, checkpoint, incident)
    if signed is None:
        return None
    entry, head = signed
    lookup = claim_lookup(view, ledger.audit.plain)
    chain = Chains()
    found = ChainedIncident(entry, [], [], [], set())
    try:
        for page in _pages(_in_log_order(ledger, view, checkpoint.size, sorted(positions))):
            labels = concerned([leaf for _, _, leaf in page], lookup)
            own = [item for item, label in zip(page, labels, strict=True) if incident in label]
            digests = [leaf_hash(leaf) for _, _, leaf in own]
            chain.add([(incident,)] * len(own), digests)
            found.positions.extend(row[0] for _, row, _ in own)
            found.indexes.extend(index for index, _, _ in own)
            found.hashes.extend(digests)
            found.cited.update(_cited(leaf for _, _, leaf in own))
    except _Unplaced:
        return None
    if chain.heads.get(incident) != head:
        return None
    found.cited.update(report_outlets(view, ledger, found.cited))
    return found


class _Unplaced(Exception):
    """An event found has no leaf (``events_at`` gave None)."""


PAGE = 4096
"""Events ``chained_incident`` reads and labels at a time."""


def _in_log_order(
    ledger: Ledger, view: LogView, size: int, positions: list[int]
) -> Iterator[Placed]:
    """The events at ``positions`` (ascending) and every event of the claims they name, in
    log order, a page of positions at a time: a claim's events are read when a page
    names it, and each is given out once the pages reach it. One that the pages have
    passed already (an event of a claim named only after it) is left out: it can only be
    one of another incident, or the chain that needs it fails and the caller reads the
    whole log. Raises ``_Unplaced`` for an event without a leaf."""
    pending: list[tuple[int, int, Placed]] = []  # a heap, by index
    named: set[str] = set()
    last = -1
    for start in range(0, len(positions), PAGE):
        page = events_at(ledger, view, size, ("notification", positions[start : start + PAGE]))
        new = records_named(leaf for _, _, leaf in page or ())["claim"] - named
        ended = events_at(ledger, view, size, ("originator", sorted(f"claim:{c}" for c in new)))
        if page is None or ended is None:
            raise _Unplaced
        named |= new
        for item in ended:
            heapq.heappush(pending, (item[0], len(pending), item))
        reached = page[-1][0] if page else -1
        due = []
        while pending and pending[0][0] <= reached:
            due.append(heapq.heappop(pending)[2])
        for item in heapq.merge(page, due, key=itemgetter(0)):
            if item[0] > last:
                last = item[0]
                yield item
    while pending:
        item = heapq.heappop(pending)[2]
        if item[0] > last:
            last = item[0]
            yield item


def _pages(items: Iterator[Placed]) -> Iterator[list[Placed]]:
    page: list[Placed] = []
    for item in items:
        page.append(item)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def _signed_chain(
    view: LogView, checkpoint: Checkpoint, incident: str
) -> tuple[dict[str, Any], tuple[int, bytes] | None] | None:
    """The incident's chain entry, with its proof in the tree of chains, and the chain
    (count, head) the store holds; None unless the stored chains are those the checkpoint
    signed. Raises ``NotFoundError`` for an incident they do not hold."""
    heads = view.chain_heads()
    tree = ChainMap(Chains(heads).entries())
    if checkpoint.chains != (tree.size, tree.root):
        return None
    entry = tree.entry(incident)
    if entry is None:
        raise NotFoundError(f"no incident '{incident}' in the ledger")
    return entry, heads.get(incident)


def _cited(leaves: Iterable[bytes]) -> set[str]:
    """The records leaves cite (``records_named``), as aggregate ids."""
    return {f"{kind}:{value}" for kind, values in records_named(leaves).items() for value in values}


def events_at(
    ledger: Ledger, view: LogView, size: int, where: tuple[str, list[Any]], rows: bool = True
) -> list[Placed] | None:
    """The events ``LogView.leaf_rows_where`` finds that are inside the log's first
    ``size`` leaves, with their leaves as ``verify`` reads them (``audit._leaf``), in log
    order; None if one has no leaf. ``rows``: whether their stored rows are kept (else
    ``NO_ROW``)."""
    found, indexes = view.leaf_rows_where(*where)
    if indexes is None:
        return None
    # The stored forms are the leaves, each checked to name its event (in bulk; row by
    # row only to say which one does not).
    states = ledger.leaf_mapper.leaves_of_rows(found)
    kept = found if rows else [NO_ROW] * len(found)
    if states is not None:
        return [
            (i, row, state) for i, row, state in zip(indexes, kept, states, strict=True) if i < size
        ]
    placed: list[Placed] = []
    for row, index, keep in zip(found, indexes, kept, strict=True):
        if index < size:
            position, aggregate, version, topic, state = row
            stored = Notification(
                id=position,
                originator_id=aggregate,
                originator_version=version,
                topic=topic,
                state=state,
            )
            placed.append((index, keep, _leaf(ledger, stored, index)))
    return placed
