"""How an incident bundle reads the log: each event with its leaf in one query on
SQLite, and what the events cite decoded once, by the rule ``cited_records`` states."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.event_citations import cited_records, records_named
from incident_ledger.ledger.incident_chains import parse_leaf
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.ledger.stores.sqlite_log import _up_to_a_gap
from tests.chained import cli, export, make, whole_log_read


@pytest.fixture
def db(tmp_path: Path) -> str:
    return make(str(tmp_path / "l.db"), tmp_path)


def test_an_incident_bundle_on_sqlite_reads_each_event_with_its_leaf(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An event's leaf is its row's: no second query per 500 events to find it.
    asked: list[Any] = []

    def leaves_of_notifications(self: LogView, ids: Any) -> Any:
        asked.append(ids)
        return {}

    monkeypatch.setattr(LogView, "leaves_of_notifications", leaves_of_notifications)
    walks = whole_log_read(monkeypatch)
    bundle = export(db, tmp_path / "b", "--incident", "diyala-2022")
    assert (asked, walks) == ([], [])
    assert cli(None, "verify", "--export", str(bundle))[0] == 0


def test_the_records_events_cite_are_read_by_the_rule_of_cited_records(db: str) -> None:
    store = sqlite3.connect(str(locate(db).sqlite_path))
    leaves = [bytes(row[0]) for row in store.execute("SELECT state FROM stored_events")]
    odd = [b"not json", b"[1]", b'{"id": 3, "data": {"report": "r"}}', b'{"id": "x"}']
    odd += [b'{"id": "x", "data": {"via": ["s1", 2], "claim": 5, "claimant": "s2"}}']
    for leaf in leaves + odd:
        line = parse_leaf(leaf)
        rule = cited_records(line) if line is not None else set()
        named = records_named([leaf])
        assert {f"{kind}:{value}" for kind, values in named.items() for value in values} == rule
    assert any(records_named([leaf])["claim"] for leaf in leaves)


@pytest.mark.parametrize(
    ("rows", "hashes"),
    [
        ([(11, b"a"), (12, b"b"), (13, b"c")], [b"a", b"b", b"c"]),
        ([(11, b"a"), (13, b"c")], [b"a"]),  # leaf 11 (rowid 12) deleted, or without a hash
        ([(12, b"b"), (13, b"c")], []),
        ([], []),
    ],
)
def test_leaf_hashes_are_read_up_to_the_first_missing(
    rows: list[tuple[int, bytes]], hashes: list[bytes]
) -> None:
    assert _up_to_a_gap(rows, 10) == hashes
