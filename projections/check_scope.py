"""Which events and rows the read-model check of one incident's export covers.

An export of one incident reads a part of the model: the incident's row, facts
and relations, its claims and their ends, retractions and assessments, the
reports and sources they cite with those sources' ratings, and the day ends of
time zones. The check of such an export (``check_read_model`` with an incident)
projects only the events that produce those rows, and compares only the model's
rows of those events, so what it holds and does follows the incident.

The events are taken from both sides, so that neither a row missing from the
model nor a row added to it escapes:

- from the log, every event concerning the incident (``incident_chains.concerned``,
  the rule an incident's bundle and its signed chain use), every event of the
  reports and sources those cite (``event_citations.cited_records``, and the outlets of
  the reports cited; a claim of another incident a correction names is not read
  by the export, only the end the correction gives it), and every incident's
  registration (a zone's day ends are written by the first incident of the zone,
  whichever it is);
- from the model, the event (``seq``) of every row the export would read: a row
  added under the position of some other event brings that event in, and then
  differs from what it produces.

Finding the log's side reads the log's leaves once before the check, unhashed. An index of
events by incident would spare that read only if it could be trusted: the model's places
are its own to edit, and the store's chains of incidents are what a checkpoint signs, not
what it checks (the one pass over the log is what holds both to the leaves).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.desk_domain import Batch, Erratum, Member, Note, Review, Setting
from incident_ledger.ledger.errors import VerificationError
from incident_ledger.ledger.event_citations import cited_records, report_outlets
from incident_ledger.ledger.evidence import Capture
from incident_ledger.ledger.incident_chains import concerned, parse_leaf
from incident_ledger.ledger.log_check import PAGE
from incident_ledger.ledger.mapper import LeafMapper
from incident_ledger.ledger.stores.chains import claim_lookup
from incident_ledger.ledger.stores.recorder import EventRow, LogView
from incident_ledger.projections.desk_projection import DESK_TABLES
from incident_ledger.projections.incidents import claim_events


@dataclass(frozen=True)
class Scope:
    """The events an incident's check projects, and whose rows in the model it compares,
    by position (notification id)."""

    positions: frozenset[int]

    def chosen(
        self, rows: list[EventRow], leaves: list[bytes]
    ) -> tuple[list[EventRow], list[bytes]]:
        """The events of a page of the log the check projects, with their leaves."""
        wanted = [i for i, row in enumerate(rows) if row[0] in self.positions]
        return [rows[i] for i in wanted], [leaves[i] for i in wanted]

    def keeps(self, seq: object) -> bool:
        """Whether the check compares a model row of the event at ``seq``."""
        return seq in self.positions


_SHARED = ("report:", "source:")
"""Records of which an incident's events cite some: their events are found by record."""

_DESK = tuple(f"{kind.kind}:" for kind in (Member, Batch, Setting, Erratum, Review, Note, Capture))
"""The desk's records: every incident's export reads their rows (who recorded a claim, what is
voided, the members, notes and captures), so every event of theirs is in every scope, found
in the log (a row deleted from the model is then missed) as in the model (``_MODEL_ROWS``)."""


_MODEL_ROWS = """
SELECT seq FROM incidents WHERE id = :incident
UNION SELECT seq FROM facts WHERE incident = :incident
UNION SELECT seq FROM incident_relations WHERE incident = :incident
UNION SELECT seq FROM unprojectable WHERE incident = :incident
UNION SELECT seq FROM zone_day_ends
UNION SELECT seq FROM reports WHERE id IN (SELECT value FROM json_each(:reports))
UNION SELECT seq FROM sources WHERE id IN (SELECT value FROM json_each(:sources))
UNION SELECT seq FROM source_ratings WHERE source IN (SELECT value FROM json_each(:sources))
""" + "".join(f"UNION SELECT seq FROM {table}\n" for table in DESK_TABLES)
"""The events of the model's rows an export of one incident reads (``exports.common``), but
its claims' and their ends' and assessments' (``incidents.claim_events``: each table read
the cheaper way for the incident's size, where a subquery of the incident's claims built
an index of the hot incident's 196,000 claim ids three times, 4.4 s). The desk's tables
are read whole: an export reads them across incidents (who recorded a claim, whether its
record is voided, the members' names, notes and captures), and they hold a row per desk
entry and per signed batch, few beside the claims."""


def incident_scope(
    ledger: Ledger, view: LogView, size: int, model: sqlite3.Connection, incident: str
) -> Scope:
    """The scope of the check of ``incident``'s rows in the log's first ``size`` events."""
    lookup = claim_lookup(view, ledger.audit.plain)
    positions: set[int] = set()
    cited: set[str] = set()
    shared: dict[str, list[int]] = {}
    for rows, leaves in _log_pages(view, ledger.leaf_mapper, size):
        for row, leaf, label in zip(rows, leaves, concerned(leaves, lookup), strict=True):
            if row[1].startswith(_SHARED):
                shared.setdefault(row[1], []).append(row[0])
            elif row[1].startswith(_DESK) or (row[1].startswith("incident:") and row[2] == 1):
                positions.add(row[0])
            if incident in label:
                positions.add(row[0])
                line = parse_leaf(leaf)
                if line is not None:
                    cited |= cited_records(line)
    cited |= report_outlets(view, ledger, cited)
    for record in cited:
        positions.update(shared.get(record, ()))
    positions.update(_model_positions(model, incident, cited))
    return Scope(frozenset(positions))


def _log_pages(
    view: LogView, mapper: LeafMapper, size: int
) -> Iterator[tuple[list[EventRow], list[bytes]]]:
    """The log's first ``size`` events a page at a time, with their leaves, as
    ``checked_pages`` gives them but not hashed: the check reads and hashes every one
    of them after, in the same read of the store, and stops at the first that does not
    match; what is found here only chooses which of them it projects."""
    after, read = 0, 0
    while read < size:
        rows = view.event_rows(after, min(PAGE, size - read))
        if not rows:
            return
        try:
            leaves = mapper.leaves_of_rows(rows)
        except (TypeError, ValueError):  # a tampered row of the wrong type
            leaves = None
        if leaves is None:
            raise VerificationError(
                f"entries {read} to {read + len(rows) - 1}: the stored events do not match "
                "the Merkle log; 'ledger verify' names the first bad entry"
            )
        yield rows, leaves
        read += len(rows)
        after = rows[-1][0]


def _model_positions(model: sqlite3.Connection, incident: str, cited: set[str]) -> set[int]:
    """The events of the rows an export of ``incident`` reads from the model: the reports
    and sources cited in the log (or named by the model's rows of the incident)."""
    reports = {name.partition(":")[2] for name in cited if name.startswith("report:")}
    sources = {name.partition(":")[2] for name in cited if name.startswith("source:")}
    # Each distinct value once: a hot incident's 200,000 claims name a few thousand.
    of_claims = "SELECT DISTINCT {} FROM claims WHERE incident = ?"
    reports.update(row[0] for row in model.execute(of_claims.format("report"), (incident,)))
    sources.update(row[0] for row in model.execute(of_claims.format("claimant"), (incident,)))
    for (via,) in model.execute(of_claims.format("via"), (incident,)):
        sources.update(json.loads(via) if via else ())
    outlets = "SELECT source FROM reports WHERE id IN (SELECT value FROM json_each(?))"
    sources.update(row[0] for row in model.execute(outlets, (json.dumps(sorted(reports)),)))
    found = model.execute(
        _MODEL_ROWS,
        {
            "incident": incident,
            "reports": json.dumps(sorted(reports)),
            "sources": json.dumps(sorted(sources)),
        },
    )
    rows = found.fetchall() + claim_events(model, incident)
    return {seq for (seq,) in rows if type(seq) is int}
