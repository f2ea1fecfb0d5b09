"""Where the timeline places a claim, in SQL: the read model's index in that order.

A claim is placed by the earliest instant it speaks of (``projections.timeline``): a
time-valued claim by its value's bounds, any other by its ``valid_time``'s; an open
start (``/…``) by its end. ``PLACED`` is that instant (NULL: the claim is undated) and
``UNTIL`` the latest one (``~``, after every instant, when open), both as SQL
expressions over a claim's columns. The index ``TIMELINE_INDEX`` keeps an incident's
dated claims in timeline order — placed, until, published, id — so a timeline is read
in order as it is written, its first page before its last claim is read, instead of
reading every claim of the incident and sorting them.

SQLite uses an index on expressions only for the same expressions: the query and the
index are made from the one text here.
"""

from __future__ import annotations

_PLACED = (
    "(CASE WHEN {c}kind = 'time' THEN CASE WHEN substr({c}value, 1, 2) = '\"/' "
    "THEN {c}time_high ELSE coalesce({c}time_low, {c}time_high) END "
    "WHEN {c}valid_time <> '' THEN CASE WHEN substr({c}valid_time, 1, 1) = '/' "
    "THEN {c}valid_to ELSE coalesce({c}valid_from, {c}valid_to) END END)"
)
_UNTIL = (
    "(CASE WHEN {c}kind = 'time' THEN coalesce({c}time_high, '~') "
    "ELSE coalesce({c}valid_to, '~') END)"
)


def placed(alias: str = "") -> str:
    """SQL: the instant that places a claim (``alias``: its table's, such as ``c``)."""
    return _PLACED.replace("{c}", f"{alias}." if alias else "")


def until(alias: str = "") -> str:
    """SQL: the latest instant a dated claim speaks of, ``~`` when open."""
    return _UNTIL.replace("{c}", f"{alias}." if alias else "")


def order(alias: str) -> str:
    """SQL: the timeline's order of an incident's dated claims, the index's."""
    return f"{placed(alias)}, {until(alias)}, {alias}.published_at, {alias}.id"


TIMELINE_INDEX = "idx_claims_timeline"
INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {TIMELINE_INDEX} ON claims "
    f"(incident, {placed()}, {until()}, published_at, id) WHERE {placed()} IS NOT NULL"
)
"""Only dated claims are in it (a tenth to a quarter of a ledger's)."""
