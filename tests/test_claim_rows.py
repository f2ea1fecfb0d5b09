"""A claim's read-model row, column by column, whichever optional fields it carries.

The projector names only the columns a claim fills; every other column must read
NULL, exactly as a row written with all 28 would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.errors import StoreError
from incident_ledger.usecases import reading, rebuilding, writing

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "i", "title": "I"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "source", "id": "monitor", "name": "Monitor", "kind": "monitor"},
    {"type": "source", "id": "wire", "name": "Wire", "kind": "agency"},
    {"type": "report", "id": "r", "source": "outlet", "published_at": "2022-01-21T10:00:00Z"},
]
PUBLISHED = "2022-01-21T10:00:00.000000Z"
NULLS = {
    "qualifier": None,
    "unit": None,
    "num_low": None,
    "num_high": None,
    "time_low": None,
    "time_high": None,
    "text_value": None,
    "approximate": 0,
    "valid_time": None,
    "valid_from": None,
    "valid_to": None,
    "via": None,
    "quote": None,
    "translation": None,
    "credibility": None,
    "note": None,
    "corrects": None,
}
BASE = {
    "incident": "i",
    "report": "r",
    "source": "outlet",
    "published_at": PUBLISHED,
    "claim_status": "active",
}

CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"id": "bare-number", "fact": "killed", "value": 7},
        {"kind": "number", "value": "7", "num_low": 7, "num_high": 7, "claimant": "outlet"},
    ),
    (
        {"id": "open-number", "fact": "killed", "value": 20, "qualifier": "at_least"},
        {
            "kind": "number",
            "value": "20",
            "qualifier": "at_least",
            "num_low": 20,
            "claimant": "outlet",
        },
    ),
    (
        {"id": "range", "fact": "escaped", "value": {"max": 9, "min": 3}},
        {
            "kind": "number",
            "value": '{"min": 3, "max": 9}',
            "num_low": 3,
            "num_high": 9,
            "claimant": "outlet",
        },
    ),
    (
        {"id": "bare-time", "fact": "attack.began", "value": "2022-01-20"},
        {
            "kind": "time",
            "value": '"2022-01-20"',
            "time_low": "2022-01-20T00:00:00.000000Z",
            "time_high": "2022-01-20T23:59:59.999999Z",
            "claimant": "outlet",
        },
    ),
    (
        {"id": "bare-text", "fact": "control", "value": "SDF"},
        {
            "kind": "text",
            "value": '"SDF"',
            "text_value": "sdf",
            "claimant": "outlet",
            "claim_status": "corrected",  # by a later report's claim below
        },
    ),
    (
        {
            "id": "everything",
            "fact": "killed",
            "value": 16,
            "qualifier": "approx",
            "unit": "people",
            "valid_time": "2022-01-21",
            "claimant": "monitor",
            "via": ["wire"],
            "quote": "قتل ١٦",
            "translation": "16 killed",
            "credibility": 6,
            "note": "a note",
        },
        {
            "kind": "number",
            "value": "16",
            "qualifier": "approx",
            "unit": "people",
            # about 16: 16 ± max(1, ⌈1.6⌉) (approximation has a width)
            "num_low": 14,
            "num_high": 18,
            "approximate": 1,
            "valid_time": "2022-01-21",
            "valid_from": "2022-01-21T00:00:00.000000Z",
            "valid_to": "2022-01-21T23:59:59.999999Z",
            "claimant": "monitor",
            "via": '["wire"]',
            "quote": "قتل ١٦",
            "translation": "16 killed",
            "credibility": 6,
            "note": "a note",
        },
    ),
    (
        {
            "type": "correction",
            "id": "corrected-text",
            "claim": "bare-text",
            "fact": "control",
            "value": "ISIS",
            "note": "by a later report",
        },
        {
            "kind": "text",
            "value": '"ISIS"',
            "text_value": "isis",
            "claimant": "outlet",
            "note": "by a later report",
            "corrects": "bare-text",
        },
    ),
]


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    workdir: Path = tmp_path_factory.mktemp("rows")
    db = str(workdir / "l.db")
    writing.init(db)
    records = [*SETUP]
    for record, _ in CASES:
        records.append({"type": "claim", "incident": "i", "report": "r", **record})
    path = workdir / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    writing.append_file(db, str(path))
    connection = sqlite3.connect(workdir / "l.views.db")
    connection.row_factory = sqlite3.Row
    try:
        return {row["id"]: dict(row) for row in connection.execute("SELECT * FROM claims")}
    finally:
        connection.close()


@pytest.mark.parametrize(("record", "expected"), CASES, ids=[case[0]["id"] for case in CASES])
def test_a_claim_row_holds_its_fields_and_null_elsewhere(
    claims: dict[str, dict[str, Any]], record: dict[str, Any], expected: dict[str, Any]
) -> None:
    row = dict(claims[record["id"]])
    assert isinstance(row.pop("seq"), int)
    assert row.pop("recorded_at").endswith("Z")
    assert row == NULLS | BASE | {"id": record["id"], "fact": record["fact"]} | expected


def test_a_leaf_orjson_refuses_is_read_by_the_standard_module() -> None:
    from incident_ledger.projections.projector import _decode

    leaf = b'{"data":{"note":"\\ud800"},"id":"x:y"}'
    assert _decode(leaf) == json.loads(leaf) == {"data": {"note": "\ud800"}, "id": "x:y"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit",
    [
        lambda leaf: b"\xff\xfe not JSON",
        lambda leaf: b"{{",
        lambda leaf: b'{"topic": 1}',
        lambda leaf: leaf.replace(b'"value":7', b'"value":7.5'),
        lambda leaf: leaf.replace(b'"value":7', b'"value":{"max":1e30,"min":1}'),
        lambda leaf: leaf.replace(b'"value":7', b'"value":{"max":99999999999999999999,"min":1}'),
        lambda leaf: leaf.replace(b'"report":"r",', b""),
    ],
    ids=[
        "bad UTF-8",
        "bad JSON",
        "fields",
        "decimal",
        "float bound",
        "integer beyond 64 bits",
        "claim without its report",
    ],
)
def test_an_unreadable_stored_event_is_set_aside_with_its_position(
    tmp_path: Path, edit: Callable[[bytes], bytes]
) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    path = tmp_path / "records.jsonl"
    records = [*SETUP, {"type": "claim", "incident": "i", "report": "r", **CASES[0][0]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    writing.append_file(db, str(path), project=False)
    connection = sqlite3.connect(db, isolation_level=None)
    # rowids 1-2 are the desk's first admin and its batch; rowid 8 is the event that gives
    # the fact "killed" its kind; the claim comes next
    (leaf,) = connection.execute("SELECT state FROM stored_events WHERE rowid = 9").fetchone()
    assert b'"value":7' in leaf and b'"report":"r",' in leaf
    connection.execute("UPDATE stored_events SET state = ? WHERE rowid = 9", (edit(leaf),))
    connection.close()
    result = rebuilding.replay(db)  # the rebuild goes on past it
    assert (result["position"], result["events"]) == (10, 9)
    (aside,) = result["unprojectable"]
    assert (aside["seq"], aside["event"]) == (9, f"claim:{CASES[0][0]['id']}")
    assert aside["incident"] in ("i", None)  # None when the leaf cannot be read at all
    with pytest.raises(StoreError) as raised:
        reading.current_state(db, "i")
    assert str(raised.value).startswith(f"event 9 (claim:{CASES[0][0]['id']}")
