"""An incident of the read model looked up by its id: the one check that it exists.

Every query that names an incident asks ``require_incident`` first, so an unknown
id gets the same message everywhere, with the closest ids when some are close.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from difflib import get_close_matches

from incident_ledger.ledger.errors import NotFoundError


def require_incident(db: sqlite3.Connection, incident: str) -> str | None:
    """An incident's time zone (None: UTC); ``NotFoundError`` naming the closest ids when
    the read model has no such incident."""
    row = db.execute("SELECT timezone FROM incidents WHERE id = ?", (incident,)).fetchone()
    if row is None:
        raise NotFoundError(unknown_incident(db, incident))
    return None if row[0] is None else str(row[0])


def unknown_incident(db: sqlite3.Connection, incident: str) -> str:
    """``no incident 'x' in the ledger``, with the closest ids when some are close."""
    ids = [row[0] for row in db.execute("SELECT id FROM incidents")]
    return f"no incident '{incident}' in the ledger{did_you_mean(incident, ids)}"


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """``; did you mean 'a', 'b' or 'c'?`` naming the (at most three) of ``names`` closest
    to ``name``, letter case aside (``INC-E`` finds ``inc-e``), or ``""`` when none is close."""
    folded: dict[str, list[str]] = {}
    for candidate in names:
        folded.setdefault(candidate.casefold(), []).append(candidate)
    close = get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
    quoted = [f"'{found}'" for key in close for found in folded[key]][:3]
    if not quoted:
        return ""
    either = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {either}?"


# The records of an incident a desk entry (erratum, review, note) can be about, as the
# entry names them (``record``): the entry concerns the incident through them, as
# ``ledger.incident_chains.concerned`` counts it (its ``incident``, or its ``claim``:
# the claim itself, or the claim of a retraction or assessment). Each entry's record is
# looked up by its id, where a list of the incident's records made for each table cost
# a hot incident a third of this query. A capture is of the incident when one of its claims
# or retractions cites its report: asked of each capture (through the index on the claims'
# reports, and the incident's retractions listed once), so that an incident of 196,000
# claims and no captures costs nothing here, where listing the reports of its claims first
# cost 1.7 s.
_CONCERNS = """(
    record = 'incident:' || :incident
    OR (substr(record, 1, 6) = 'claim:' AND EXISTS (
        SELECT 1 FROM claims c WHERE c.id = substr(record, 7) AND c.incident = :incident))
    OR (substr(record, 1, 11) = 'retraction:' AND EXISTS (
        SELECT 1 FROM retractions r JOIN claims c ON c.id = r.claim
        WHERE r.id = substr(record, 12) AND c.incident = :incident))
    OR (substr(record, 1, 11) = 'assessment:' AND EXISTS (
        SELECT 1 FROM assessments a JOIN claims c ON c.id = a.claim
        WHERE a.id = substr(record, 12) AND c.incident = :incident))
)"""
_OWN = """
SELECT seq FROM incidents WHERE id = :incident
UNION ALL SELECT seq FROM facts WHERE incident = :incident
UNION ALL SELECT seq FROM unprojectable WHERE incident = :incident
"""
_ENTRIES = f"""
SELECT seq FROM errata WHERE {_CONCERNS}
UNION ALL SELECT seq FROM reviews WHERE {_CONCERNS}
UNION ALL SELECT seq FROM notes WHERE {_CONCERNS}
UNION ALL SELECT p.seq FROM captures p WHERE EXISTS (
    SELECT 1 FROM claims c WHERE c.report = p.report AND c.incident = :incident)
    OR p.report IN (SELECT r.report FROM retractions r CROSS JOIN claims c ON c.id = r.claim
    WHERE c.incident = :incident)
"""
# The events of the incident's claims and of what ends or assesses them, each read one of
# two ways (``claim_events``): through the index on the incident's claims, or, when the
# incident holds a large share of the ledger's claims, by one pass over the table, which
# reads its pages in order instead of one page per claim. At 1M events, for an incident of
# 196,000 of the 980,000 claims: 0.56 s through the index, 0.20 s by the pass; each table
# of ends joined from the incident's claims, 0.5-0.85 s; from the ends, 0.09-0.21 s.
_CLAIMS = {
    "indexed": "SELECT seq FROM claims WHERE incident = :incident",
    "passed": "SELECT seq FROM claims NOT INDEXED WHERE incident = :incident",
}
_ENDS = ("claim_ends", "retractions", "assessments")
_ENDS_OF = {
    # From the incident's claims to their ends (few claims), or from every end to its
    # claim (an incident holding more claims than the table holds ends).
    "indexed": "SELECT t.seq FROM claims c JOIN {table} t ON t.claim = c.id "
    "WHERE c.incident = :incident",
    "passed": "SELECT t.seq FROM {table} t CROSS JOIN claims c ON c.id = t.claim "
    "WHERE c.incident = :incident",
}
PASSED_WHEN = {"claims": 10, "ends": 1}
"""A table is read by a pass when the incident's claims, times this, outnumber its rows:
an incident holding more than a tenth of the claims, or more claims than a table of ends
holds rows."""


def claim_events(db: sqlite3.Connection, incident: str) -> list[tuple[object]]:
    """The positions of the incident's claims and of their ends and assessments, each
    table read the cheaper way for an incident of its size (``_CLAIMS``, ``_ENDS_OF``)."""
    asked = {"incident": incident}
    (held,) = db.execute("SELECT count(*) FROM claims WHERE incident = :incident", asked).fetchone()
    (claims,) = db.execute("SELECT count(*) FROM claims").fetchone()
    way = "passed" if held * PASSED_WHEN["claims"] > claims else "indexed"
    rows = db.execute(_CLAIMS[way], asked).fetchall()
    for table in _ENDS:
        (ends,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        way = "passed" if held * PASSED_WHEN["ends"] > ends else "indexed"
        rows += db.execute(_ENDS_OF[way].format(table=table), asked).fetchall()
    return rows


def events_of_incident(db: sqlite3.Connection, incident: str) -> set[int] | None:
    """Where the events concerning an incident are in the log, as the read model knows
    them (their ``seq``): what an incident bundle reads instead of the whole log, once
    the incident's chain proves them to be all of them (``ledger.bundles``). None when
    the model cannot say (a table it lacks, a position that is not a whole number): the
    bundle then reads the whole log, which needs no model."""
    try:
        rows = db.execute(_OWN, {"incident": incident}).fetchall()
        rows += claim_events(db, incident)
        rows += db.execute(_ENTRIES, {"incident": incident}).fetchall()
    except sqlite3.Error:
        return None
    if any(type(row[0]) is not int for row in rows):
        return None
    return {row[0] for row in rows}
