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

from collections.abc import Collection
from dataclasses import dataclass
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
    heads = view.chain_heads()
    tree = ChainMap(Chains(heads).entries())
    if checkpoint.chains != (tree.size, tree.root):
        return None
    entry = tree.entry(incident)
    if entry is None:
        raise NotFoundError(f"no incident '{incident}' in the ledger")
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
    if chain.heads.get(incident) != heads.get(incident):
        return None
    cited = {
        f"{kind}:{value}"
        for kind, values in records_named(leaf for _, _, leaf in own).items()
        for value in values
    }
    cited |= report_outlets(view, ledger, cited)
    return IncidentEvents(entry, read, own, cited)


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
