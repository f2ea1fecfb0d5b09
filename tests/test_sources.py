"""``ledger sources``: grades, rating history and a track record checked by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks import synthetic
from incident_ledger.cli.main import app
from incident_ledger.projections.sources import share
from incident_ledger.usecases import reading, workspace, writing

runner = CliRunner()


def claim(id: str, fact: str, value: Any, report: str, **more: Any) -> dict[str, Any]:
    return {"type": "claim", "id": id, "incident": "i", "fact": fact, "value": value} | {
        "report": report,
        **more,
    }


# Three sources: a monitor and an armed group speaking through one outlet, which
# also speaks for itself once. Reports on the 21st, 22nd and 23rd of January, and the
# monitor's own statement on the 23rd.
LEDGER = [
    {"type": "incident", "id": "i", "title": "Incident"},
    {
        "type": "source",
        "id": "mon",
        "name": "Monitor",
        "name_ar": "المرصد",
        "kind": "monitor",
        "reliability": "C",
    },
    {"type": "source", "id": "army", "name": "Army", "kind": "armed_group", "reliability": "B"},
    {"type": "source", "id": "paper", "name": "Paper", "name_ar": "الصحيفة", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "paper", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "paper", "published_at": "2022-01-22"},
    {"type": "report", "id": "r3", "source": "paper", "published_at": "2022-01-23"},
    {"type": "report", "id": "r3m", "source": "mon", "published_at": "2022-01-23"},
    # killed: mon ≥20 and army 7 on the 21st (a tie for first), paper 10 on the 22nd.
    claim("m1", "killed", 20, "r1", qualifier="at_least", claimant="mon"),
    claim("a1", "killed", 7, "r1", claimant="army"),
    claim("p1", "killed", 10, "r2"),
    # escaped: mon first (22nd), retracted by mon itself on the 23rd; army's 89 on the 23rd.
    claim("m2", "escaped", 150, "r2", qualifier="more_than", claimant="mon"),
    {"type": "retraction", "id": "x1", "claim": "m2", "report": "r3m", "reason": "revised"},
    claim("a2", "escaped", 89, "r3", claimant="army"),
    # inmates: mon alone, about 3500 on the 22nd, corrected to at least 3000 on the 23rd in
    # the paper that had published it: the paper corrected its own report of mon.
    claim("m3", "inmates", 3500, "r2", qualifier="approx", claimant="mon"),
    claim("m3b", "inmates", 3000, "r3", qualifier="at_least", claimant="mon")
    | {"type": "correction", "claim": "m3"},
]

# By hand. Current state (known at the 23rd): killed is contested (≥20, 7, 10 share no
# point); escaped is single (army; mon's claim retracted); inmates is single (m3b).
# A relay answers for its own corrections: m3b corrects m3 in the paper that had relayed
# m3, so that correction is the paper's; mon's retraction of m2 is in its own report.
#   mon:   claims m1 m2 m3 m3b = 4, relays none; retracted m2 = 1/4; corrected 0/4;
#          facts killed, escaped, inmates = 3; contested killed = 1/3;
#          first on killed (tie with army), escaped, inmates = 3/3; reports r3m = 1.
#   army:  claims a1 a2 = 2; none retracted or corrected; facts killed, escaped = 2;
#          contested 1/2; first on killed only (tie) = 1/2; no reports.
#   paper: claims p1 = 1; relays m1 a1 m2 m3 a2 m3b = 6; corrected m3 = 1/7; facts
#          killed = 1, contested 1/1; first 0/1; reports r1 r2 r3 = 3.
EXPECTED = {
    "mon": {
        "claims_made": 4,
        "relayed": 0,
        "retracted": 1,
        "retracted_share": 0.25,
        "corrected": 0,
        "corrected_share": 0.0,
        "positions": 3,
        "contested": 1,
        "contested_share": 0.3333,
        "first_to_report": 3,
        "first_share": 1.0,
        "reports_published": 1,
    },
    "army": {
        "claims_made": 2,
        "relayed": 0,
        "retracted": 0,
        "retracted_share": 0.0,
        "corrected": 0,
        "corrected_share": 0.0,
        "positions": 2,
        "contested": 1,
        "contested_share": 0.5,
        "first_to_report": 1,
        "first_share": 0.5,
        "reports_published": 0,
    },
    "paper": {
        "claims_made": 1,
        "relayed": 6,
        "retracted": 0,
        "retracted_share": 0.0,
        "corrected": 1,
        "corrected_share": 0.1429,
        "positions": 1,
        "contested": 1,
        "contested_share": 1.0,
        "first_to_report": 0,
        "first_share": 0.0,
        "reports_published": 3,
    },
}

RECORDED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> str:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return str(path)


def ledger(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    writing.init(path)
    writing.append_file(path, write_jsonl(tmp_path / "ledger.jsonl", LEDGER))
    return path


def track(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in EXPECTED["mon"]}


def test_track_record_matches_the_hand_count(db: str) -> None:
    records = reading.sources(db)
    assert [r["id"] for r in records] == ["mon", "army", "paper"]  # by claims made
    assert {r["id"]: track(r) for r in records} == EXPECTED


# A claim's end is booked to the outlet of the ending report when that outlet relayed the
# claim (it published the claim for someone else, or is named in its via); else to the
# claimant. Written plainly, one source at a time.
_RELAYED_BY = (
    "(c.claimant <> {who} AND (c.source = {who} OR (c.via IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM json_each(c.via) j WHERE j.value = {who}))))"
)
_BOOKED_TO_S = (
    "((r.source = s.id AND " + _RELAYED_BY.format(who="r.source") + ") OR "
    "(c.claimant = s.id AND NOT (r.source <> c.claimant AND "
    + _RELAYED_BY.format(who="r.source")
    + ")))"
)
_COUNTS_ONE_SOURCE_AT_A_TIME = f"""
SELECT s.id,
    (SELECT COUNT(*) FROM claims c WHERE c.claimant = s.id),
    (SELECT COUNT(*) FROM claims c WHERE {_RELAYED_BY.format(who="s.id")}),
    (SELECT COUNT(DISTINCT c.id) FROM claims c JOIN claim_ends e ON e.claim = c.id
     JOIN reports r ON r.id = e.report WHERE e.how = 'retracted' AND {_BOOKED_TO_S}),
    (SELECT COUNT(DISTINCT c.id) FROM claims c JOIN claim_ends e ON e.claim = c.id
     JOIN reports r ON r.id = e.report WHERE e.how = 'corrected' AND {_BOOKED_TO_S}),
    (SELECT COUNT(*) FROM reports r WHERE r.source = s.id)
FROM sources s ORDER BY s.id
"""


def test_counts_equal_their_definition_on_a_synthetic_ledger(tmp_path: Path) -> None:
    """The grouped counts against the definition written one source at a time, on a
    ledger with retractions, corrections (some corrected again) and quiet sources."""
    path = str(tmp_path / "synthetic.db")
    writing.init(path)
    writing.append_file(path, write_jsonl(tmp_path / "s.jsonl", list(synthetic.records(3_000))))
    records = {r["id"]: r for r in reading.sources(path)}
    with workspace.open_workspace(path) as ws:
        expected = ws.views.connection.execute(_COUNTS_ONE_SOURCE_AT_A_TIME).fetchall()
    names = ("claims_made", "relayed", "retracted", "corrected", "reports_published")
    assert [(s, *(records[s][n] for n in names)) for s, *_ in expected] == expected
    assert sum(r["retracted"] for r in records.values()) > 0
    assert sum(r["corrected"] for r in records.values()) > 0
    assert sum(r["relayed"] for r in records.values()) > 0


def test_identity_and_initial_grades(db: str) -> None:
    records = {r["id"]: r for r in reading.sources(db)}
    assert {k: records["mon"][k] for k in ("name", "name_ar", "kind", "reliability")} == {
        "name": "Monitor",
        "name_ar": "المرصد",
        "kind": "monitor",
        "reliability": "C",
    }
    assert records["army"]["name_ar"] is None
    assert records["paper"]["reliability"] is None
    assert records["paper"]["ratings"] == []
    [initial] = records["mon"]["ratings"]
    assert {k: initial[k] for k in ("grade", "reason", "effective_from")} == {
        "grade": "C",
        "reason": "initial grade",
        "effective_from": None,
    }
    assert RECORDED.match(initial["recorded_at"])


def test_rating_history_after_rate(db: str) -> None:
    code, out, _ = ledger(
        db, "rate", "mon", "B", "--reason", "verified figures", "--from", "2022-01-22"
    )
    assert (code, out) == (0, "mon is now rated B\n")
    assert ledger(db, "rate", "paper", "e", "--reason", "fabricated quotes")[0] == 0
    code, out, err = ledger(db, "sources", "--json")
    assert (code, err) == (0, "")
    records = {r["id"]: r for r in json.loads(out)}
    assert records["mon"]["reliability"] == "B"
    history = [
        {k: v for k, v in r.items() if k != "recorded_at"} for r in records["mon"]["ratings"]
    ]
    assert history == [
        {"grade": "C", "reason": "initial grade", "effective_from": None},
        {"grade": "B", "reason": "verified figures", "effective_from": "2022-01-22T00:00:00Z"},
    ]
    first, second = (r["recorded_at"] for r in records["mon"]["ratings"])
    assert RECORDED.match(second) and first <= second
    assert records["paper"]["reliability"] == "E"
    assert [(r["grade"], r["effective_from"]) for r in records["paper"]["ratings"]] == [("E", None)]
    assert {r["id"]: track(r) for r in records.values()} == EXPECTED  # grades change no count


def test_sources_with_no_claims_have_no_shares_and_ties_sort_by_id(db: str, tmp_path: Path) -> None:
    wires = [
        {"type": "source", "id": id, "name": id.upper(), "kind": "agency"}
        for id in ("wire2", "wire1")
    ]
    writing.append_file(db, write_jsonl(tmp_path / "wires.jsonl", wires))
    records = reading.sources(db)
    assert [r["id"] for r in records] == ["mon", "army", "paper", "wire1", "wire2"]
    assert track(records[-1]) == {
        "claims_made": 0,
        "relayed": 0,
        "retracted": 0,
        "retracted_share": None,
        "corrected": 0,
        "corrected_share": None,
        "positions": 0,
        "contested": 0,
        "contested_share": None,
        "first_to_report": 0,
        "first_share": None,
        "reports_published": 0,
    }


def test_contested_follows_the_current_state(db: str, tmp_path: Path) -> None:
    # army withdraws its 7 and paper corrects its 10 to "at least 20": killed is now
    # corroborated (mon ≥20, paper ≥20), so no source holds a contested fact any more.
    later = [
        {"type": "report", "id": "r4", "source": "paper", "published_at": "2022-01-24"},
        {"type": "report", "id": "r4a", "source": "army", "published_at": "2022-01-24"},
        {"type": "retraction", "id": "x2", "claim": "a1", "report": "r4a"},
        claim("p1b", "killed", 20, "r4", qualifier="at_least")
        | {"type": "correction", "claim": "p1"},
    ]
    writing.append_file(db, write_jsonl(tmp_path / "later.jsonl", later))
    records = {r["id"]: r for r in reading.sources(db)}
    assert [records[s]["contested"] for s in ("mon", "army", "paper")] == [0, 0, 0]
    assert (records["army"]["retracted"], records["army"]["retracted_share"]) == (1, 0.5)
    # p1b corrects the paper's own p1: with m3's, 2 of the 8 claims it made or relayed
    assert (records["paper"]["claims_made"], records["paper"]["corrected_share"]) == (2, 0.25)
    assert records["paper"]["reports_published"] == 4
    # who spoke first does not change: mon and army still tie on killed
    assert [records[s]["first_to_report"] for s in ("mon", "army", "paper")] == [3, 1, 0]


def test_share_rounding() -> None:
    assert (share(1, 3), share(2, 3), share(0, 5), share(3, 0)) == (0.3333, 0.6667, 0.0, None)


def test_cli_json_keeps_arabic_as_characters(db: str) -> None:
    code, out, err = ledger(db, "sources", "--json")
    assert (code, err) == (0, "")
    assert "المرصد" in out and "\\u" not in out
    assert [r["id"] for r in json.loads(out)] == ["mon", "army", "paper"]


def tables(out: str) -> tuple[dict[str, list[str]], list[list[str]]]:
    """The first table's rows by source id, and the rating history's rows (split on spaces)."""
    track_part, _, history_part = out.partition("rating history")
    rows = [line.split() for line in track_part.splitlines()]
    first = {row[0]: row for row in rows if row[:1] in (["mon"], ["army"], ["paper"])}
    history = [row for row in (line.split() for line in history_part.splitlines())]
    return first, [row for row in history if row[:1] in (["mon"], ["army"], ["paper"])]


@pytest.mark.parametrize("long", [False, True])
def test_cli_table(db: str, long: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same table laid out by rich, and written a row at a time as a long one is."""
    from incident_ledger.cli import long_table

    if long:
        monkeypatch.setattr(long_table, "PAGE", 1)
    ledger(db, "rate", "mon", "B", "--reason", "verified figures", "--from", "2022-01-22")
    code, out, err = ledger(db, "sources")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "sources and their track record"
    rows, history = tables(out)
    # id, grade, claims, retracted, corrected (of claims), contested, first (of facts), reports
    assert rows == {
        "mon": ["mon", "B", "4", "1/4", "0/4", "1/3", "3/3", "1"],
        "army": ["army", "B", "2", "0/2", "0/2", "1/2", "1/2", "0"],
        "paper": ["paper", "—", "1", "0/7", "1/7", "1/1", "0/1", "3"],
    }
    assert "a relay answers for" in " ".join(out.split())
    assert "المرصد" in out and "الصحيفة" in out
    assert [row[:3] for row in history] == [
        ["mon", "C", "always"],
        ["mon", "B", "2022-01-22"],
        ["army", "B", "always"],
    ]
    assert history[0][4:] == ["initial", "grade"]
    # Written a row at a time, the columns are as wide as the first row's: the wider
    # reason after it wraps inside its column.
    assert history[1][4:] == (["verified"] if long else ["verified", "figures"])
    assert "verified figures" in " ".join(out.split())


def test_cli_empty_ledger_and_missing_ledger(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.db")
    writing.init(path)
    assert ledger(path, "sources") == (0, "no sources in the ledger\n", "")
    assert ledger(path, "sources", "--json") == (0, "[]\n", "")
    missing = str(tmp_path / "none.db")
    assert ledger(missing, "sources") == (
        1,
        "",
        f"error: no ledger at {missing}: run 'ledger init' first\n",
    )


def test_cli_help() -> None:
    result = runner.invoke(app, ["sources", "--help"])
    assert result.exit_code == 0
    assert "track record" in result.stdout and "--json" in result.stdout


def test_an_erratum_counts_neither_for_nor_against_a_source(db: str) -> None:
    """An entry error voids a record as if never entered: army's claim a1 no longer counts
    for army (nor as the paper's relay), and mon's retraction x1 no longer against mon."""
    for record in ("a1", "x1"):
        code, _, err = ledger(db, "erratum", record, "--reason", "entered by mistake")
        assert (code, err) == (0, "")
    records = {r["id"]: r for r in reading.sources(db)}
    army, mon, paper = records["army"], records["mon"], records["paper"]
    assert (army["claims_made"], army["positions"], army["first_to_report"]) == (1, 1, 0)
    assert (mon["claims_made"], mon["retracted"], mon["retracted_share"]) == (4, 0, 0.0)
    assert (paper["relayed"], paper["corrected"], paper["corrected_share"]) == (5, 1, 0.1667)
