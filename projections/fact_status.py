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
from itertools import groupby
from operator import itemgetter

from incident_ledger.ledger.facts import FactRules
from incident_ledger.ledger.times import from_key
from incident_ledger.projections.desk_rules import any_voided
from incident_ledger.projections.kept_up import brought_up, model_position, unmapped
from incident_ledger.projections.positions import (
    END_OF_TIME,
    Position,
    claim_columns,
    rules_from_row,
)
from incident_ledger.projections.understanding import Status, state, status_of

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
    now = model_position(db)
    fresh: dict[str, dict[str, str]] = {}

    def behind() -> tuple[Built] | None:
        """None when the stored statuses are at ``now`` and ``latest``; else where they are."""
        built = db.execute("SELECT position, known FROM fact_status_built").fetchone()
        return None if built is not None and tuple(built) == (now, latest) else (built,)

    def update(late: tuple[Built]) -> None:
        fresh.clear()
        fresh.update(_fresh(db, _changed(db, late[0], latest), latest))
        _store(db, fresh, now, latest, whole=late[0] is None)

    if not brought_up(db, behind, update):
        # The model cannot be written here: the changed incidents are asked, and the
        # stored rows of the others still hold (all incidents are fresh when there were none).
        late = behind()
        fresh = {} if late is None else _fresh(db, _changed(db, late[0], latest), latest)
    rows = db.execute("SELECT incident, fact, status FROM fact_status")
    statuses = {(i, fact): status for i, fact, status in rows if i not in fresh}
    for incident, facts in fresh.items():
        statuses |= {(incident, fact): status for fact, status in facts.items()}
    return statuses


Built = tuple[int, str] | None
"""Where the stored statuses are (``fact_status_built``: position, latest known time);
None before they were first stored."""


EVERY_INCIDENT_FROM = 50
"""Past this many changed incidents, every fact's status is read in one pass over the
claims (``every_status``) rather than from each incident's state."""


def _fresh(db: sqlite3.Connection, changed: list[str], latest: str) -> dict[str, dict[str, str]]:
    """The statuses of the ``changed`` incidents' facts (of every incident, when many)."""
    voided = any_voided(db)
    if len(changed) > EVERY_INCIDENT_FROM and not voided:
        try:
            every = every_status(db, latest)
        except OutOfOrder:
            pass
        else:
            return every | {incident: {} for incident in changed if incident not in every}
    return {incident: _statuses(db, incident, latest) for incident in changed}


def _changed(db: sqlite3.Connection, built: Built, latest: str) -> list[str]:
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
    """Write the incidents' new statuses, in the transaction ``kept_up.brought_up`` holds."""
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


# Every incident's positions at the latest instant, as recorded now: ``positions``'s
# query over all incidents. The claims in each position are picked from the index of
# claims alone (ended claims found once, by row), and only those rows are then read whole;
# ranking whole rows cost four times as much. Rows come in the order of the ranking's
# partitions (incident, fact, claimant), which ``every_status`` checks. The incident
# follows the columns a position reads, without the claimant's name or grade (a status
# needs neither). As recorded now, every claim and end counts; only for a model without
# voided records.
_EVERY_POSITION = f"""
WITH ended AS MATERIALIZED (
    SELECT c.rowid FROM claim_ends e JOIN claims c ON c.id = e.claim
    WHERE e.published_at <= :known
), latest AS (
    SELECT held FROM (
        SELECT rowid AS held, RANK() OVER (
            PARTITION BY incident, fact, claimant ORDER BY published_at DESC
        ) AS rank
        FROM claims WHERE published_at <= :known AND rowid NOT IN ended
    ) WHERE rank = 1
)
SELECT {claim_columns("c")}, NULL, NULL, c.incident
FROM latest CROSS JOIN claims c ON c.rowid = latest.held
"""
_INCIDENT, _FACT, _CLAIMANT = 25, 1, 16
"""Columns of a row of ``_EVERY_POSITION``: the incident (after a position's columns),
the fact and the claimant (``positions``' layout)."""
_EVERY_RULES = """
SELECT incident, key, kind, declared, unit, cumulative, tolerance, choices, version
FROM facts WHERE recorded_at <= :recorded ORDER BY incident, key, version
"""
_EVERY_FACT = "SELECT DISTINCT incident, fact FROM claims WHERE published_at <= :known"


class OutOfOrder(Exception):
    """The positions' rows did not come grouped as ``every_status`` reads them."""


def every_status(db: sqlite3.Connection, latest: str) -> dict[str, dict[str, str]]:
    """Every incident's facts' statuses at ``latest`` as recorded now, read in one pass:
    the same as ``state`` gives (a test holds them equal) without its answers' positions
    and reasons, one fact at a time. Not for a model with voided records (the desk's
    rules are left out). ``OutOfOrder`` if the rows did not come grouped."""
    params = {"known": latest, "recorded": END_OF_TIME}  # now: every fact declaration
    rules: dict[tuple[str, str], tuple[FactRules | None, bool]] = {}
    for incident, key, *columns, version in db.execute(_EVERY_RULES, params):
        rules[(incident, key)] = (rules_from_row(tuple(columns)), version > 1)
    zones = dict(db.execute("SELECT id, timezone FROM incidents").fetchall())
    statuses: dict[str, dict[str, str]] = {}
    for incident, fact in db.execute(_EVERY_FACT, params):
        statuses.setdefault(incident, {})[fact] = Status.WITHDRAWN.value
    with unmapped(db):  # (every claim is read: mapped, the whole model would be resident)
        _every_position(db, params, rules, zones, statuses)
    return statuses


def _every_position(
    db: sqlite3.Connection,
    params: dict[str, str],
    rules: dict[tuple[str, str], tuple[FactRules | None, bool]],
    zones: dict[str, str | None],
    statuses: dict[str, dict[str, str]],
) -> None:
    """``every_status``'s pass over the positions, each fact's status put in ``statuses``."""
    unknown: tuple[FactRules | None, bool] = (None, False)
    last: tuple[str, str] = ("", "")
    rows = db.execute(_EVERY_POSITION, params)
    for (incident, fact), held in groupby(rows, itemgetter(_INCIDENT, _FACT)):
        if (incident, fact) <= last:
            raise OutOfOrder
        last = (incident, fact)
        fact_rules, reread = rules.get((incident, fact), unknown)
        zone = zones.get(incident)
        positions = []
        claimant = ""
        for claimant_now, group in groupby(held, itemgetter(_CLAIMANT)):
            if claimant_now <= claimant:
                raise OutOfOrder
            claimant = claimant_now
            positions.append(Position(list(group), fact_rules, reread, zone))
        statuses[incident][fact] = status_of(positions, fact_rules).value
