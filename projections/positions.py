"""Positions at a point in time: each claimant's claims at its latest known instant,
read together, per fact of an incident.

One indexed query returns the active claims of an incident at T as recorded by R
that are at their claimant's latest known instant for the fact (``RANK``, so that
claims published at the same instant — one report, or two of the same moment —
all count). :class:`Position` reads them as one: their intervals' intersection when
it is not empty, else their hull, marked inconsistent; a text fact's set of values.
Each claim is read as the fact's rules in force at R say (``ledger.facts``): the
read model stores readings made with the latest rules, so they are read again only
for a quantity (whose exact bounds a float column cannot hold) or when the fact was
declared anew after R.

Just over 400 lines: the query, the row layout and the reading of rows as positions
change together.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

import orjson

from incident_ledger.ledger.facts import FactKind, FactRules, read_claim
from incident_ledger.projections import agreement
from incident_ledger.projections.agreement import Interval
from incident_ledger.projections.results import Bounds, PositionResult

END_OF_TIME = "9999-12-31T23:59:59.999999Z"


def grade_in_force(source: str) -> str:
    """SQL for a source's Admiralty grade in force at known time :known as recorded by :recorded.

    The latest rating effective by T and recorded by R; the grade given at
    registration is effective from the start. ``source`` is the SQL naming the
    source id. Shared by the understanding and the exports, so the rule is
    written once.
    """
    return f"""(
    SELECT r.reliability FROM source_ratings r
    WHERE r.source = {source}
      AND (r.effective_from IS NULL OR r.effective_from <= :known)
      AND r.recorded_at <= :recorded
    ORDER BY COALESCE(r.effective_from, '') DESC, r.seq DESC LIMIT 1
)"""


def iso(key: str | None) -> str | None:
    """A stored instant as ISO 8601, without a zero fraction."""
    if key is None:
        return None
    return key.replace(".000000Z", "Z")


def shown(bound: Any) -> Any:
    """A bound as JSON shows it: instants as ISO, exact decimals as strings (never floats),
    whole numbers as numbers."""
    if isinstance(bound, str):
        return iso(bound)
    if isinstance(bound, Decimal):
        return int(bound) if bound == bound.to_integral_value() else str(bound.normalize())
    return bound


def rules_from_row(row: tuple[Any, ...]) -> FactRules:
    """A fact's rules from a ``facts`` row (kind, declared, unit, cumulative, tolerance,
    choices)."""
    kind, declared, unit, cumulative, tolerance, choices = row
    fields = {
        "kind": kind,
        "unit": unit,
        "cumulative": bool(cumulative),
        "tolerance": None if tolerance is None else orjson.loads(tolerance),
        "choices": None if choices is None else orjson.loads(choices),
    }
    return FactRules.from_fields(fields, declared=bool(declared))


_POSITIONS = """
WITH active AS (
    SELECT c.* FROM claims c
    WHERE c.incident = :incident
      AND c.published_at <= :known AND c.recorded_at <= :recorded{desk_claim}
      AND NOT EXISTS (
          SELECT 1 FROM claim_ends e
          WHERE e.claim = c.id AND e.published_at <= :known AND e.recorded_at <= :recorded{desk_end}
      )
), ranked AS (
    SELECT active.*, RANK() OVER (
        PARTITION BY fact, claimant ORDER BY published_at DESC
    ) AS rank
    FROM active
)
SELECT {columns}, s.name AS claimant_name, {grade} AS claimant_reliability
FROM ranked LEFT JOIN sources s ON s.id = ranked.claimant
WHERE rank = 1
ORDER BY ranked.fact, ranked.published_at, ranked.claimant, ranked.id
"""

# The columns a claim row reads, in the order _POSITIONS selects them: each row is
# read as a plain tuple by these indexes (building a dict per row and looking
# fields up in it cost about a sixth of a query's CPU at a million claims).
_COLUMNS = [
    "id",
    "fact",
    "kind",
    "value",
    "qualifier",
    "unit",
    "num_low",
    "num_high",
    "time_low",
    "time_high",
    "text_value",
    "approximate",
    "valid_time",
    "valid_to",
    "report",
    "source",
    "claimant",
    "via",
    "quote",
    "translation",
    "corrects",
    "published_at",
    "recorded_at",
    "claimant_name",
    "claimant_reliability",
]
(
    _ID,
    _FACT,
    _KIND,
    _VALUE,
    _QUALIFIER,
    _UNIT,
    _NUM_LOW,
    _NUM_HIGH,
    _TIME_LOW,
    _TIME_HIGH,
    _TEXT_VALUE,
    _APPROXIMATE,
    _VALID_TIME,
    _VALID_TO,
    _REPORT,
    _SOURCE,
    _CLAIMANT,
    _VIA,
    _QUOTE,
    _TRANSLATION,
    _CORRECTS,
    _PUBLISHED_AT,
    _RECORDED_AT,
    _CLAIMANT_NAME,
    _CLAIMANT_RELIABILITY,
) = range(len(_COLUMNS))

_FACT_VERSIONS = """
SELECT key, kind, declared, unit, cumulative, tolerance, choices, version FROM facts
WHERE incident = :incident AND recorded_at <= :recorded ORDER BY key, version
"""


def claim_columns(alias: str) -> str:
    """The claim columns a position's row starts with, read from table ``alias``."""
    return ", ".join(f"{alias}.{name}" for name in _COLUMNS[:_CLAIMANT_NAME])


def positions_query(desk: tuple[str, str] = ("", "")) -> str:
    """The positions query with its columns, the grade in force and the desk's rules
    (``desk_rules.desk_clauses``) filled in."""
    return (
        _POSITIONS.replace("{columns}", claim_columns("ranked"))
        .replace("{grade}", grade_in_force("ranked.claimant"))
        .replace("{desk_claim}", desk[0])
        .replace("{desk_end}", desk[1])
    )


_QUERY: dict[tuple[str, str], str] = {}
_POSITION_KEY = itemgetter(_FACT, _CLAIMANT)


def fact_rules(
    db: sqlite3.Connection, params: dict[str, str]
) -> dict[str, tuple[FactRules | None, bool]]:
    """Each fact's rules as recorded by R, and whether its claims must be read again
    with them: the read model reads every claim with its fact's first rules (which
    never change), so a fact declared anew by R has its claims read again."""
    found: dict[str, tuple[FactRules | None, bool]] = {}
    for key, *columns, version in db.execute(_FACT_VERSIONS, params):
        found[key] = (rules_from_row(tuple(columns)), version > 1)
    return found


def positions_at(
    db: sqlite3.Connection,
    params: dict[str, str],
    rules: dict[str, tuple[FactRules | None, bool]],
    zone: str | None,
    desk: tuple[str, str] = ("", ""),
    stored: str | None = None,
) -> dict[str, list[Position]]:
    """Each fact's positions at T as recorded by R, ordered by known time and claimant;
    ``desk``: the clauses of the desk's rules (``desk_rules.desk_clauses``); ``stored``:
    a query giving the same rows from stored positions (``in_force``), used instead."""
    query = stored or _QUERY.get(desk)
    if query is None:
        query = _QUERY[desk] = positions_query(desk)
    # The query orders rows by fact, known time, claimant and id, and a claimant's rows
    # of one fact all share its latest known time: each position's rows are adjacent,
    # and the positions of a fact come in the order they are listed.
    by_fact: dict[str, list[Position]] = {}
    unknown: tuple[FactRules | None, bool] = (None, False)
    for (fact, _), group in groupby(db.execute(query, params), _POSITION_KEY):
        fact_rules_at, changed = rules.get(fact, unknown)
        position = Position(list(group), fact_rules_at, changed, zone)
        listed = by_fact.get(fact)
        if listed is None:
            by_fact[fact] = [position]
        else:
            listed.append(position)
    return by_fact


class Claim:
    """One claim of a position, read for comparison."""

    __slots__ = ("high", "kind", "low", "row", "text", "value")
    low: Any  # an int or Decimal (numbers), a storage key (times), None (unbounded or text)
    high: Any

    def __init__(
        self, row: tuple[Any, ...], rules: FactRules | None, reread: bool, zone: str | None
    ) -> None:
        self.row = row
        self.value = orjson.loads(row[_VALUE])
        if reread or (rules is not None and rules.kind is FactKind.QUANTITY):
            read = read_claim(self.value, row[_QUALIFIER], rules, zone)
            self.kind = read.kind.value
            self.low, self.high, self.text = read.low, read.high, read.text
            return
        self.kind = str(row[_KIND])
        if self.kind == "number":
            self.low, self.high, self.text = row[_NUM_LOW], row[_NUM_HIGH], None
        elif self.kind == "time":
            self.low, self.high, self.text = row[_TIME_LOW], row[_TIME_HIGH], None
        else:
            self.low = self.high = None
            self.text = row[_TEXT_VALUE]

    @property
    def width(self) -> tuple[bool, Any]:
        """How much the claim leaves open (narrowest first), for picking the one shown."""
        low, high = self.low, self.high
        if low is None or high is None:
            return (True, 0)
        if isinstance(low, str) and isinstance(high, str):
            # Storage keys are ISO instants: fromisoformat reads them far faster than strptime.
            return (False, datetime.fromisoformat(high) - datetime.fromisoformat(low))
        return (False, high - low)


class Position:
    """One claimant's current claims on one fact, read as one.

    ``interval`` (numbers, times) or ``texts`` (text, choices, booleans, places) is
    what the claimant holds; ``inconsistent`` says its claims at that instant
    contradict each other (the interval is then their hull, the texts all of them).
    ``shown`` is the claim that best states it (the narrowest, then the smallest id).
    """

    __slots__ = (
        "_listed",
        "as_of",
        "claims",
        "inconsistent",
        "interval",
        "kind",
        "rules",
        "shown",
        "texts",
    )

    def __init__(
        self,
        rows: list[tuple[Any, ...]],
        rules: FactRules | None,
        reread: bool,
        zone: str | None,
    ) -> None:
        self.rules = rules
        self._listed: PositionResult | None = None
        self.interval = Interval(None, None)
        self.texts: frozenset[str] = frozenset()
        self.inconsistent = False
        if len(rows) == 1:  # most positions: one claim, read as it is
            only = Claim(rows[0], rules, reread, zone)
            self.claims = [only]
            self.kind = kind = only.kind
            self.shown = only
            if kind in {"number", "time"}:
                self.interval = Interval(only.low, only.high)
            else:
                self.texts = frozenset((str(only.text),))
            self.as_of = only.row[_VALID_TO] or only.row[_PUBLISHED_AT]
            return
        claims = sorted((Claim(row, rules, reread, zone) for row in rows), key=lambda c: c.row[_ID])
        self.claims = claims
        kinds = {c.kind for c in claims}
        self.kind = kinds.pop() if len(kinds) == 1 else "mixed"
        if self.kind in ("number", "time"):
            combined, self.inconsistent = agreement.combine(
                [Interval(c.low, c.high) for c in claims]
            )
            self.interval = combined
            self.shown = min(claims, key=lambda c: (c.width, c.row[_ID]))
        else:
            self.texts = frozenset(str(c.text) for c in claims)
            self.inconsistent = len(self.texts) > 1 or self.kind == "mixed"
            self.shown = claims[0]
        # The as-of instant of a cumulative fact's position: the latest instant its
        # claims speak of (their valid time, else their report's known time).
        self.as_of = max(c.row[_VALID_TO] or c.row[_PUBLISHED_AT] for c in claims)

    @property
    def claimant(self) -> str:
        return str(self.shown.row[_CLAIMANT])

    @property
    def claim(self) -> str:
        return str(self.shown.row[_ID])

    @property
    def published(self) -> str:
        return str(self.shown.row[_PUBLISHED_AT])

    @property
    def order(self) -> tuple[str, str]:
        """Known time, then claimant: how positions are listed and "latest" is decided."""
        return (self.published, self.claimant)

    @property
    def reliability(self) -> str | None:
        grade = self.shown.row[_CLAIMANT_RELIABILITY]
        return None if grade is None else str(grade)

    @property
    def values(self) -> list[Any]:
        """The values of its claims as shown (a choice as its declared value)."""
        return [self._value_of(c) for c in self.claims]

    def _value_of(self, claim: Claim) -> Any:
        rules = self.rules
        if rules is not None and rules.kind is FactKind.CHOICE and isinstance(claim.value, str):
            return rules.choice_of(claim.value) or claim.value
        return claim.value

    def shown_value(self) -> Any:
        """The position's value as a policy gives it: its interval, or its text."""
        if self.kind in ("number", "time"):
            return self.interval_json()
        return self._value_of(self.shown)

    def interval_json(self) -> Bounds:
        return {"min": shown(self.interval.low), "max": shown(self.interval.high)}

    def via(self) -> list[str]:
        relays = self.shown.row[_VIA]
        return list(orjson.loads(relays)) if relays else []

    def outlet(self) -> str | None:
        source = self.shown.row[_SOURCE]
        return None if source is None else str(source)

    def as_json(self, cumulative: bool = False) -> PositionResult:
        """The position as ``state --json`` lists it: made once (a history lists the same
        position at every step it holds; callers never change it)."""
        listed = self._listed
        if listed is None or ("as_of" in listed) != cumulative:
            listed = self._listed = self._as_json(cumulative)
        return listed

    def _as_json(self, cumulative: bool) -> PositionResult:
        row = self.shown.row
        kind = self.kind
        value = self._value_of(self.shown)
        out: dict[str, Any] = {
            "claim": row[_ID],
            "claimant": row[_CLAIMANT],
            "value": value,
            "qualifier": row[_QUALIFIER] or ("exact" if kind == "number" else None),
            "report": row[_REPORT],
            "published_at": iso(row[_PUBLISHED_AT]),
            "recorded_at": iso(row[_RECORDED_AT]),
        }
        if kind in ("number", "time"):
            out["interval"] = self.interval_json()
        if value != self.shown.value:
            out["reported"] = self.shown.value
        if cumulative:
            out["as_of"] = iso(self.as_of)
        if len(self.claims) > 1:
            out["claims"] = [c.row[_ID] for c in self.claims]
            out["combined"] = [self._combined(c) for c in self.claims]
        if self.inconsistent:
            out["inconsistent_within_report"] = True
        # Optional fields, in this order, only when set.
        if row[_CLAIMANT_NAME] is not None:
            out["claimant_name"] = row[_CLAIMANT_NAME]
        if row[_CLAIMANT_RELIABILITY] is not None:
            out["reliability"] = row[_CLAIMANT_RELIABILITY]
        source = row[_SOURCE]
        if source is not None and source != row[_CLAIMANT]:
            out["source"] = source
        if row[_VIA]:
            out["via"] = orjson.loads(row[_VIA])
        if row[_UNIT] is not None:
            out["unit"] = row[_UNIT]
        if row[_VALID_TIME] is not None:
            out["valid_time"] = row[_VALID_TIME]
        if row[_APPROXIMATE]:
            out["approximate"] = True
        for key, column in _LAST_OPTIONAL:
            if row[column] is not None:
                out[key] = row[column]
        return cast(PositionResult, out)

    def _combined(self, claim: Claim) -> dict[str, Any]:
        row = claim.row
        out: dict[str, Any] = {
            "claim": row[_ID],
            "value": self._value_of(claim),
            "qualifier": row[_QUALIFIER] or ("exact" if claim.kind == "number" else None),
            "report": row[_REPORT],
            "published_at": iso(row[_PUBLISHED_AT]),
        }
        if claim.kind in ("number", "time"):
            out["interval"] = {"min": shown(claim.low), "max": shown(claim.high)}
        if row[_VALID_TIME] is not None:
            out["valid_time"] = row[_VALID_TIME]
        # Who passed it on, as the position says of its shown claim (``results.relays_of``).
        if row[_SOURCE] is not None and row[_SOURCE] != row[_CLAIMANT]:
            out["source"] = row[_SOURCE]
        if row[_VIA]:
            out["via"] = orjson.loads(row[_VIA])
        return out


_LAST_OPTIONAL = (("corrects", _CORRECTS), ("quote", _QUOTE), ("translation", _TRANSLATION))
