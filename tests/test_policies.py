"""The policies that pick one value for a fact never pick what the records do not say:
not one of two values a claimant gave at one time (chosen by claim id, before), and not a
lower bound shown as a bare figure ("about 70" at least 63, not 63)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_understanding_rules import claim, cli, fact, ledger_of, report


def picked(db: str, policy: str) -> dict[str, tuple[Any, Any]]:
    found = json.loads(cli(db, "state", "b", "--policy", policy, "--json")[1])["facts"]
    return {key: (f["value"], f.get("basis")) for key, f in found.items()}


@pytest.mark.parametrize("first", ["z1", "a1"])
def test_a_position_of_two_values_at_one_time_gives_both(tmp_path: Path, first: str) -> None:
    other = "a2" if first == "z1" else "z2"
    records = [
        fact("ctrl", "choice", choices=[{"value": "sdf"}, {"value": "isis"}]),
        report("ra1", "wire", "2022-01-21T10:00:00Z"),
        report("ra2", "wire", "2022-01-21T12:00:00+02:00"),  # the same instant
        claim(first, "ctrl", "sdf", "ra1"),
        claim(other, "ctrl", "isis", "ra2"),
        claim(first + "w", "wounded", 70, "ra1"),
        claim(other + "w", "wounded", 90, "ra2"),
        fact("open", "boolean"),
        claim(first + "o", "open", True, "ra1"),
        claim(other + "o", "open", False, "ra2"),
    ]
    db = ledger_of(tmp_path, records)
    for policy in ("latest", "preferred"):
        assert picked(db, policy) == {
            "ctrl": (["isis", "sdf"], None),
            "wounded": ({"min": 70, "max": 90}, None),  # the hull, no one claim's
            "open": ([False, True], None),
        }, policy
    table = " ".join(cli(db, "state", "b", "--policy", "latest")[1].split())
    assert "isis | sdf" in table and "no | yes" in table, table


def test_the_conservative_figure_is_shown_as_a_lower_bound(tmp_path: Path) -> None:
    records = [
        report("r1", "wire", "2022-01-21"),
        claim("k1", "killed", 70, "r1", qualifier="approx"),
    ]
    db = ledger_of(tmp_path, records)
    assert picked(db, "conservative") == {"killed": (63, None)}
    table = cli(db, "state", "b", "--policy", "conservative")[1]
    assert "at least 63" in table, table


def test_a_measured_amount_more_or_less_than_n_reaches_n(tmp_path: Path) -> None:
    """ "More than 2.5" tonnes was read as at least 2.6 (the next written value, as a count
    moves to n + 1): 2.55 then contested it, though it is more than 2.5."""
    records = [
        fact("tonnes", "quantity", unit="tonnes"),
        report("r1", "wire", "2022-01-21"),
        report("r2", "paper", "2022-01-21"),
        claim("t1", "tonnes", "2.5", "r1", qualifier="more_than"),
        claim("t2", "tonnes", "2.55", "r2"),
        claim("l1", "litres", "2.5", "r1", qualifier="less_than"),
        claim("l2", "litres", "2.45", "r2"),
        claim("k1", "killed", 70, "r1", qualifier="more_than"),
        claim("k2", "killed", 70, "r2"),
    ]
    records.insert(1, fact("litres", "quantity", unit="litres"))
    db = ledger_of(tmp_path, records)
    found = json.loads(cli(db, "state", "b", "--json")[1])["facts"]
    statuses = {key: f["status"] for key, f in found.items()}
    assert statuses == {"tonnes": "corroborated", "litres": "corroborated", "killed": "contested"}


def test_the_preferred_figure_of_a_rising_total_is_one_the_range_holds(tmp_path: Path) -> None:
    """The best-graded source's earlier, lower total (30) was the preferred value beside a
    range of 63-77 that later reports gave: the figure shown contradicted the range."""
    records = [
        fact("killed", cumulative=True),
        report("r1", "ministry", "2022-01-21"),
        report("r2", "wire", "2022-01-23"),
        report("r3", "paper", "2022-01-24"),
        claim("k1", "killed", 30, "r1"),
        claim("k2", "killed", 45, "r2", qualifier="at_least"),
        claim("k3", "killed", 70, "r3", qualifier="approx"),
    ]
    db = ledger_of(tmp_path, records)
    assert cli(db, "rate", "ministry", "A", "--reason", "the best kept tally")[0] == 0
    found = json.loads(cli(db, "state", "b", "--policy", "preferred", "--json")[1])["facts"]
    killed = found["killed"]
    assert (killed["status"], killed["range"]) == ("corroborated", {"min": 63, "max": 77})
    assert killed["basis"] in ("k2", "k3"), killed


def test_the_incident_page_shows_the_conservative_figure_as_a_bound(tmp_path: Path) -> None:
    """The Datasette incident page showed "about 70" under ``conservative`` as a bare 63."""
    import sqlite3

    from incident_ledger.usecases.datasette_site.pages import incident_page

    records = [
        report("r1", "wire", "2022-01-21"),
        claim("k1", "killed", 70, "r1", qualifier="approx"),
    ]
    db = ledger_of(tmp_path, records)
    assert cli(db, "state", "b")[0] == 0  # the model caught up
    with sqlite3.connect(Path(db).with_suffix(".views.db")) as model:
        page = incident_page(model, "b", "", "conservative")
    assert [f["value"] for f in page["facts"]] == ["at least 63"]
