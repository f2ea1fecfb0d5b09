"""Each fact's status in its incident's current state, stored (``fact_status``).

The current state is :func:`understanding.state` known at the latest ``published_at`` of
any report, as recorded now: what ``sources`` counts contested facts by. Asking it of every
incident at every ``sources`` cost seconds on a large ledger; the statuses are kept instead,
and a read brings them up to date (``current_statuses``) by asking ``state`` again only of
the incidents that changed since: those with a claim, an end, a fact declaration or a void
after the statuses' position, and — when the latest report's instant moved — those with a
claim or an end published between the old instant and the new. ``fact_status_built`` holds
that position and instant. Like ``in_force``, the rows derive from other tables; a model
that cannot be written is answered by asking every incident, as before.
"""

from __future__ import annotations

import sqlite3

from incident_ledger.ledger.times import from_key
from incident_ledger.projections.understanding import state

_CHANGED = """
SELECT incident FROM claims WHERE seq > :since
UNION SELECT c.incident FROM claim_ends e JOIN claims c ON c.id = e.claim WHERE e.seq > :since
UNION SELECT incident FROM facts WHERE seq > :since
UNION SELECT c.incident FROM claims c
WHERE c.published_at > :low AND c.published_at <= :high
UNION SELECT c.incident FROM claim_ends e JOIN claims c ON c.id = e.claim
WHERE e.published_at > :low AND e.published_at <= :high
"""


def current_statuses(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every (incident, fact)'s status in its incident's current state."""
    latest = db.execute("SELECT MAX(published_at) FROM reports").fetchone()[0]
    if latest is None:
        return {}
    tracked = db.execute("SELECT position FROM tracking WHERE projection = 'understanding'")
    now = int(tracked.fetchone()[0])
    built = db.execute("SELECT position, known FROM fact_status_built").fetchone()
    fresh: dict[str, dict[str, str]] = {}
    if built is None or tuple(built) != (now, latest):
        changed = _changed(db, built, latest)
        fresh = {incident: _statuses(db, incident, latest) for incident in changed}
        # Where the model cannot be written, the stored rows of the other incidents
        # still hold (all incidents are fresh when there were none).
        _store(db, fresh, now, latest, whole=built is None)
    rows = db.execute("SELECT incident, fact, status FROM fact_status")
    statuses = {(i, fact): status for i, fact, status in rows if i not in fresh}
    for incident, facts in fresh.items():
        statuses |= {(incident, fact): status for fact, status in facts.items()}
    return statuses


def _changed(db: sqlite3.Connection, built: tuple[int, str] | None, latest: str) -> list[str]:
    incidents = [row[0] for row in db.execute("SELECT id FROM incidents ORDER BY id")]
    if built is None:
        return incidents
    since, known = built
    if db.execute("SELECT 1 FROM voided WHERE seq > ? LIMIT 1", (since,)).fetchone():
        return incidents  # a void may concern any incident's claims: rare enough to redo all
    low, high = sorted((known, latest))
    params = {"since": since, "low": low, "high": high}
    changed = {row[0] for row in db.execute(_CHANGED, params)}
    return [incident for incident in incidents if incident in changed]


def _statuses(db: sqlite3.Connection, incident: str, latest: str) -> dict[str, str]:
    facts = state(db, incident, from_key(latest))["facts"]
    return {fact: view["status"] for fact, view in facts.items()}


def _store(
    db: sqlite3.Connection,
    fresh: dict[str, dict[str, str]],
    now: int,
    latest: str,
    *,
    whole: bool,
) -> None:
    """Write the incidents' new statuses, where the model can be written."""
    if db.in_transaction:
        return
    try:
        db.execute("BEGIN IMMEDIATE")
        if whole:
            db.execute("DELETE FROM fact_status")
        for incident, statuses in fresh.items():
            db.execute("DELETE FROM fact_status WHERE incident = ?", (incident,))
            db.executemany(
                "INSERT INTO fact_status VALUES (?, ?, ?)",
                ((incident, fact, status) for fact, status in statuses.items()),
            )
        db.execute("DELETE FROM fact_status_built")
        db.execute("INSERT INTO fact_status_built VALUES (?, ?)", (now, latest))
        db.execute("COMMIT")
    except sqlite3.OperationalError:
        if db.in_transaction:
            db.execute("ROLLBACK")
