"""An incident of the read model looked up by its id: the one check that it exists.

Every query that names an incident asks ``require_incident`` first, so an unknown
id gets the same message everywhere, with the closest ids when some are close.
"""

from __future__ import annotations

import sqlite3
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
    close = get_close_matches(incident, ids, n=3, cutoff=0.6)
    hint = f"; did you mean {_either(close)}?" if close else ""
    return f"no incident '{incident}' in the ledger{hint}"


def _either(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# The records of an incident a desk entry (erratum, review, note) can be about, as the
# entry names them (``record``): the entry concerns the incident through them, as
# ``ledger.incident_chains.concerned`` counts it (its ``incident``, or its ``claim``:
# the claim itself, or the claim of a retraction or assessment). Each entry's record is
# looked up by its id, where a list of the incident's records made for each table cost
# a hot incident a third of this query.
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
_EVENTS_OF = f"""
SELECT seq FROM incidents WHERE id = :incident
UNION SELECT seq FROM facts WHERE incident = :incident
UNION SELECT seq FROM claims WHERE incident = :incident
UNION SELECT e.seq FROM claim_ends e JOIN claims c ON c.id = e.claim WHERE c.incident = :incident
UNION SELECT r.seq FROM retractions r JOIN claims c ON c.id = r.claim WHERE c.incident = :incident
UNION SELECT a.seq FROM assessments a JOIN claims c ON c.id = a.claim WHERE c.incident = :incident
UNION SELECT seq FROM unprojectable WHERE incident = :incident
UNION SELECT seq FROM errata WHERE {_CONCERNS}
UNION SELECT seq FROM reviews WHERE {_CONCERNS}
UNION SELECT seq FROM notes WHERE {_CONCERNS}
UNION SELECT p.seq FROM captures p WHERE p.report IN (
    SELECT report FROM claims WHERE incident = :incident
    UNION SELECT r.report FROM retractions r JOIN claims c ON c.id = r.claim
    WHERE c.incident = :incident)
"""


def events_of_incident(db: sqlite3.Connection, incident: str) -> set[int] | None:
    """Where the events concerning an incident are in the log, as the read model knows
    them (their ``seq``): what an incident bundle reads instead of the whole log, once
    the incident's chain proves them to be all of them (``ledger.bundles``). None when
    the model cannot say (a table it lacks, a position that is not a whole number): the
    bundle then reads the whole log, which needs no model."""
    try:
        rows = db.execute(_EVENTS_OF, {"incident": incident}).fetchall()
    except sqlite3.Error:
        return None
    if any(type(row[0]) is not int for row in rows):
        return None
    return {row[0] for row in rows}
