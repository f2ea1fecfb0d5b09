"""An incident's state now, summed up per fact, kept (``state_summaries``).

``ledger state INCIDENT`` as a table asks for the understanding at this instant, as
recorded now, with each fact held by more than ``LISTED_POSITIONS`` claimants summed up
in one line (``summed``). On a hot incident (200,000 claims, 17,500 positions in force)
working that out costs over half a second, while the answer — thirty rows — changes
only when the incident's records do, or when the clock passes the instant at which one
of its claims or ends becomes known. So the summed-up state is kept per incident and
policy, with the model position it was worked out at (``position``), the instant it was
asked for (``known``) and the first later instant at which one of the incident's claims
or ends becomes known or a source's new grade takes effect (``until``, NULL when none): at
any instant between the two the state is the same (``understanding``: nothing but the
claims, ends and grades in force by T moves it).

Only a ``crowded`` incident's state is kept: a smaller one is worked out in a few
milliseconds. A read takes the kept rows when, since ``position``, the model gained
nothing that can touch the incident (``_touched``): no claim, end or fact of it, nor of
its incident record; no batch of proposals (whose proposer the marks name); and no row of a table
that is not scoped to one incident and that a state reads (sources and their grades,
reviews, errata, members, …: a change there may touch any incident, so it sends every
incident back to be worked out). Tables whose new rows cannot change a state do not:
reports (a state reads an existing report's source only, for the rule that voids what a
source said, and a void is a row of ``voided``), captures, notes, the full-text index and
the tables derived at read time. A hit on a model that moved on without touching the
incident records the model's new position, so the next probe looks only at what came after.

A kept answer is words and decisions made by the code that kept it: each row is keyed by
``kept_as()`` too (a digest of the program's source), so another program never reads it.
Otherwise the state is worked out as ever and kept. Like ``in_force``, the rows derive
from the others; a model that cannot be written serves the rows it holds and keeps no
new ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

import orjson

from incident_ledger.ledger.times import to_key
from incident_ledger.projections.in_force import crowded
from incident_ledger.projections.kept_up import brought_up, model_position
from incident_ledger.projections.policies import Policy
from incident_ledger.projections.positions import iso
from incident_ledger.projections.results import FactState, StateResult
from incident_ledger.projections.words import position_words, positions_summary, sums_up

TABLES = ("state_summaries",)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state_summaries (incident TEXT, policy TEXT, position INTEGER, "
    "known TEXT, until TEXT, facts BLOB, PRIMARY KEY (incident, policy))",
)


@cache
def kept_as() -> str:
    """Which program keeps a row: a digest of the write and read sides' source files, so
    that any change to how a state is worked out or worded, released or not, leaves the
    rows an earlier program kept unread (about 3 ms, once a process, on this path only)."""
    import hashlib

    from incident_ledger import ledger, projections

    digest = hashlib.sha256()
    for package in (ledger, projections):
        root = Path(str(package.__file__)).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_SCOPED = {
    "claims": "SELECT 1 FROM claims WHERE seq > :since AND +incident = :incident",
    "claim_ends": "SELECT 1 FROM claim_ends e CROSS JOIN claims c ON c.id = e.claim "
    "WHERE e.seq > :since AND c.incident = :incident",
    "retractions": "SELECT 1 FROM retractions r CROSS JOIN claims c ON c.id = r.claim "
    "WHERE r.seq > :since AND c.incident = :incident",
    "facts": "SELECT 1 FROM facts WHERE seq > :since AND incident = :incident",
    "incidents": "SELECT 1 FROM incidents WHERE seq > :since AND id = :incident",
    "batches": "SELECT 1 FROM batches WHERE seq > :since AND proposed",
}
"""The tables whose rows belong to one incident: a row of another incident leaves it be.
The rows after ``:since`` are looked for first (a claim's seq is its rowid), not the
incident's, of which a hot one has hundreds of thousands."""

_UNREAD = frozenset(
    {
        "reports",
        "captures",
        "notes",
        "unprojectable",
        "assessments",
        "search_index",
    }
)
"""Tables with a ``seq`` whose new rows no state reads (the module's docstring says why
for reports); any other table with a ``seq``, one added later included, is probed."""

_UNTIL = """
SELECT MIN(at) FROM (
    SELECT MIN(published_at) AS at FROM claims
    WHERE incident = :incident AND published_at > :known
    UNION ALL
    SELECT MIN(e.published_at) FROM claim_ends e JOIN claims c ON c.id = e.claim
    WHERE c.incident = :incident AND e.published_at > :known
    UNION ALL
    SELECT MIN(effective_from) FROM source_ratings WHERE effective_from > :known
)
"""
"""The first instant after ``:known`` at which the incident's state may differ: one of its
claims or ends becomes known, or a source's grade takes effect (``grade_in_force``)."""


def summed(fact: FactState) -> FactState:
    """A fact as a table shows it: past ``LISTED_POSITIONS`` positions, these are summed up
    in ``summed`` (``340 positions; most held: 20 (96), …; 12 other values; 3 proposed``)
    and left out, with the words of each in its reason; else the fact as it is."""
    positions = fact["positions"]
    if not sums_up(positions):
        return fact
    # The reason already put each position in words: a hot fact's hundreds, once.
    why = fact["why"].get("positions")
    says = [w["says"] for w in why] if why else [position_words(p) for p in positions]
    proposed = sum(1 for p in positions if "review" in p)
    line = positions_summary(says) + (f"; {proposed} proposed" if proposed else "")
    return cast(
        FactState,
        {**fact, "positions": [], "why": {**fact["why"], "positions": []}, "summed": line},
    )


def summed_state(result: StateResult) -> StateResult:
    """A state with each of its facts ``summed``."""
    result["facts"] = {name: summed(fact) for name, fact in result["facts"].items()}
    return result


def summed_now(
    db: sqlite3.Connection,
    incident: str,
    policy: Policy,
    known_at: datetime,
    work: Callable[[], StateResult],
) -> StateResult:
    """The incident's state at ``known_at`` as recorded now under ``policy``, summed up:
    the kept one when it still holds, else ``work()`` (that state, worked out and marked)
    summed up and kept for the next question."""
    if not crowded(db, incident):
        return summed_state(work())  # worked out in a few milliseconds: not worth keeping
    known, key = to_key(known_at), f"{policy.value}@{kept_as()}"
    facts = _kept(db, incident, key, known)
    if facts is not None:
        return {
            "incident": incident,
            "known_at": iso(known),
            "recorded_at": None,
            "policy": policy.value,
            "facts": facts,
        }
    before = model_position(db)
    result = summed_state(work())
    if not db.in_transaction and model_position(db) == before:
        _keep(db, (incident, key, before, known), result["facts"])
    return result


def _kept(
    db: sqlite3.Connection, incident: str, policy: str, known: str
) -> dict[str, FactState] | None:
    """The incident's kept facts when they hold at the instant ``known`` (a storage key);
    the row then takes the model's position, when it moved on, for the next probe."""
    row = db.execute(
        "SELECT position, known, until, facts FROM state_summaries "
        "WHERE incident = ? AND policy = ?",
        (incident, policy),
    ).fetchone()
    if row is None:
        return None
    position, since, until, facts = row
    if not since <= known or (until is not None and known >= until):
        return None
    now = model_position(db)
    if _touched(db, incident, int(position)):
        return None
    if now > position and not db.in_transaction:
        _written_if(
            db,
            lambda: model_position(db) == now,  # nothing came since the probe
            (_ADVANCE, (now, incident, policy, position)),
        )
    return cast(dict[str, FactState], orjson.loads(facts))


def _keep(
    db: sqlite3.Connection, key: tuple[str, str, int, str], facts: dict[str, FactState]
) -> None:
    """Keep the facts worked out at ``key`` (incident, policy, position, known), with the
    instant they stop holding at, unless the model moved meanwhile or cannot be written."""
    incident, policy, position, known = key
    until = db.execute(_UNTIL, {"incident": incident, "known": known}).fetchone()[0]
    _written_if(
        db,
        lambda: model_position(db) == position,  # the model stood still since it was worked out
        # What another program kept under this policy goes with it (``kept_as``).
        (
            "DELETE FROM state_summaries WHERE incident = ? AND policy LIKE ?",
            (incident, policy.split("@")[0] + "@%"),
        ),
        (
            "INSERT INTO state_summaries VALUES (?, ?, ?, ?, ?, ?)",
            (*key, until, orjson.dumps(facts)),
        ),
    )


def _written_if(
    db: sqlite3.Connection, still: Callable[[], bool], *writes: tuple[str, tuple[Any, ...]]
) -> None:
    """Make the ``writes`` under the write lock when ``still()`` holds there (asked again
    once the lock is held); nothing where this process cannot write (``kept_up``)."""

    def write(_: bool) -> None:
        for sql, params in writes:
            db.execute(sql, params)

    brought_up(db, lambda: True if still() else None, write)


_ADVANCE = (
    "UPDATE state_summaries SET position = ? WHERE incident = ? AND policy = ? AND position = ?"
)


def _touched(db: sqlite3.Connection, incident: str, since: int) -> bool:
    """Whether the model gained, after position ``since``, a row that may touch the
    incident's state."""
    params: dict[str, Any] = {"incident": incident, "since": since}
    return db.execute(_touching(db), params).fetchone() is not None


@cache
def _touching_for(tables: tuple[str, ...]) -> str:
    probes = [_SCOPED.get(table, f"SELECT 1 FROM [{table}] WHERE seq > :since") for table in tables]
    return " UNION ALL ".join(f"SELECT * FROM ({probe} LIMIT 1)" for probe in probes) + " LIMIT 1"


def _touching(db: sqlite3.Connection) -> str:
    """One query probing every table a state may read for a row after ``:since`` that may
    touch ``:incident``: the tables are those of the model with a ``seq``, read from its
    schema, so a table added later touches every incident until it is said not to."""
    names = db.execute(_WITH_SEQ).fetchall()
    return _touching_for(tuple(name for (name,) in names if name not in _UNREAD))


_WITH_SEQ = """
SELECT m.name FROM sqlite_master m
WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'seq')
ORDER BY m.name
"""
