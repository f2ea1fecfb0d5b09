"""The typed results (``projections.results``) describe the JSON the commands print.

Every key of a ``state``, ``history`` and ``diff`` answer on the sample (and of the
state the sweep walks to, as the demo shows it) is declared by its TypedDict, and
every required key is there, down to each position, step and fact: the types cannot
drift from what users read.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

from incident_ledger.ledger.times import to_key
from incident_ledger.projections import results
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.sweep import Sweep
from incident_ledger.usecases import reading
from incident_ledger.usecases.workspace import query_instant, read_model

INCIDENT = "ghwayran-2022"


def mismatches(value: Any, shape: Any, where: str) -> list[str]:
    """Keys of ``value`` its TypedDict ``shape`` does not declare, or requires and lacks;
    nested TypedDicts (and lists and dicts of them) are checked too."""
    keys = set(value)
    found = [f"{where}: {k} not declared" for k in sorted(keys - shape.__annotations__.keys())]
    found += [f"{where}: {k} missing" for k in sorted(shape.__required_keys__ - keys)]
    hints = get_type_hints(shape)
    for key in sorted(keys & hints.keys()):
        found += _nested(value[key], hints[key], f"{where}.{key}")
    return found


def _nested(value: Any, hint: Any, where: str) -> list[str]:
    if value is None:
        return []
    if is_typeddict(hint):
        return mismatches(value, hint, where)
    origin, args = get_origin(hint), get_args(hint)
    if origin is list and isinstance(value, list):
        return [m for i, item in enumerate(value) for m in _nested(item, args[0], f"{where}[{i}]")]
    if origin is dict and isinstance(value, dict):
        return [m for k, item in value.items() for m in _nested(item, args[1], f"{where}.{k}")]
    if origin in (Union, UnionType):
        return next((_nested(value, arg, where) for arg in args if arg is not type(None)), [])
    return []


def test_state_history_and_diff_have_the_declared_keys(sample_db: str) -> None:
    state = reading.current_state(sample_db, INCIDENT, at="2022-02-01")
    history = reading.fact_history(sample_db, INCIDENT, "killed.security_forces")
    diff = reading.belief_diff(sample_db, INCIDENT, from_at="2022-01-21", to_at="2022-02-01")
    assert state["facts"] and history["steps"] and diff["facts"]
    assert mismatches(state, results.StateResult, "state") == []
    assert mismatches(history, results.HistoryResult, "history") == []
    assert mismatches(diff, results.DiffResult, "diff") == []


def test_the_sweeps_state_has_the_declared_keys(sample_db: str) -> None:
    with read_model(sample_db, INCIDENT) as conn:
        zone = require_incident(conn, INCIDENT)
        sweep = Sweep(conn, INCIDENT, zone)
        for day in ("2022-01-21", "2022-02-01"):
            known = query_instant(day, zone)
            assert known is not None
            sweep.advance(to_key(known))
            state = sweep.state()
            assert state["facts"]
            assert mismatches(state, results.StateResult, day) == []
            fact = sweep.fact("killed.security_forces")
            assert fact is not None
            assert mismatches(fact, results.FactState, day) == []


def test_a_key_the_types_do_not_declare_is_found() -> None:
    position = {"claim": "c", "claimant": "s", "value": 1, "qualifier": None, "report": "r"}
    assert mismatches(position | {"extra": 1}, results.PositionResult, "p") == [
        "p: extra not declared",
        "p: published_at missing",
        "p: recorded_at missing",
    ]
