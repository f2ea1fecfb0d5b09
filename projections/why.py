"""Why a fact has its status: which positions agree or disagree, with what, as of when.

Every fact of ``state --json`` carries ``why``:

``summary``
    One sentence an editor can publish from: "contested: outlet-002 says 7 and sohr
    (via afp) says 20, both as of 21 Jan 2022"; "corroborated by 3 independent
    claimants (misryoum, sohr, outlet-002), who share 20 Jan 2022; afp's relays
    counted as sohr".
``short``
    The same in a few words, for a table cell: "7 (outlet-002) vs 20 (sohr)".
``positions``
    Each claimant's position in words (``says``), with its as-of instant for a
    cumulative fact (UTC, as all JSON instants).
``conflict``
    The two claimants whose positions cannot both hold (contested facts only).
``relays``
    Each relay — a source named in ``via``, or the outlet that published a claimant's
    words — and the claimants it relayed: counted as them, once (``results.relays_of``).

Dates in the sentences are the incident's local days (``21 Jan 2022``), or local
times with their offset when an instant is not the end of a day there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from incident_ledger.ledger.times import local_words, zone_or_none
from incident_ledger.projections.results import PositionResult, Why, first_hand, relays_of
from incident_ledger.projections.words import interval_words, position_words


def reason(
    status: str,
    positions: Sequence[PositionResult],
    conflict: tuple[int, int] | None,
    cumulative: bool,
    zone: str | None,
    common: dict[str, Any] | None = None,
    kind: str | None = None,
) -> Why:
    """The ``why`` of a fact from its status, its positions (as ``state`` lists them),
    the indexes of two that conflict, and — for agreeing numbers or times — the
    interval they share (``common``)."""
    known = kind if kind in ("number", "time", "text") else None  # else each finds its own
    says = [position_words(p, known) for p in positions]  # each position in words, once
    listed = [why_entry(p, w, cumulative) for p, w in zip(positions, says, strict=True)]
    return explain(status, positions, says, listed, conflict, cumulative, zone, common, kind=kind)


def why_entry(position: PositionResult, says: str, cumulative: bool) -> dict[str, Any]:
    """One position as ``why`` lists it: its claimant, what it says (``position_words``)
    and, for a cumulative fact, as of when."""
    entry: dict[str, Any] = {"claimant": position["claimant"], "says": says}
    if cumulative and "as_of" in position:
        entry["as_of"] = position["as_of"]
    return entry


def explain(
    status: str,
    positions: Sequence[PositionResult],
    says: list[str],
    listed: list[dict[str, Any]],
    conflict: tuple[int, int] | None,
    cumulative: bool,
    zone: str | None,
    common: dict[str, Any] | None = None,
    relays: tuple[dict[str, list[str]], str] | None = None,
    *,
    kind: str | None = None,
) -> Why:
    """The ``why`` from the positions already said in words (``says``, and ``listed`` as
    :func:`why_entry` makes them) and their ``relays`` (found from the positions when
    not given, else with :func:`relays_words`): a walk through known time says each
    position once, not at every step."""
    said = _Said(positions, says, cumulative, zone)
    if relays is None:
        found = _relays(positions)
        relays = (found, relays_words(found))
    found, words = relays
    out: Why = {
        "summary": _summary(
            status, positions, says, said, conflict, cumulative, zone, common, kind
        ),
        "short": _short(status, positions, says, conflict),
        "positions": listed,
        "conflict": None
        if conflict is None
        else [positions[conflict[0]]["claimant"], positions[conflict[1]]["claimant"]],
    }
    if found:
        out["relays"] = found
        out["summary"] += words
    return out


def relays_words(relays: dict[str, list[str]]) -> str:
    """What the summary adds for the relays: ``; afp's and misryoum's relays counted as
    sohr``."""
    if len(relays) > RELAYS_NAMED:
        return many_relays(len(relays))
    return relays_sentence([(relay, _and(claimants)) for relay, claimants in relays.items()])


def relay_claimants(claimants: list[str]) -> str:
    """The claimants a relay's words name (``sohr and sdf``), for :func:`relays_sentence`."""
    return _and(claimants)


RELAYS_NAMED = 6
"""Past this many relays the summary counts them (``many_relays``): a hot fact's hundreds
of outlets, each quoting a claimant, are no sentence; ``relays`` lists them all."""


def many_relays(count: int) -> str:
    """What the summary says of more than ``RELAYS_NAMED`` relays."""
    return f"; {count} relays counted as the claimants they relayed"


def relays_sentence(named: list[tuple[str, str]]) -> str:
    """``; afp's and misryoum's relays counted as sohr; ap's relays counted as sdf`` from
    each relay with its claimants in words (``relay_claimants``), in order: the relays
    that name the same claimants are said together, where the first of them comes.
    Past ``RELAYS_NAMED`` relays, how many (``many_relays``)."""
    if not named:
        return ""
    if len(named) > RELAYS_NAMED:
        return many_relays(len(named))
    groups: dict[str, list[str]] = {}
    for relay, claimants in named:
        groups.setdefault(claimants, []).append(f"{relay}'s")
    return "; " + "; ".join(
        f"{joined(relays)} relays counted as {claimants}" for claimants, relays in groups.items()
    )


class _Said:
    """``said[i]``: position i's words with its claimant (:func:`_said`), made only for
    the positions a sentence names."""

    def __init__(
        self,
        positions: Sequence[PositionResult],
        says: list[str],
        cumulative: bool,
        zone: str | None,
    ) -> None:
        self._positions, self._says = positions, says
        self._cumulative, self._zone = cumulative, zone

    def __getitem__(self, index: int) -> str:
        return _said(self._positions[index], self._says[index], self._cumulative, self._zone)

    def every(self) -> list[str]:
        return [self[i] for i in range(len(self._positions))]


def _said(position: Mapping[str, Any], says: str, cumulative: bool, zone: str | None) -> str:
    """``sohr (via afp) says at least 20``, with ``as of 21 Jan 2022`` when it matters."""
    words = f"{who_words(position)} says {says}"
    if cumulative and position.get("as_of"):
        words += f" as of {local_words(position['as_of'], zone_or_none(zone))}"
    return words


def who_words(position: Mapping[str, Any]) -> str:
    """``sohr (via afp)``; ``sohr (also via afp)`` when sohr's own report says it too."""
    via = relays_of(position)
    if not via:
        return str(position["claimant"])
    also = "also " if first_hand(position) else ""
    return f"{position['claimant']} ({also}via {', '.join(via)})"


def _summary(
    status: str,
    positions: Sequence[Mapping[str, Any]],
    says: list[str],
    said: _Said,
    conflict: tuple[int, int] | None,
    cumulative: bool,
    zone: str | None,
    common: dict[str, Any] | None,
    kind: str | None,
) -> str:
    """The reason in a sentence; ``common``: the interval agreeing positions share, said
    as the fact's ``kind`` of value."""
    if status == "withdrawn":
        return "withdrawn: every claim on this fact was retracted or corrected"
    if status == "single":
        only = positions[0]
        text = f"single: only {said[0]}"
        if only.get("inconsistent_within_report"):
            text += ", inconsistently at one time"
        return text
    if status == "corroborated":
        claimants = _and([p["claimant"] for p in positions])
        text = f"corroborated by {len(positions)} independent claimants ({claimants})"
        if cumulative:
            return f"{text}, whose figures fit one rising total: " + "; ".join(said.every())
        if common is not None:
            return f"{text}, who share {interval_words(common, zone, kind)}"
        return f"{text}, who all say {says[0]}"
    if conflict is None:  # contested by mixed kinds of value
        return "contested: " + "; ".join(said.every())
    first, second = (positions[i] for i in conflict)
    says_first, says_second = (says[i] for i in conflict)
    if cumulative:
        when_first, when_second = first.get("as_of"), second.get("as_of")
        tz = zone_or_none(zone)
        if when_first == when_second:
            text = (
                f"contested: {who_words(first)} says {says_first} and {who_words(second)} "
                f"says {says_second}, both as of {local_words(when_first, tz)}"
            )
        else:
            text = (
                f"contested: {who_words(first)} says {says_first} as of "
                f"{local_words(when_first, tz)}, but {who_words(second)} says "
                f"{says_second} as of {local_words(when_second, tz)}, later: a "
                "total cannot fall"
            )
        latest = max(range(len(positions)), key=lambda i: positions[i].get("as_of") or "")
        if latest not in conflict and positions[latest].get("as_of") != when_second:
            text += f"; the latest figure: {said[latest]}"
        return text
    return (
        f"contested: {who_words(first)} says {says_first} but {who_words(second)} says "
        f"{says_second}"
    )


def _short(
    status: str,
    positions: Sequence[Mapping[str, Any]],
    says: list[str],
    conflict: tuple[int, int] | None,
) -> str:
    if status == "withdrawn":
        return "all withdrawn"
    if status == "single":
        return f"only {positions[0]['claimant']}"
    if status == "corroborated":
        return f"{len(positions)} agree"
    if conflict is None:
        return "values of different kinds"
    first, second = conflict
    return (
        f"{says[first]} ({positions[first]['claimant']}) vs "
        f"{says[second]} ({positions[second]['claimant']})"
    )


def _relays(positions: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    relays: dict[str, list[str]] = {}
    for position in positions:
        for relay in relays_of(position):
            relays.setdefault(relay, [])
            if position["claimant"] not in relays[relay]:
                relays[relay].append(position["claimant"])
    return relays


def _and(names: list[str]) -> str:
    return joined(names)


def joined(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
