"""A claim's ``claim_status`` in the read model: what the ledger and its desk have made
of it, as recorded by now (the column does not follow known time: ``state`` and the
exports answer for a time).

- ``voided``: an erratum of the claim, or of the report, source or incident that holds
  it (``desk_rules``);
- ``rejected``: an editor rejected the proposal;
- ``proposed``: entered by a reporter on a ledger that requires review, not approved yet;
- ``retracted`` or ``corrected``: an end of it in force (the latest recorded; an end
  voided or rejected ends nothing);
- ``active``: none of these.

The status derives from several tables (claims, claim_ends, voided, batches, reviews),
so no one event decides it. The projector writes it as ended claims and the desk's
entries touch it (``StatusRefresh``); the read-model check derives it from the
model's own rows, which it holds to the log (``derived``), and compares.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from incident_ledger.projections.desk_rules import (
    REVIEWED_CLAIM,
    VOIDED_CLAIM,
    VOIDED_END,
    any_proposed,
    any_voided,
)
from incident_ledger.projections.positions import END_OF_TIME

STATUSES = ("active", "proposed", "rejected", "voided", "retracted", "corrected")

_ERRATUM = """EXISTS (
          SELECT 1 FROM voided v WHERE v.how = 'erratum'
            AND v.record IN ('claim:' || c.id, 'report:' || c.report, 'source:' || c.source,
                             'incident:' || c.incident))"""

# The desk's rules (desk_rules) as recorded by the end of time: ``NOT (1 AND NOT x)``
# is x, so a claim clause that would leave the claim out says it is voided (or unreviewed).
STATUS_SQL = f"""CASE
    WHEN NOT (1 {VOIDED_CLAIM}) THEN CASE WHEN {_ERRATUM} THEN 'voided' ELSE 'rejected' END
    WHEN NOT (1 {REVIEWED_CLAIM}) THEN 'proposed'
    ELSE coalesce(
        (SELECT e.how FROM claim_ends e WHERE e.claim = c.id {VOIDED_END}
         ORDER BY e.seq DESC LIMIT 1),
        'active')
END"""
"""SQL: the status of the claim aliased ``c`` (parameter ``:recorded``: ``END_OF_TIME``)."""

_CHANGED = f"""
SELECT status, id FROM (
    SELECT {STATUS_SQL} AS status, c.id AS id, c.claim_status AS stored FROM claims c
    WHERE c.id IN ({{chosen}})
) WHERE status IS NOT stored
"""

_ALL = f"SELECT c.id, {STATUS_SQL} FROM claims c"

_EACH = "SELECT value FROM json_each(:{})"
_CHOSEN = {
    "claims": [_EACH.format("claims")],
    "reports": [
        f"SELECT id FROM claims WHERE report IN ({_EACH.format('reports')})",
        f"SELECT claim FROM claim_ends WHERE report IN ({_EACH.format('reports')})",
    ],
    "sources": [
        f"SELECT id FROM claims WHERE source IN ({_EACH.format('sources')})",
        "SELECT e.claim FROM claim_ends e JOIN reports r ON r.id = e.report "
        f"WHERE r.source IN ({_EACH.format('sources')})",
    ],
    "incidents": [f"SELECT id FROM claims WHERE incident IN ({_EACH.format('incidents')})"],
    "enders": [f"SELECT claim FROM claim_ends WHERE ended_by IN ({_EACH.format('enders')})"],
    "ranges": [
        "SELECT c.id FROM json_each(:ranges) j JOIN claims c "
        "ON c.seq BETWEEN json_extract(j.value, '$[0]') AND json_extract(j.value, '$[1]')"
    ],
}
"""The claims whose status an entry can change, by what it touched: the claims named,
those a report, source or incident holds or whose end it holds, those a retraction or
correction ends, those entered in a batch (positions first..last)."""

_KINDS = {"claim": "claims", "report": "reports", "source": "sources", "incident": "incidents"}


@dataclass
class StatusRefresh:
    """What a page of events touched that can change claims' statuses: written, once the
    page's rows are, as ``changed`` finds them."""

    claims: set[str] = field(default_factory=set)
    reports: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    incidents: set[str] = field(default_factory=set)
    enders: set[str] = field(default_factory=set)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    def record(self, record: str) -> None:
        """An entry about a record (``kind:id``): an erratum, a rejection, an approval."""
        kind, _, record_id = record.partition(":")
        if kind in ("claim", "retraction"):
            self.enders.add(record_id)  # a correction is a claim: it ends the one it corrects
        if kind in _KINDS:
            getattr(self, _KINDS[kind]).add(record_id)

    def __bool__(self) -> bool:
        touched = (self.claims, self.reports, self.sources, self.incidents, self.enders)
        return any(touched) or bool(self.ranges)

    def clear(self) -> None:
        for touched in (self.claims, self.reports, self.sources, self.incidents, self.enders):
            touched.clear()
        self.ranges.clear()

    def changed(self, db: sqlite3.Connection) -> list[tuple[str, str]]:
        """(status, id) of each touched claim whose stored status is not its status."""
        params: dict[str, object] = {"recorded": END_OF_TIME}
        parts: list[str] = []
        for name, selects in _CHOSEN.items():
            touched = getattr(self, name)
            if touched:
                params[name] = json.dumps(sorted(touched))
                parts.extend(selects)
        if not parts:
            return []
        query = _CHANGED.format(chosen=" UNION ".join(parts))
        return [(str(status), str(claim)) for status, claim in db.execute(query, params)]


SET_STATUS = "UPDATE claims SET claim_status = ? WHERE id = ?"
"""Writes one claim's status: (status, id)."""

_ENDED = """
UPDATE claims SET claim_status = ends.how FROM (
    SELECT claim, how, row_number() OVER (PARTITION BY claim ORDER BY seq DESC) AS latest
    FROM claim_ends
) AS ends WHERE claims.id = ends.claim AND ends.latest = 1
"""
"""Each ended claim takes its latest end's ``how``: what writing ``SET_STATUS`` for each
end in ledger order leaves."""


def settle(db: sqlite3.Connection) -> None:
    """Write every claim's status after a bulk load, which writes none per event: one
    statement for the ends (a claim found by its id's index, built by then, where an
    update per end kept an index of ids through the whole load), then, where the desk
    has voided or proposed anything, each claim whose status that changes."""
    db.execute(_ENDED)
    if desk_in(db):
        db.executemany(SET_STATUS, every_changed(db))


def desk_in(db: sqlite3.Connection) -> bool:
    """Whether the model holds anything of the desk that can change a status beyond its
    ends: a record voided, or a proposed batch."""
    return any_voided(db) or any_proposed(db)


def every_changed(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """(status, id) of every claim whose stored status is not its status."""
    rows = db.execute(_CHANGED.format(chosen="SELECT id FROM claims"), {"recorded": END_OF_TIME})
    return [(str(status), str(claim)) for status, claim in rows]


def derived(db: sqlite3.Connection, claims: Collection[object]) -> Iterator[tuple[str, str]]:
    """(id, status) of each of these claims, derived from the model's rows: each found by
    its id when they are few beside the model's claims (an incident's check: the 600
    claims of a small incident took 6.7 s through every claim of a million), else all in
    one pass."""
    params: dict[str, object] = {"recorded": END_OF_TIME}
    query = _ALL
    (held,) = db.execute("SELECT count(*) FROM claims").fetchone()
    if len(claims) * FEW_CLAIMS < held:
        query += " WHERE c.id IN (SELECT value FROM json_each(:ids))"
        params["ids"] = json.dumps([claim for claim in claims if type(claim) is str])
    for claim, status in db.execute(query, params):
        if claim in claims:
            yield str(claim), str(status)


FEW_CLAIMS = 4
"""Claims are few when the model holds this many times as many (``derived``)."""
