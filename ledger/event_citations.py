"""What an event cites: the records an incident bundle takes with the events concerning
the incident, so that a recipient can read them (``bundles``, ``bundle_check``).

An event cites its report, its claimant, its relays and the claim it names
(``cited_records``); a report cites its outlet (``report_outlets``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.incident_chains import Line, parse_leaf
from incident_ledger.ledger.stores.recorder import LogView

CITING_FIELDS = (("report", "report"), ("claimant", "source"), ("claim", "claim"))
"""The rule: the fields of an event's data naming a record it cites, with that record's
kind; and its relays, each a source (``RELAYS``). Both readings below follow it."""
RELAYS = "via"


def cited_records(line: Line) -> set[str]:
    """The records an event cites, as aggregate ids: its report, claimant, relays and the
    claim it names (which may be of another incident, for a correction). The same rule,
    for many events at once: ``records_named``."""
    data = line["data"]
    cited = {
        f"{kind}:{value}" for field, kind in CITING_FIELDS if type(value := data.get(field)) is str
    }
    via = data.get(RELAYS)
    if type(via) is list:
        cited.update(f"source:{relay}" for relay in via if type(relay) is str)
    return cited


def report_outlets(view: LogView, ledger: Ledger, cited: set[str]) -> set[str]:
    """The outlets of the cited reports, from the reports' own events."""
    plain = ledger.audit.plain
    reports = sorted(aggregate for aggregate in cited if aggregate.startswith("report:"))
    outlets = set()
    for _, state in view.creation_states(reports).values():
        line = parse_leaf(state if plain is None else plain(state))
        source = None if line is None else line["data"].get("source")
        if type(source) is str:
            outlets.add(f"source:{source}")
    return outlets


def records_named(leaves: Iterable[bytes]) -> dict[str, set[str]]:
    """The records events cite (``cited_records``), by kind: ``report``, ``source`` and
    ``claim`` ids. Only the fields that rule reads are decoded (``_naming_decoder``)."""
    decode, decode_error = _naming_decoder()
    named: dict[str, set[str]] = {kind: set() for _, kind in CITING_FIELDS}
    fields = [(field, named[kind]) for field, kind in CITING_FIELDS]
    sources = named["source"]
    for leaf in leaves:
        try:
            names = decode(leaf)
        except decode_error:  # not an event's JSON object: it cites nothing (parse_leaf)
            continue
        if type(names.id) is not str:
            continue
        data = names.data
        for field, ids in fields:
            if type(value := getattr(data, field)) is str:
                ids.add(value)
        via = getattr(data, RELAYS)
        if type(via) is list:
            sources.update(relay for relay in via if type(relay) is str)
    return named


@cache
def _naming_decoder() -> tuple[Callable[[bytes], Any], type[Exception]]:
    """The decoding of what ``cited_records`` reads of a leaf, and the error it raises:
    msgspec skips the other fields without building them, a third of the cost of
    decoding a whole leaf (``incident_chains._names_decoder``), for every event of an
    incident bundle."""
    import msgspec

    names = [field for field, _ in CITING_FIELDS] + [RELAYS]
    fields = [(name, Any, None) for name in names]
    data = msgspec.defstruct("CitedNames", fields)
    event = msgspec.defstruct("CitingEvent", [("id", Any), ("data", data)])
    return msgspec.json.Decoder(event).decode, msgspec.DecodeError
