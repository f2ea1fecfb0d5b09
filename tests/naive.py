"""A deliberately naive model of the rules of understanding (docs/understanding.md) and
of fact kinds (docs/import-format.md, "Facts and their kinds").

It folds over the raw records, filtering by (T, R), with its own reading of kinds,
qualifiers, tolerances, dates in time zones, positions and agreement; it shares no
code with the product's rules. The product's indexed read model must agree with it.
It lives in the tests only, and reads only the value forms the property tests write:
counts, decimals (as strings), ranges, booleans, text, and EDTF days, sets of two
days and intervals of two days.

The desk: a record the desk said it entered wrong (an erratum) or an editor rejected
counts no more from then on; asked for reviewed records only, a record entered in a
proposed batch (a reporter's, review required) counts once an editor approved it.

Over 400 lines: the model is kept in one piece, to be read against docs/understanding.md.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time
from decimal import ROUND_CEILING, Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from incident_ledger.ledger.application import Ledger

INF = math.inf
DAY_END = time(23, 59, 59, 999_999)


def published_instant(text: str, zone: str | None = None) -> datetime:
    """A report's known instant: a date is the END of that day in the zone (UTC if none)."""
    if len(text) == 10:
        local = datetime.combine(date.fromisoformat(text), DAY_END)
        return local.replace(tzinfo=ZoneInfo(zone) if zone else UTC).astimezone(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def query_instant(text: str, zone: str | None = None) -> datetime:
    """A query date is the end of that day in the zone; a date-time is that instant."""
    return published_instant(text, zone)


def _day_bounds(day: str, zone: str | None) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone) if zone else UTC
    start = datetime.combine(date.fromisoformat(day), time(0)).replace(tzinfo=tz)
    end = datetime.combine(date.fromisoformat(day), DAY_END).replace(tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def edtf_days(text: str, zone: str | None) -> tuple[datetime, datetime]:
    """Earliest and latest instant of ``D``, ``[D1,D2]`` or ``D1/D2``, days in the zone."""
    if text.startswith("["):
        first, last = text[1:-1].split(",")
    elif "/" in text:
        first, last = text.split("/")
    else:
        first = last = text
    return _day_bounds(first, zone)[0], _day_bounds(last, zone)[1]


def _is_day_text(text: str) -> bool:
    try:
        edtf_days(text, None)
    except ValueError:
        return False
    return True


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def _unit_of_last_digit(value: Any) -> Decimal:
    text = str(value)
    if "." not in text:
        return Decimal(1)
    return Decimal(1) / (Decimal(10) ** len(text.split(".")[1]))


def _ceil_to(amount: Decimal, unit: Decimal) -> Decimal:
    return (amount / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def approx_interval(value: Any, tolerance: dict[str, Any] | None) -> tuple[Decimal, Decimal]:
    n = _number(value)
    u = _unit_of_last_digit(value)
    if tolerance is None:
        t = max(u, _ceil_to(n * Decimal("0.1"), u))
    elif tolerance.get("absolute") is not None:
        t = _number(tolerance["absolute"])
    else:
        t = _ceil_to(n * _number(tolerance["fraction"]), u)
    return max(Decimal(0), n - t), n + t


def reading(record: Any, rules: dict[str, Any], zone: str | None) -> Any:
    """A claim as ('num', low, high) (INF for unbounded), ('time', low, high) or
    ('text', comparison text)."""
    value, qualifier = _plain(record.value), record.qualifier
    kind = rules["kind"]
    if kind == "boolean":
        return ("text", "true" if value else "false")
    if kind in ("text", "choice", "place"):
        text = value if isinstance(value, str) else value["name"]
        if kind == "choice":
            text = _choice(rules, text)
        return ("text", text.strip().casefold())
    if kind == "time":
        low, high = edtf_days(value, zone)
        return ("time", low, high)
    if isinstance(value, dict):
        return ("num", _number(value["min"]), _number(value["max"]))
    n = _number(value)
    # A count moves to the next whole number; a measured amount, rounded to its last
    # written digit, reaches n itself.
    step = Decimal(1) if kind == "count" else Decimal(0)
    q = str(qualifier) if qualifier else "exact"
    if q == "approx":
        around_low, around_high = approx_interval(value, rules.get("tolerance"))
        return ("num", around_low, around_high)
    return {
        "exact": ("num", n, n),
        "at_least": ("num", n, INF),
        "more_than": ("num", n + step, INF),
        "at_most": ("num", Decimal(0), n),
        "less_than": ("num", Decimal(0), max(n - step, Decimal(0))),
    }[q]


def _choice(rules: dict[str, Any], text: str) -> str:
    folded = text.strip().casefold()
    for choice in rules.get("choices") or ():
        words = [choice["value"], *(choice.get("aliases") or ())]
        if folded in [w.strip().casefold() for w in words]:
            return str(choice["value"])
    return text


def inferred_kind(value: Any, qualifier: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "count"
    if isinstance(value, dict):
        if "name" in value:
            return "place"
        whole = all(isinstance(value[k], int) for k in ("min", "max"))
        return "count" if whole else "quantity"
    if qualifier:
        return "quantity"
    return "time" if _is_day_text(value) else "text"


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def events_of(ledger: Ledger) -> list[tuple[int, datetime, Any]]:
    """(ledger position, recorded time, record) for every record-carrying event."""
    from types import SimpleNamespace

    from incident_ledger.ledger.desk_domain import Batch, Erratum, Member, Review

    out: list[tuple[int, datetime, Any]] = []
    for n in ledger.recorder.select_notifications(start=1, limit=1_000_000):
        event = ledger.mapper.to_domain_event(n)
        if isinstance(event, Erratum.Recorded):  # the desk: this record was entered wrong
            out.append(
                (n.id, event.timestamp, SimpleNamespace(type="erratum", record=event.record))
            )
        elif isinstance(event, Review.Recorded):
            shown = SimpleNamespace(type="review", record=event.record, verdict=event.verdict)
            out.append((n.id, event.timestamp, shown))
        elif isinstance(event, Batch.Signed):  # leaf indexes: notification ids less one
            shown = SimpleNamespace(
                type="batch", first=event.first + 1, last=event.last + 1, proposed=event.proposed
            )
            out.append((n.id, event.timestamp, shown))
        elif hasattr(event, "to_record") and not isinstance(event, Member.Registered):
            out.append((n.id, cast(Any, event).timestamp, event.to_record()))
    return out


def naive_state(
    events: list[tuple[int, datetime, Any]],
    incident: str,
    known: datetime,
    recorded: datetime | None,
    policy: str,
    reviewed_only: bool = False,
) -> dict[str, Any]:
    ledger = _Gathered(events, recorded)
    reports, zones, claims = ledger.reports, ledger.zones, ledger.claims
    retractions, declared, first_claim = ledger.retractions, ledger.declared, ledger.first_claim
    reliability = ledger.reliability

    def known_at(claim: Any) -> datetime:
        return published_instant(reports[claim.report].published_at, zones[claim.incident])

    def counts(record: str) -> bool:
        return ledger.counts(record, reviewed_only)

    def ended(claim: Any) -> bool:
        for other in claims:
            corrects = other.type == "correction" and other.claim == claim.id
            # a correction that does not count ends nothing
            if corrects and known_at(other) <= known and counts(f"claim:{other.id}"):
                return True
        for retraction in retractions:
            if retraction.claim == claim.id and counts(f"retraction:{retraction.id}"):
                report = reports[retraction.report].published_at
                if published_instant(report, zones[claim.incident]) <= known:
                    return True
        return False

    zone = zones[incident]
    facts_seen: set[str] = set()
    current: dict[tuple[str, str], list[Any]] = {}
    for claim in claims:
        shown = claim.incident == incident and known_at(claim) <= known
        if not shown or not counts(f"claim:{claim.id}"):  # a voided claim: never entered
            continue
        facts_seen.add(claim.fact)
        if ended(claim):
            continue
        claimant = claim.claimant or reports[claim.report].source
        current.setdefault((claim.fact, claimant), []).append(claim)
    result: dict[str, Any] = {}
    for fact in facts_seen:
        rules = declared.get((incident, fact))
        if rules is None:
            first = first_claim[(incident, fact)]
            rules = {"kind": inferred_kind(first.value, first.qualifier)}
        held = {claimant: c for (f, claimant), c in current.items() if f == fact}
        result[fact] = _fact(held, known_at, rules, zone, policy, reliability)
    return result


def _fact(
    current: dict[str, list[Any]],
    known_at: Any,
    rules: dict[str, Any],
    zone: Any,
    policy: str,
    reliability: dict[str, Any],
) -> dict[str, Any]:
    """One fact from each claimant's active claims on it (``current``)."""
    positions = []
    lowered = []
    for claimant, held in current.items():
        latest = max(known_at(c) for c in held)
        at_latest = [c for c in held if known_at(c) == latest]
        position = _position(claimant, at_latest, latest, rules, zone)
        positions.append(position)
        if rules.get("cumulative") and position["kind"] == "num":
            lowered += _lowered(position, held, known_at, rules, zone)
    result = _understand(positions, rules, policy, reliability)
    if lowered:
        result["lowered"] = lowered
    return result


def _lowered(
    position: dict[str, Any], held: list[Any], known_at: Any, rules: dict[str, Any], zone: Any
) -> list[tuple[str, Any]]:
    """(claimant, the highest earlier low) when the claimant's position on a cumulative
    fact stands wholly below the claims it published at an earlier instant, still active,
    as of an instant no later than the position's."""
    instants = {known_at(c) for c in held if known_at(c) < position["published"]}
    lows = []
    for instant in instants:
        claims = [c for c in held if known_at(c) == instant]
        earlier = _position(position["claimant"], claims, instant, rules, zone)
        falls = earlier["low"] > position["high"] and earlier["as_of"] <= position["as_of"]
        if earlier["kind"] == "num" and falls:
            lows.append(earlier["low"])
    return [(position["claimant"], _shown(max(lows)))] if lows else []


class _Gathered:
    """Everything recorded by R (sources, reports and incidents whenever recorded)."""

    def counts(self, record: str, reviewed_only: bool) -> bool:
        """Entered wrong or rejected: as if never entered; a proposal, asked for reviewed
        records only: once approved."""
        if record in self.errata:
            return False
        return not (reviewed_only and record in self.proposed and record not in self.approved)

    def __init__(self, events: list[tuple[int, datetime, Any]], recorded: datetime | None):
        self.reports: dict[str, Any] = {}
        self.reliability: dict[str, str | None] = {}
        self.zones: dict[str, str | None] = {}
        self.declared: dict[tuple[str, str], dict[str, Any]] = {}
        self.first_claim: dict[tuple[str, str], Any] = {}
        self.claims: list[Any] = []
        self.retractions: list[Any] = []
        self.errata: set[str] = set()
        """The records the desk said it entered wrong, or an editor rejected, by R."""
        self.proposed: set[str] = set()
        """The records entered in a proposed batch, by R."""
        self.approved: set[str] = set()
        """The records an editor approved, by R."""
        entered: dict[int, str] = {}  # ledger position → claim:ID or retraction:ID
        for position, stamp, record in events:
            if record.type == "source":
                self.reliability[record.id] = record.reliability
            if record.type == "report":
                self.reports[record.id] = record
            if record.type == "incident":
                self.zones[record.id] = record.timezone
            if recorded is not None and stamp > recorded:
                continue
            if record.type == "fact":
                self.declared[(record.incident, record.key)] = _plain(record)
            if record.type in ("claim", "correction"):
                self.claims.append(record)
                self.first_claim.setdefault((record.incident, record.fact), record)
            if record.type == "retraction":
                self.retractions.append(record)
            if record.type == "erratum":
                self.errata.add(record.record)
            if record.type in ("claim", "correction", "retraction"):
                kind = "retraction" if record.type == "retraction" else "claim"
                entered[position] = f"{kind}:{record.id}"
            if record.type == "batch" and record.proposed:
                batch = range(record.first, record.last + 1)
                self.proposed.update(entered[p] for p in batch if p in entered)
            if record.type == "review":
                chosen = self.approved if record.verdict == "approve" else self.errata
                chosen.add(record.record)


def _position(
    claimant: str, claims: list[Any], published: datetime, rules: dict[str, Any], zone: Any
) -> dict[str, Any]:
    readings = [reading(c, rules, zone) for c in claims]
    kind = readings[0][0]
    # The as-of instant: the latest instant of a claim's valid time, else its known time.
    as_of = max(edtf_days(c.valid_time, zone)[1] if c.valid_time else published for c in claims)
    first = min(claims, key=lambda c: c.id)
    position: dict[str, Any] = {
        "claimant": claimant,
        "claims": sorted(c.id for c in claims),
        "published": published,
        "kind": kind,
        "as_of": as_of,
        "values": [_shown_value(c, rules) for c in claims],
        "first_value": _shown_value(first, rules),
    }
    if kind == "text":
        position["texts"] = {r[1] for r in readings}
        return position
    low = max(r[1] for r in readings)
    high = min(r[2] for r in readings)
    if low > high:  # no common point: the hull
        low = min(r[1] for r in readings)
        high = max(r[2] for r in readings)
    position["low"], position["high"] = low, high
    return position


def _shown_value(claim: Any, rules: dict[str, Any]) -> Any:
    value = _plain(claim.value)
    if rules["kind"] == "choice" and isinstance(value, str):
        return _choice(rules, value)
    return value


def _understand(
    positions: list[dict[str, Any]],
    rules: dict[str, Any],
    policy: str,
    reliability: dict[str, Any],
) -> dict[str, Any]:
    if not positions:
        return {"status": "withdrawn", "range": None, "value": None, "claims": []}
    kind = positions[0]["kind"]
    cumulative = bool(rules.get("cumulative")) and kind == "num"
    if len(positions) == 1:
        status = "single"
    elif kind == "text":
        common = set.intersection(*(p["texts"] for p in positions))
        status = "corroborated" if common else "contested"
    elif cumulative:
        bad = any(
            a["as_of"] <= b["as_of"] and a["low"] > b["high"] for a in positions for b in positions
        )
        status = "contested" if bad else "corroborated"
    else:
        agree = max(p["low"] for p in positions) <= min(p["high"] for p in positions)
        status = "corroborated" if agree else "contested"
    span = None
    held = positions
    if kind != "text":
        if cumulative:
            latest = max(p["as_of"] for p in positions)
            implied = [(p["low"], p["high"] if p["as_of"] == latest else INF) for p in positions]
            if status == "contested":
                low, high = min(i[0] for i in implied), max(i[1] for i in implied)
            else:
                low, high = max(i[0] for i in implied), min(i[1] for i in implied)
        else:
            low = min(p["low"] for p in positions)
            high = max(p["high"] for p in positions)
        span = {"min": _shown(low), "max": _shown(high)}
        if cumulative:  # the preferred figure is one the range holds (a hull holds each)
            held = [p for p in positions if max(p["low"], low) <= min(p["high"], high)]
            held = held or positions
    return {
        "status": status,
        "range": span,
        "value": _policy_value(positions, kind, span, policy, reliability, held),
        "claims": sorted(c for p in positions for c in p["claims"]),
    }


def _policy_value(
    positions: list[dict[str, Any]],
    kind: str,
    span: dict[str, Any] | None,
    policy: str,
    reliability: dict[str, Any],
    held: list[dict[str, Any]],
) -> Any:
    order = sorted(positions, key=lambda p: (p["published"], p["claimant"]))
    latest_position = order[-1]
    grades = "ABCDEF"

    def preference(p: dict[str, Any]) -> tuple[int, Any]:
        grade = reliability.get(p["claimant"])
        return (-(grades.index(grade) if grade else 6), (p["published"], p["claimant"]))

    preferred = max(held, key=preference)
    if policy == "range":
        if span is not None:
            value: Any = span
        else:
            values = _each_once([v for p in positions for v in p["values"]])
            value = values[0] if len(values) == 1 else values
    elif policy == "conservative" and span is not None:
        value = span["min"]
    else:
        chosen = preferred if policy == "preferred" else latest_position
        if kind == "text":
            # A claimant's two values at one time: no one value is its position's.
            said = _each_once(chosen["values"])
            value = said if len(said) > 1 else chosen["first_value"]
        else:
            value = {"min": _shown(chosen["low"]), "max": _shown(chosen["high"])}
    return value


def _each_once(values: list[Any]) -> list[Any]:
    """Each differing value once; texts differing only in case or spaces are one, in the
    spelling whose JSON sorts first."""
    spelled: dict[Any, str] = {}
    for v in values:
        as_json = json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = v.strip().casefold() if isinstance(v, str) else as_json
        spelled[key] = min(spelled.get(key, as_json), as_json)
    return [json.loads(j) for j in sorted(spelled.values())]


def _shown(bound: Any) -> Any:
    if bound == INF:
        return None
    if isinstance(bound, datetime):
        return bound.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
    if isinstance(bound, Decimal):
        return int(bound) if bound == bound.to_integral_value() else str(bound.normalize())
    return bound
