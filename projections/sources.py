"""Sources with their Admiralty grades and a track record computed from the read model.

For each source: ``id``, ``name``, ``name_ar``, ``kind``, ``reliability`` (its
current grade, ``null`` if never graded) and ``ratings``, its grade history in
ledger order (``grade``, ``reason``, ``effective_from`` — ``null`` means
always — and ``recorded_at``). Then its track record, over every claim in the
ledger whatever its known time (a "claim of S" is a claim whose resolved
claimant is S — the outlet when the claim names no claimant; relays in ``via``
are not claimants; a correction is itself a claim of its claimant):

``claims_made``
    The number of claims of S.
``relayed``
    Claims of others that S passed on: as the outlet of their report, or named in
    their ``via``.
``retracted`` / ``retracted_share``
    Claims S answers for that a retraction ended, and that over ``claims_made +
    relayed``. S answers for the end of its own claims, except where the report that
    ended one came from an outlet that had relayed it: a relay that retracts or
    corrects its report of S answers for that itself (its error, not S's).
``corrected`` / ``corrected_share``
    Claims S answers for that a correction replaced, and that over ``claims_made +
    relayed``.
``positions``
    The (incident, fact) pairs S has at least one claim on, active or not.
``contested`` / ``contested_share``
    Of those pairs, the ones whose fact is ``contested`` in the incident's
    current state (:func:`projections.understanding.state` known at the latest
    ``published_at`` in the ledger, as recorded now), and that over ``positions``.
``first_to_report`` / ``first_share``
    Of those pairs, the ones where S's earliest claim has the earliest
    ``published_at`` of every claim on that fact by any claimant (retracted and
    corrected claims included: who spoke first does not change later; a tie
    counts for each tied source), and that over ``positions``.
``reports_published``
    Reports whose source (outlet) is S.

Shares are rounded to four decimals and are ``null`` when their denominator is
0. Sources are listed by ``claims_made`` (most first), then id.

A record the desk voided (an erratum: entered by mistake; a rejected proposal) counts
for nothing here, as if never entered: not as a claim, a relay, a position or a first
report, nor as the retraction or correction of a claim (``desk_rules``). Nor does a
reporter's claim, correction or retraction still waiting for review: a track record is
the reviewed view's, so an unreviewed retraction never counts as the source withdrawing.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from incident_ledger.projections import source_tally
from incident_ledger.projections.desk_rules import desk_clauses
from incident_ledger.projections.fact_status import current_statuses
from incident_ledger.projections.positions import END_OF_TIME
from incident_ledger.projections.source_tally import Counts
from incident_ledger.projections.understanding import Status, iso

# Each count is one grouped pass over its table, joined to the sources: a count per
# source as a correlated subquery scanned every claim once per source (45 s for
# 500 sources at a million claims).
_SOURCES = """
WITH live AS (
    SELECT * FROM claims c WHERE 1 {claim}
), made AS (
    SELECT claimant, COUNT(*) AS claims FROM live GROUP BY claimant
), passed AS ({passed}), relayed AS (
    SELECT relay, COUNT(*) AS claims FROM passed GROUP BY relay
), answered AS (
    SELECT {answerable} AS answerable, e.how, c.id
    FROM claim_ends e JOIN live c ON c.id = e.claim JOIN reports r ON r.id = e.report
    WHERE 1 {end}
), ended AS (
    SELECT answerable,
        COUNT(DISTINCT CASE WHEN how = 'retracted' THEN id END) AS retracted,
        COUNT(DISTINCT CASE WHEN how = 'corrected' THEN id END) AS corrected
    FROM answered GROUP BY answerable
), published AS (
    SELECT source, COUNT(*) AS reports FROM reports GROUP BY source
)
SELECT s.id, s.name, s.name_ar, s.kind, s.reliability,
    COALESCE(made.claims, 0) AS claims_made,
    COALESCE(relayed.claims, 0) AS relayed,
    COALESCE(ended.retracted, 0) AS retracted,
    COALESCE(ended.corrected, 0) AS corrected,
    COALESCE(published.reports, 0) AS reports_published
FROM sources s
LEFT JOIN made ON made.claimant = s.id
LEFT JOIN relayed ON relayed.relay = s.id
LEFT JOIN ended ON ended.answerable = s.id
LEFT JOIN published ON published.source = s.id
ORDER BY claims_made DESC, s.id
""".replace("{passed}", source_tally.passed("live")).replace(
    "{answerable}", source_tally.ANSWERABLE
)

_RATINGS = """
SELECT source, reliability, reason, effective_from, recorded_at FROM source_ratings
ORDER BY source, seq
"""

# Each claimant's earliest claim per (incident, fact), beside the earliest of anyone's.
_FIRSTS = """
WITH live AS (
    SELECT * FROM claims c WHERE 1 {claim}
)
SELECT mine.claimant, mine.incident, mine.fact, mine.first = everyone.first AS was_first
FROM (SELECT claimant, incident, fact, MIN(published_at) AS first
      FROM live GROUP BY claimant, incident, fact) AS mine
JOIN (SELECT incident, fact, MIN(published_at) AS first
      FROM live GROUP BY incident, fact) AS everyone
  ON everyone.incident = mine.incident AND everyone.fact = mine.fact
"""


def source_records(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every source with its grade, rating history and track record (see the module doc)."""
    ratings = _ratings(db)
    statuses = current_statuses(db)
    tally = source_tally.counts(db)
    if tally is None:
        rows, tally = _grouped(db, statuses)
    else:
        tally.contested = source_tally.contested_on(db, statuses, tally.positions)
        rows = _registered(db, tally)
    records = []
    for row in rows:
        source = row["id"]
        made = row["claims_made"]
        answers_for = made + row["relayed"]
        taken = tally.positions.get(source, 0)
        contested = tally.contested.get(source, 0)
        firsts = tally.firsts.get(source, 0)
        records.append(
            {
                "id": source,
                "name": row["name"],
                "name_ar": row["name_ar"],
                "kind": row["kind"],
                "reliability": row["reliability"],
                "ratings": ratings.get(source, []),
                "claims_made": made,
                "relayed": row["relayed"],
                "retracted": row["retracted"],
                "retracted_share": share(row["retracted"], answers_for),
                "corrected": row["corrected"],
                "corrected_share": share(row["corrected"], answers_for),
                "positions": taken,
                "contested": contested,
                "contested_share": share(contested, taken),
                "first_to_report": firsts,
                "first_share": share(firsts, taken),
                "reports_published": row["reports_published"],
            }
        )
    return records


def _grouped(
    db: sqlite3.Connection, statuses: dict[tuple[str, str], str]
) -> tuple[list[dict[str, Any]], Counts]:
    """The counts grouped from every claim, under the desk's rules as they stand now
    (every voiding and approval recorded counts; proposals waiting for review do not):
    the way where the tally is not kept."""
    tally = Counts()
    positions: dict[str, int] = defaultdict(int)
    contested: dict[str, int] = defaultdict(int)
    firsts: dict[str, int] = defaultdict(int)
    claim_clause, end_clause = desk_clauses(db, reviewed_only=True)
    now = {"recorded": END_OF_TIME}
    for claimant, incident, fact, was_first in db.execute(_FIRSTS.format(claim=claim_clause), now):
        positions[claimant] += 1
        contested[claimant] += statuses.get((incident, fact)) == Status.CONTESTED.value
        firsts[claimant] += bool(was_first)
    tally.positions, tally.contested, tally.firsts = positions, contested, firsts
    cursor = db.execute(_SOURCES.format(claim=claim_clause, end=end_clause), now)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor], tally


_REGISTERED = """
SELECT s.id, s.name, s.name_ar, s.kind, s.reliability, COALESCE(p.reports, 0)
FROM sources s LEFT JOIN (SELECT source, COUNT(*) AS reports FROM reports GROUP BY source) p
  ON p.source = s.id
"""


def _registered(db: sqlite3.Connection, tally: Counts) -> list[dict[str, Any]]:
    """Each source's row from the kept tally, by claims made (most first), then id."""
    rows = [
        {
            "id": source,
            "name": name,
            "name_ar": name_ar,
            "kind": kind,
            "reliability": reliability,
            "claims_made": tally.made.get(source, 0),
            "relayed": tally.relayed.get(source, 0),
            "retracted": tally.retracted.get(source, 0),
            "corrected": tally.corrected.get(source, 0),
            "reports_published": reports,
        }
        for source, name, name_ar, kind, reliability, reports in db.execute(_REGISTERED)
    ]
    # UTF-8 byte order (SQLite's) is code point order (Python's).
    rows.sort(key=lambda row: (-row["claims_made"], row["id"]))
    return rows


def share(part: int, whole: int) -> float | None:
    """``part / whole`` to four decimals; ``None`` when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def _ratings(db: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for source, grade, reason, effective_from, recorded_at in db.execute(_RATINGS):
        history[source].append(
            {
                "grade": grade,
                "reason": reason,
                "effective_from": iso(effective_from),
                "recorded_at": iso(recorded_at),
            }
        )
    return history
