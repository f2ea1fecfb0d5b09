"""The incident over time: valid time in words, timeline, fact history (with charts) and diff.

Over 400 lines: the three views over time are checked against each other
(``test_history_and_diff_agree_with_state``), so they share their ledgers here.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_ledger.cli import render
from incident_ledger.cli.main import app
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError, NotFoundError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.times import parse_instant
from incident_ledger.ledger.values import EDTFError
from incident_ledger.projections.diff import diff
from incident_ledger.projections.history import history, step_at
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.timewords import describe
from incident_ledger.projections.understanding import state
from incident_ledger.projections.views import Views
from incident_ledger.usecases import reading, workspace
from tests.strategies import keeping_end_rules

runner = CliRunner()
SAMPLE = "ghwayran-2022"


def cli(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# --- valid time in words ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edtf", "words"),
    [
        ("2022-01-20", "20 Jan 2022"),
        ("[2022-01-20,2022-01-21]", "20 or 21 Jan 2022"),
        ("[2022-01-24,2022-01-31]", "24 or 31 Jan 2022"),
        ("[2022-01-20,2022-01-21,2022-01-25]", "20, 21 or 25 Jan 2022"),
        ("[2022-01-31,2022-02-01]", "31 Jan or 1 Feb 2022"),
        ("[2021-12-31,2022-01-01]", "31 Dec 2021 or 1 Jan 2022"),
        ("[2022-01-20..2022-01-22]", "between 20 and 22 Jan 2022"),
        ("[2022-01-20, 2022-01-25..2022-01-27]", "20 or 25–27 Jan 2022"),
        ("[..2022-01-20]", "on or before 20 Jan 2022"),
        ("[2022-01-20..]", "on or after 20 Jan 2022"),
        ("{2022-01-20,2022-01-21}", "20 and 21 Jan 2022"),
        ("{2022-01-20..2022-01-22, 2022-02-01}", "20–22 Jan and 1 Feb 2022"),
        ("{2022-01,2022-03}", "Jan and Mar 2022"),
        ("2022-01-20/2022-01-30", "20–30 Jan 2022"),
        ("2022-01-30/2022-02-02", "30 Jan – 2 Feb 2022"),
        ("2021-12-30/2022-01-02", "30 Dec 2021 – 2 Jan 2022"),
        ("2022-01/2022-03", "Jan–Mar 2022"),
        ("2020/2022", "2020–2022"),
        ("2022-01-20/2022-01-20", "20 Jan 2022"),
        ("2022-02-01/..", "from 1 Feb 2022"),
        ("../2022-02-01", "until 1 Feb 2022"),
        ("2022-02-01/", "from 1 Feb 2022 (end unknown)"),
        ("/2022-02-01", "until 1 Feb 2022 (start unknown)"),
        ("2022-01", "Jan 2022"),
        ("2022", "2022"),
        ("2022-01-20?", "possibly 20 Jan 2022"),
        ("2022-01-20~", "about 20 Jan 2022"),
        ("2022-01-20%", "possibly about 20 Jan 2022"),
        ("2022-01~", "about Jan 2022"),
        ("2022?-01-20", "possibly 20 Jan 2022"),
        ("2022-01~/2022-03~", "about Jan–Mar 2022"),
        ("2022-01?/2022-02~", "possibly Jan 2022 – about Feb 2022"),
        ("2022-01-20T10:00:00Z", "20 Jan 2022 10:00 UTC"),
        ("2022-01-20T10:00:05+03:00", "20 Jan 2022 10:00:05 +03:00"),
        ("2022-01-XX", "a day in Jan 2022"),
        ("2022-01-2X", "a day in 20–29 Jan 2022"),
        ("2022-XX", "a month in 2022"),
        ("202X", "a year in 2020–2029"),
        ("2022-21", "spring 2022"),
        ("1950S2", "a year in 1900–1999 (estimated 1950)"),
        ("Y170000002", "year 170000002"),
        ("-0100", "101 BCE"),
    ],
)
def test_valid_time_in_words(edtf: str, words: str) -> None:
    assert describe(edtf) == words


@pytest.mark.parametrize("text", ["x", "2022-13-01", "20 Jan", ""])
def test_words_refuse_what_is_not_edtf(text: str) -> None:
    with pytest.raises(EDTFError, match="is not a valid EDTF date or interval"):
        describe(text)


# --- the Ghwayran sample ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(sample_db: str) -> str:
    return sample_db


def test_sample_timeline_shows_every_claimed_start_date_with_the_state_status(sample: str) -> None:
    result = reading.timeline(sample, SAMPLE, at="2022-02-01")
    facts = reading.current_state(sample, SAMPLE, at="2022-02-01")["facts"]
    started = [e for e in result["entries"] if e["fact"] == "attack.started"]
    assert [(e["claimant"], e["when"]["words"], e["position"]) for e in started] == [
        ("misryoum", "20 Jan 2022", True),
        ("sohr", "20 Jan 2022", True),
        ("roya", "20 Jan 2022", True),
        ("hafryat", "20 Jan 2022", True),
        ("asharq", "20 Jan 2022", True),
        ("outlet-002", "20 or 21 Jan 2022", True),
        # Hafryat's two dates in one report are one position, whatever the line order
        ("hafryat", "21 Jan 2022", True),
    ]
    assert {e["status"] for e in started} == {facts["attack.started"]["status"]}
    assert facts["attack.started"]["status"] == "corroborated"
    # The days are the incident's (Asia/Damascus, UTC+2 in January 2022), in UTC in JSON.
    assert started[5]["when"] | {"day": "2022-01-20"} == {
        "words": "20 or 21 Jan 2022",
        "edtf": "[2022-01-20,2022-01-21]",
        "earliest": "2022-01-19T22:00:00Z",
        "latest": "2022-01-21T21:59:59.999999Z",
        "from": "value",
        "day": "2022-01-20",
    }
    assert started[5]["range"] == facts["attack.started"]["range"]
    assert "status" not in next(e for e in result["entries"] if e["fact"] == "control")


def test_sample_timeline_is_in_world_time_order(sample: str) -> None:
    result = reading.timeline(sample, SAMPLE, at="2022-02-01")
    earliest = [e["when"]["earliest"] for e in result["entries"]]
    assert earliest == sorted(earliest)
    # The UN's estimate of ISIS fighters is as of "last year", 2021: the earliest entry.
    assert result["entries"][0]["claim"] == "c-000-un-fighters-active"
    assert [e["when"]["words"] for e in result["entries"][-3:]] == [
        "25 Jan 2022",
        "from 1 Feb 2022",
        "from 1 Feb 2022",
    ]
    assert result["undated"]["count"] == 17
    assert "c-004-ap-ground-troops" in result["undated"]["claims"]
    assert result["excluded_inactive"] == []
    assert len(result["entries"]) + result["undated"]["count"] == 74  # 80 less 6 for Diyala


def test_sample_timeline_only_shows_what_was_known(sample: str) -> None:
    result = reading.timeline(sample, SAMPLE, at="2022-01-21")
    assert {e["report"] for e in result["entries"]} == {"report-000", "report-002"}
    assert result["known_at"] == "2022-01-21T21:59:59.999999Z"  # the end of 21 Jan, UTC+2


def test_sample_history_of_security_forces_killed(sample: str) -> None:
    result = reading.fact_history(sample, SAMPLE, "killed.security_forces")
    assert (result["kind"], result["unit"], result["recorded_at"]) == ("number", "people", None)
    assert (result["fact_kind"], result["cumulative"], result["timezone"]) == (
        "count",
        True,
        "Asia/Damascus",
    )
    first, second = result["steps"]
    assert first["at"] == "2022-01-21T21:59:59.999999Z"
    assert [r["id"] for r in first["reports"]] == ["report-000", "report-002"]
    assert (first["status"], first["range"]) == ("contested", {"min": 7, "max": 20})
    assert [(c["change"], c.get("claimant"), c.get("to")) for c in first["changes"]] == [
        ("joined", "outlet-002", "7"),
        # SOHR's "20" and "at least 20" in one report are one position: exactly 20
        ("joined", "sohr", "20 (also at least 20)"),
        ("status", None, "contested"),
        ("range", None, {"min": 7, "max": 20}),
    ]
    assert first["changes"][2]["why"] == (
        "contested: sohr (via afp, misryoum) says 20 (also at least 20) and outlet-002 says 7, "
        "both as of 21 Jan 2022; afp's and misryoum's relays counted as sohr"
    )
    assert second["at"] == "2022-01-31T21:59:59.999999Z"
    assert second["reports"] == [
        {
            "id": "report-004",
            "outlet": "asharq",
            "outlet_name": "Asharq News",
            "published_at": "2022-01-31",
        }
    ]
    # The SDF's "more than 120" as of 30 Jan is an update of the toll, not a new contest:
    # the fact stays contested by 7 and 20 as of 21 Jan, and the range is their hull.
    assert second["changed"] == ["range", "positions"]
    assert second["changes"] == [
        {
            "change": "joined",
            "claimant": "sdf",
            "claimant_name": "Syrian Democratic Forces",
            "claim": "c-004-sdf-killed-sf",
            "to": "more than 120",
            "report": "report-004",
        },
        {"change": "range", "from": {"min": 7, "max": 20}, "to": {"min": 7, "max": None}},
    ]
    sdf = next(p for p in second["positions"] if p["claimant"] == "sdf")
    assert sdf["interval"] == {"min": 121, "max": None}
    assert sdf["as_of"] == "2022-01-30T21:59:59.999999Z"


def test_sample_history_before_anything_was_recorded_is_not_found(sample: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        reading.fact_history(sample, SAMPLE, "escaped", as_recorded="2000-01-01")
    # A date given to a query is the end of that day in the incident's zone (UTC+2).
    assert str(caught.value) == (
        "no claims of 'escaped' in incident 'ghwayran-2022' recorded by 2000-01-01T21:59:59.999999Z"
    )


def test_sample_diff_from_21_jan_to_1_feb(sample: str) -> None:
    result = reading.belief_diff(sample, SAMPLE, from_at="2022-01-21", to_at="2022-02-01")
    assert (result["from"], result["to"], result["timezone"]) == (
        "2022-01-21T21:59:59.999999Z",  # the ends of those days in Asia/Damascus (UTC+2)
        "2022-02-01T21:59:59.999999Z",
        "Asia/Damascus",
    )
    changed = {f["fact"]: f for f in result["facts"]}
    assert sorted(changed) == [
        "alhol.families",
        "attack.repelled",
        "attack.started",
        "attackers",
        "car_bombs",
        "civilians.human_shields",
        "coalition.airstrikes",
        "coalition.ground_troops",
        "coalition.strikes",
        "control",
        "curfew.full",
        "curfew.partial",
        "detainees.elsewhere",
        "displaced.families",
        "displaced.people",
        "escape.foiled",
        "escaped",
        "fighting.duration",
        "fighting.ongoing",
        "held.fighters_and_families",
        "inmates",
        "isis_leaders.captured_or_killed",
        "killed.isis",
        "killed.security_forces",
        "killed.total",
        "recaptured",
        "riot.controlled",
        "riot.occurred",
        "surrendered",
    ]
    isis = changed["killed.isis"]
    assert isis["before"] is not None and isis["after"] is not None
    # A cumulative toll: SOHR's 40 (22 Jan) and the SDF's about 374 (as of 30 Jan) are one
    # rising total, not a contest; the range is what they leave for the latest total.
    assert (isis["before"]["status"], isis["after"]["status"]) == ("corroborated", "corroborated")
    assert (isis["before"]["range"], isis["after"]["range"]) == (
        {"min": 28, "max": 28},
        {"min": 336, "max": 412},
    )
    assert [(c["change"], c.get("from"), c.get("to")) for c in isis["changes"][:2]] == [
        ("revised", "at least 16", "40"),
        ("revised", "28", "about 374"),
    ]
    assert [r["id"] for r in isis["reports"]] == ["report-001", "report-004"]
    assert changed["control"]["before"] is None
    killed = changed["killed.security_forces"]
    assert killed["changed"] == ["range", "positions"]
    assert (
        killed["after"]
        == reading.current_state(sample, SAMPLE, at="2022-02-01")["facts"]["killed.security_forces"]
    )
    assert len(result["new_claims"]) == 44
    assert {c["report"]["id"] for c in result["new_claims"]} == {
        "report-001",
        "report-003",
        "report-004",
    }
    sdf = next(c for c in result["new_claims"] if c["claim"] == "c-004-sdf-killed-sf")
    assert sdf["report"] == {
        "id": "report-004",
        "outlet": "asharq",
        "outlet_name": "Asharq News",
        "published_at": "2022-01-31",  # the report gave a date: shown as given
    }
    assert sdf["value_words"] == "more than 120"
    assert (result["retractions"], result["corrections"]) == ([], [])


# --- charts -------------------------------------------------------------------------------


@pytest.mark.slow
def test_svg_chart_is_valid_xml_naming_every_claimant(sample: str, tmp_path: Path) -> None:
    path = tmp_path / "killed.svg"
    result = reading.fact_history(sample, SAMPLE, "killed.security_forces", chart=str(path))
    assert result["chart"] == {"path": str(path), "format": "svg"}
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = path.read_text(encoding="utf-8")
    for label in (
        "Syrian Observatory for Human Rights",
        "Syrian Democratic Forces",
        "range (min–max)",
        "no upper bound",
        "known time",
    ):
        assert label in text


@pytest.mark.slow
def test_png_chart_has_the_png_signature(sample: str, tmp_path: Path) -> None:
    path = tmp_path / "killed.png"
    reading.fact_history(sample, SAMPLE, "killed.isis", chart=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


@pytest.mark.slow
def test_timeline_and_diff_do_not_import_matplotlib(sample: str) -> None:
    script = (
        "import sys\n"
        "from incident_ledger.usecases import reading\n"
        f"reading.timeline({sample!r}, {SAMPLE!r}, at='2022-02-01')\n"
        f"reading.belief_diff({sample!r}, {SAMPLE!r}, from_at='2022-01-21', to_at='2022-02-01')\n"
        f"reading.fact_history({sample!r}, {SAMPLE!r}, 'escaped')\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout == "False\n"


# --- the command line ---------------------------------------------------------------------

SMALL: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "source", "id": "sdf", "name": "SDF", "kind": "armed_group"},
    {"type": "report", "id": "r1", "source": "outlet", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "outlet", "published_at": "2022-01-31T10:00:00+03:00"},
    {
        "type": "claim",
        "id": "c1",
        "incident": "g",
        "fact": "attack.started",
        "value": "2022-01-20",
        "report": "r1",
        "claimant": "sohr",
    },
    {
        "type": "claim",
        "id": "c2",
        "incident": "g",
        "fact": "attack.started",
        "value": "[2022-01-20,2022-01-21]",
        "report": "r1",
    },
    {
        "type": "claim",
        "id": "c3",
        "incident": "g",
        "fact": "killed",
        "value": 20,
        "qualifier": "at_least",
        "valid_time": "2022-01-21",
        "report": "r1",
        "claimant": "sohr",
    },
    {"type": "claim", "id": "c4", "incident": "g", "fact": "killed", "value": 7, "report": "r1"},
    {
        "type": "claim",
        "id": "c5",
        "incident": "g",
        "fact": "control",
        "value": "sdf",
        "valid_time": "[2022-01-24,2022-01-31]",
        "report": "r2",
        "claimant": "sdf",
    },
    {"type": "retraction", "id": "x1", "claim": "c3", "report": "r2", "reason": "revised"},
    {
        "type": "correction",
        "id": "c6",
        "claim": "c4",
        "incident": "g",
        "fact": "killed",
        "value": 9,
        "valid_time": "2022-01-21/2022-01-22",
        "report": "r2",
    },
]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small ledger with a retraction and a correction (read only: shared by the module)."""
    db = str(tmp_path_factory.mktemp("small") / "ledger.db")
    assert cli(db, "init", "--member", "alice")[0] == 0
    assert cli(db, "append", "--file", "-", stdin=jsonl(SMALL))[0] == 0
    return db


def test_timeline_json_before_and_after_a_retraction_and_a_correction(small: str) -> None:
    code, out, _ = cli(small, "timeline", "g", "--at", "2022-01-21", "--json")
    assert code == 0
    result = json.loads(out)
    assert [(e["claim"], e["when"]["words"]) for e in result["entries"]] == [
        ("c1", "20 Jan 2022"),
        ("c2", "20 or 21 Jan 2022"),
        ("c3", "21 Jan 2022"),
    ]
    assert result["entries"][0] == {
        "when": {
            "words": "20 Jan 2022",
            "edtf": "2022-01-20",
            "earliest": "2022-01-20T00:00:00Z",
            "latest": "2022-01-20T23:59:59.999999Z",
            "from": "value",
            "day": "2022-01-20",
        },
        "fact": "attack.started",
        "claim": "c1",
        "kind": "time",
        "value": "2022-01-20",
        "qualifier": None,
        "value_words": "20 Jan 2022",
        "claimant": "sohr",
        "claimant_name": "SOHR",
        "via": [],
        "report": "r1",
        "outlet": "outlet",
        "outlet_name": "Outlet",
        "published_at": "2022-01-21T23:59:59.999999Z",  # a date: known from its end
        "recorded_by": "alice",
        "position": True,
        "status": "corroborated",
        "range": {"min": "2022-01-20T00:00:00Z", "max": "2022-01-21T23:59:59.999999Z"},
    }
    assert result["undated"] == {"count": 1, "claims": ["c4"]}
    assert result["excluded_inactive"] == []

    code, out, _ = cli(small, "timeline", "g", "--at", "2022-02-01", "--json")
    result = json.loads(out)
    assert [(e["claim"], e["when"]["words"]) for e in result["entries"]] == [
        ("c1", "20 Jan 2022"),
        ("c2", "20 or 21 Jan 2022"),
        ("c6", "21–22 Jan 2022"),
        ("c5", "24 or 31 Jan 2022"),
    ]
    assert result["undated"] == {"count": 0, "claims": []}
    assert result["excluded_inactive"] == [
        {
            "claim": "c3",
            "fact": "killed",
            "how": "retracted",
            "by": "x1",
            "report": "r2",
            "published_at": "2022-01-31T07:00:00Z",
        },
        {
            "claim": "c4",
            "fact": "killed",
            "how": "corrected",
            "by": "c6",
            "report": "r2",
            "published_at": "2022-01-31T07:00:00Z",
        },
    ]


TIMELINE_TABLE = [
    "g — timeline as known by the end of 1 Feb 2022 (UTC)",
    "",
    " when                fact             claimed             who, where",
    " " + "─" * 74,
    " Thu 20 Jan 2022",
    " 20 Jan 2022         attack.started   corroborated date   sohr",
    "                                                          r1, 21 Jan",
    "                                                          recorded by alice",
    " 20 or 21 Jan 2022   attack.started   corroborated date   outlet",
    "                                                          r1, 21 Jan",
    "                                                          recorded by alice",
    " Fri 21 Jan 2022",
    " 21–22 Jan 2022      killed           9                   outlet",
    "                                                          r2, 31 Jan",
    "                                                          recorded by alice",
    " Mon 24 Jan 2022",
    " 24 or 31 Jan 2022   control          sdf                 sdf",
    "                                                          r2, 31 Jan",
    "                                                          recorded by alice",
    "",
    "0 undated claim(s) left out; 2 claim(s) excluded as retracted or corrected",
]


def test_timeline_human_table(small: str) -> None:
    code, out, _ = cli(small, "timeline", "g", "--at", "2022-02-01")
    assert code == 0
    assert [line.rstrip() for line in out.splitlines()] == TIMELINE_TABLE


def test_timeline_human_table_comes_in_pages_of_whole_days(
    small: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_ledger.cli import timeline_view

    monkeypatch.setattr(timeline_view, "PAGE", 1)
    code, out, _ = cli(small, "timeline", "g", "--at", "2022-02-01")
    assert code == 0
    # The same table, its columns as wide on every page; the first page (20 Jan, whose
    # two rows reach PAGE) ends with the table's bottom edge, a blank line.
    assert [line.rstrip() for line in out.splitlines()] == [
        *TIMELINE_TABLE[:11],
        "",
        *TIMELINE_TABLE[11:],
    ]


@pytest.mark.slow
def test_timeline_in_the_incidents_time_zone_and_another(tmp_path: Path) -> None:
    """Tables show the incident's local time; ``--tz`` shows another zone; JSON stays UTC."""
    db = str(tmp_path / "ledger.db")
    zoned = [{**SMALL[0], "timezone": "Asia/Damascus"}, *SMALL[1:]]
    assert cli(db, "init")[0] == 0
    assert cli(db, "append", "--file", "-", stdin=jsonl(zoned))[0] == 0
    code, out, _ = cli(db, "timeline", "g", "--at", "2022-02-01")
    assert code == 0
    assert out.splitlines()[0] == "g — timeline as known by the end of 1 Feb 2022 (Asia/Damascus)"
    code, out, _ = cli(db, "timeline", "g", "--at", "2022-02-01", "--tz", "UTC")
    assert out.splitlines()[0] == "g — timeline as known at 1 Feb 2022 21:59:59 UTC"
    code, out, _ = cli(db, "timeline", "g", "--at", "2022-02-01", "--json")
    assert json.loads(out)["known_at"] == "2022-02-01T21:59:59.999999Z"
    assert cli(db, "timeline", "g", "--tz", "Mars/Olympus") == (
        2,
        "",
        "error: 'Mars/Olympus' is not an IANA time zone such as Asia/Damascus\n",
    )


def test_timeline_files_a_claim_of_unknown_start_under_its_end(tmp_path: Path) -> None:
    """``/2022-01-27`` ends on 27 Jan 2022: the edtf package's guess at its start, ten
    years earlier, must not date it."""
    db = str(tmp_path / "ledger.db")
    until = {
        "type": "claim",
        "id": "c9",
        "incident": "g",
        "fact": "control",
        "value": "sdf",
        "valid_time": "/2022-01-27",
        "report": "r1",
        "claimant": "sdf",
    }
    assert cli(db, "init")[0] == 0
    assert cli(db, "append", "--file", "-", stdin=jsonl([*SMALL[:6], until]))[0] == 0
    code, out, _ = cli(db, "timeline", "g", "--at", "2022-02-01", "--json")
    assert code == 0
    assert json.loads(out)["entries"][0]["when"] == {
        "words": "until 27 Jan 2022 (start unknown)",
        "edtf": "/2022-01-27",
        "earliest": None,
        "latest": "2022-01-27T23:59:59.999999Z",
        "from": "valid_time",
        "day": "2022-01-27",
    }
    code, out, _ = cli(db, "timeline", "g", "--at", "2022-02-01")
    assert code == 0
    assert " Thu 27 Jan 2022" in [line.rstrip() for line in out.splitlines()]
    assert "2012" not in out


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render tables 160 columns wide, whatever the terminal, so no cell wraps."""
    monkeypatch.setattr(render.out, "_width", 160)


def test_history_json_and_human(small: str, wide: None) -> None:
    code, out, _ = cli(small, "history", "g", "killed", "--json")
    assert code == 0
    steps = json.loads(out)["steps"]
    assert [(s["at"], s["status"], s["range"]) for s in steps] == [
        ("2022-01-21T23:59:59.999999Z", "contested", {"min": 7, "max": None}),
        ("2022-01-31T07:00:00Z", "single", {"min": 9, "max": 9}),
    ]
    # x1 withdraws SOHR's claim c3 in a report of the outlet that had published it: the
    # outlet withdrew its own report of SOHR, so the outlet answers for it, not SOHR.
    assert [(c["change"], c.get("claimant"), c.get("by")) for c in steps[1]["changes"]] == [
        ("revised", "outlet", None),
        ("corrected", "sohr", "outlet"),
        ("status", None, None),
        ("range", None, None),
    ]
    assert steps[1]["changes"][2]["why"] == "single: only outlet says 9"
    code, out, _ = cli(small, "history", "g", "killed")
    assert code == 0
    assert _cells(out) == [
        ["known at", "reports", "status", "range", "who says what", "what changed"],
        ["21 Jan 2022", "r1 (outlet)", "contested", "7–∞", "outlet: 7 (r1, by alice)",
         "outlet joined: 7"],
        ["", "", "", "", "sohr: at least 20 (r1, by alice)", "sohr joined: at least 20"],
        ["", "", "", "", "", "status contested (at least 20 (sohr) vs 7 (outlet))"],
        ["", "", "", "", "", "range 7–∞"],
        ["31 Jan 2022 07:00 UTC", "r2 (outlet)", "single", "9", "outlet: 9 (r2, by alice)",
         "outlet revised: 7 → 9"],
        ["", "", "", "", "", "outlet corrected its report of sohr: withdrew at least 20"],
        ["", "", "", "", "", "status contested → single (only outlet)"],
        ["", "", "", "", "", "range 7–∞ → 9"],
    ]  # fmt: skip
    assert out.splitlines()[0] == "killed in g — history by known time"
    code, out, err = cli(small, "history", "g", "killed", "--as-recorded", "2000-01-01")
    assert (code, out, err) == (
        1,
        "",
        "error: no claims of 'killed' in incident 'g' recorded by 2000-01-01T23:59:59.999999Z\n",
    )


def _cells(out: str) -> list[list[str]]:
    """The rows of the rich tables in ``out``, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line[1:-1].replace("┃", "│").split("│")]
        for line in out.splitlines()
        if line[:1] in ("│", "┃")
    ]


def test_history_json_lists_what_changed_and_every_position_on_request(small: str) -> None:
    code, out, _ = cli(small, "history", "g", "killed", "--json")
    assert code == 0
    steps = json.loads(out)["steps"]
    code, out, _ = cli(small, "history", "g", "killed", "--json", "--all-positions")
    assert code == 0
    full = json.loads(out)["steps"]
    assert [(s["positions_count"], s["positions_ended"]) for s in steps] == [(2, []), (1, ["sohr"])]
    assert [[p["claim"] for p in s["positions_changed"]] for s in steps] == [["c4", "c3"], ["c6"]]
    assert all("positions" not in s and "positions" not in s["why"] for s in steps)
    # Every step's positions follow from the step before and what changed.
    # And its relays: those of the step before, less the ended, with the changed.
    held: dict[str, Any] = {}
    relays: dict[str, list[str]] = {}
    for compact, whole in zip(steps, full, strict=True):
        for claimant in compact["positions_ended"]:
            del held[claimant]
        held |= {p["claimant"]: p for p in compact["positions_changed"]}
        assert sorted(held.values(), key=json.dumps) == sorted(whole["positions"], key=json.dumps)
        assert len(held) == compact["positions_count"]
        why = dict(compact["why"])
        for relay in why.pop("relays_ended", []):
            del relays[relay]
        relays |= why.pop("relays_changed", {})
        assert len(relays) == why.pop("relays_count", 0)
        if relays:
            why["relays"] = relays
        expected = {k: v for k, v in whole["why"].items() if k != "positions"}
        assert why == expected
        assert {k: v for k, v in compact.items() if not k.startswith("positions")} == {
            k: v for k, v in whole.items() if k not in ("positions", "why")
        } | {"why": compact["why"]}


def test_history_chart_from_the_command_line(small: str, tmp_path: Path) -> None:
    path = tmp_path / "killed.svg"
    code, out, _ = cli(small, "history", "g", "killed", "--chart", str(path))
    assert code == 0
    assert out.endswith(f"chart written to {path}\n")
    assert ElementTree.parse(path).getroot().tag.endswith("svg")


def test_diff_json_and_human(small: str, wide: None) -> None:
    code, out, _ = cli(small, "diff", "g", "--from", "2022-01-21", "--to", "2022-02-01", "--json")
    assert code == 0
    result = json.loads(out)
    assert [(f["fact"], f["changed"]) for f in result["facts"]] == [
        ("control", ["status", "positions"]),
        ("killed", ["status", "range", "positions"]),
    ]
    report = {
        "id": "r2",
        "outlet": "outlet",
        "outlet_name": "Outlet",
        "published_at": "2022-01-31T07:00:00Z",
    }
    assert result["new_claims"] == [
        {
            "claim": "c5",
            "fact": "control",
            "value": "sdf",
            "qualifier": None,
            "value_words": "sdf",
            "unit": None,
            "claimant": "sdf",
            "claimant_name": "SDF",
            "report": report,
        }
    ]
    assert result["retractions"] == [
        {
            "id": "x1",
            "claim": "c3",
            "fact": "killed",
            "claimant": "sohr",
            "reason": "revised",
            "report": report,
            "recorded_by": "alice",
            "by": "outlet",  # the outlet that had relayed SOHR withdrew its own report
        }
    ]
    assert result["corrections"] == [
        {
            "corrects": "c4",
            "claim": "c6",
            "fact": "killed",
            "value": 9,
            "qualifier": None,
            "value_words": "9",
            "unit": None,
            "claimant": "outlet",
            "claimant_name": "Outlet",
            "report": report,
        }
    ]
    code, out, _ = cli(small, "diff", "g", "--from", "2022-01-21", "--to", "2022-02-01")
    assert code == 0
    titles = [line for line in out.splitlines() if line[:1] not in ("│", "┃", "┏", "┡", "├", "└")]
    assert titles == [
        "g — what changed between the end of 21 Jan 2022 (UTC) and the end of 1 Feb 2022 (UTC)",
        "new claims",
        "corrections",
        "retractions",
    ]
    r2 = "r2 (outlet, 31 Jan 2022 07:00 UTC)"
    assert _cells(out) == [
        ["fact", "before", "after", "what changed", "reports"],
        ["control", "not yet claimed", "single", "sdf joined: sdf", r2],
        ["", "", "sdf", "status single (only sdf)", ""],
        ["killed", "contested", "single", "outlet revised: 7 → 9", r2],
        ["", "7–∞", "9", "outlet corrected its report of sohr: withdrew at least 20", ""],
        ["", "", "", "status contested → single (only outlet)", ""],
        ["", "", "", "range 7–∞ → 9", ""],
        ["report", "fact", "claimant", "value", "claim"],
        [r2, "control", "sdf", "sdf", "c5"],
        ["", "", "", "", "by alice"],
        ["report", "fact", "claimant", "value", "claim"],
        [r2, "killed", "outlet", "9", "c6"],
        ["", "", "", "", "(corrects c4)"],
        ["", "", "", "", "by alice"],
        ["report", "claim", "fact", "claimant", "reason"],
        [r2, "c3", "killed", "sohr", "revised"],
        ["", "by alice", "", "(withdrawn by outlet)", ""],
    ]
    code, out, _ = cli(small, "diff", "g", "--from", "2022-01-22", "--to", "2022-01-23")
    assert (code, out) == (
        0,
        "no fact of g changed between the end of 22 Jan 2022 (UTC) and the end of 23 Jan 2022 "
        "(UTC)\n",
    )


def test_diff_counts_long_cells_and_lists_long_lists_a_line_each(
    small: str, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incident_ledger.cli import time_commands

    monkeypatch.setattr(time_commands, "LISTED_ROWS", 1)
    monkeypatch.setattr(time_commands, "LONG_LIST", 0)
    code, out, _ = cli(small, "diff", "g", "--from", "2022-01-21", "--to", "2022-02-01")
    assert code == 0
    cells = _cells(out)
    assert cells[3:5] == [
        [
            "killed",
            "contested",
            "single",
            "outlet revised: 7 → 9",
            "r2 (outlet, 31 Jan 2022 07:00 UTC)",
        ],
        ["", "7–∞", "9", "… 3 more changes (--json lists them)", ""],
    ]
    r2 = "r2 (outlet, 31 Jan 2022 07:00 UTC)"
    assert out.splitlines()[-6:] == [
        "new claims (1):",
        f"  {r2} · control · sdf · sdf · c5 by alice",
        "corrections (1):",
        f"  {r2} · killed · outlet · 9 · c6 (corrects c4) by alice",
        "retractions (1):",
        f"  {r2} · c3 by alice · killed · sohr (withdrawn by outlet) · revised",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["diff", "g", "--from", "2022-02-01", "--to", "2022-01-21"],
            2,
            "--from (2022-02-01) must be earlier than --to (2022-01-21)",
        ),
        (
            ["diff", "g", "--from", "2022-01-21", "--to", "2022-01-21T23:59:59.999999Z"],
            2,
            "--from (2022-01-21) must be earlier than --to (2022-01-21T23:59:59.999999Z)",
        ),
        (
            ["diff", "g", "--from", "21/01/2022", "--to", "2022-02-01"],
            2,
            "'21/01/2022' is not a date (YYYY-MM-DD) or a date-time with a UTC offset "
            "(YYYY-MM-DDTHH:MM:SSZ)",
        ),
        (
            ["timeline", "g", "--at", "2022-01-21T10:00"],
            2,
            "'2022-01-21T10:00' is not a date (YYYY-MM-DD) or a date-time with a UTC offset "
            "(YYYY-MM-DDTHH:MM:SSZ)",
        ),
        (["timeline", "nowhere"], 1, "no incident 'nowhere' in the ledger"),
        (["history", "nowhere", "killed"], 1, "no incident 'nowhere' in the ledger"),
        (["history", "g", "wounded"], 1, "no claims of 'wounded' in incident 'g'"),
        (
            ["diff", "nowhere", "--from", "2022-01-21", "--to", "2022-02-01"],
            1,
            "no incident 'nowhere' in the ledger",
        ),
        (
            ["history", "g", "killed", "--chart", "killed.pdf"],
            2,
            "--chart must name a .svg or .png file, not 'killed.pdf'",
        ),
        (
            ["history", "g", "killed", "--chart", "killed"],
            2,
            "--chart must name a .svg or .png file, not 'killed'",
        ),
        (
            ["history", "g", "control", "--chart", "control.svg"],
            2,
            "--chart draws numbers only: 'control' holds text; use --json for its history",
        ),
        (
            ["history", "g", "attack.started", "--chart", "started.png"],
            2,
            "--chart draws numbers only: 'attack.started' holds dates; use --json for its history",
        ),
        (
            ["history", "g", "killed", "--chart", "no/such/dir/killed.svg"],
            2,
            "directory no/such/dir does not exist",
        ),
    ],
)
def test_bad_input_exit_codes_and_messages(
    small: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    got, out, err = cli(small, *args)
    assert (got, out, err) == (code, "", f"error: {message}\n")
    assert not any(tmp_path.glob("*.svg")) and not any(tmp_path.glob("*.png"))


def test_diff_needs_both_times(small: str) -> None:
    code, _, err = cli(small, "diff", "g", "--from", "2022-01-21")
    assert code == 2
    assert "Missing option '--to'" in err


def test_projection_refuses_reversed_times(small: str) -> None:
    with workspace.open_workspace(small) as ws:
        at = parse_instant("2022-01-21", end_of_day=True)
        with pytest.raises(BadInputError, match="the from time must be earlier than the to time"):
            diff(ws.views.connection, "g", at, at)


def test_every_command_over_time_has_help() -> None:
    for command in ("timeline", "history", "diff"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage:" in result.stdout


# --- property: history and diff agree with state ----------------------------------------

SOURCES = ["s0", "s1"]
FACTS = ["killed", "control", "started"]

counts = st.integers(min_value=1, max_value=6)
qualifiers = st.sampled_from([None, "approx", "at_least", "more_than", "at_most", "less_than"])
days = st.integers(18, 24).map(lambda d: f"2022-01-{d}")
# A value for each fact, of its kind: a claim takes the one of the fact it is about.
claim_values = st.fixed_dictionaries(
    {
        "killed": st.one_of(
            st.tuples(counts, qualifiers).map(lambda t: {"value": t[0], "qualifier": t[1]}),
            st.tuples(counts, counts).map(lambda t: {"value": {"min": min(t), "max": max(t)}}),
        ),
        "control": st.sampled_from(["sdf", "SDF", "isis"]).map(lambda v: {"value": v}),
        "started": st.one_of(
            days.map(lambda d: {"value": d}),
            st.tuples(days, days).map(lambda t: {"value": f"[{min(t)},{max(t)}]"}),
        ),
    }
)
published_times = st.one_of(
    st.integers(1, 9).map(lambda d: f"2022-01-0{d}"),
    st.tuples(st.integers(1, 9), st.integers(0, 23)).map(
        lambda t: f"2022-01-0{t[0]}T{t[1]:02d}:15:00Z"
    ),
)
claim_ops = st.tuples(
    st.just("claim"),
    st.sampled_from(FACTS),
    claim_values,
    st.integers(0, 5),
    st.sampled_from([None, *SOURCES]),
)
retract_ops = st.tuples(st.just("retract"), st.integers(0, 40), st.integers(0, 5))
correct_ops = st.tuples(
    st.just("correct"),
    st.integers(0, 40),
    claim_values,
    st.integers(0, 5),
    st.sampled_from([None, *SOURCES]),
)
# A few claims first, then claims, retractions and corrections in any order.
operations = st.tuples(
    st.lists(claim_ops, min_size=2, max_size=5),
    st.lists(st.one_of(claim_ops, retract_ops, correct_ops), max_size=15),
).map(lambda parts: parts[0] + parts[1])


def _record(number: int, op: Any, claims: list[str]) -> dict[str, Any] | None:
    """One operation as a record (None: nothing to retract or correct yet)."""
    if op[0] == "claim":
        _, fact, values, report, claimant = op
        value = values[fact]
        claim: dict[str, Any] = {
            "type": "claim",
            "id": f"c{number}",
            "incident": "i",
            "fact": fact,
            "report": f"r{report}",
            "claimant": claimant,
        }
        return claim | dict(value)
    if not claims:
        return None
    if op[0] == "retract":
        _, target, report = op
        return {
            "type": "retraction",
            "id": f"x{number}",
            "claim": claims[target % len(claims)],
            "report": f"r{report}",
        }
    _, target, values, report, claimant = op
    value = values[FACTS[target % len(FACTS)]]
    correction: dict[str, Any] = {
        "type": "correction",
        "id": f"c{number}",
        "claim": claims[target % len(claims)],
        "incident": "i",
        "fact": FACTS[target % len(FACTS)],
        "report": f"r{report}",
        "claimant": claimant,
    }
    return correction | dict(value)


def _build(workdir: Path, reports: list[str], ops: list[Any], gaps: list[int]) -> list[datetime]:
    """Record the operations one by one, each later than the last; returns recorded times."""
    now = [datetime(2022, 3, 1, tzinfo=UTC)]
    ledger = Ledger(locate(str(workdir / "l.db")).event_store_env(), clock=lambda: now[0])
    try:
        setup: list[dict[str, Any]] = [{"type": "incident", "id": "i", "title": "I"}]
        setup += [{"type": "source", "id": s, "name": s, "kind": "outlet"} for s in SOURCES]
        setup += [
            {
                "type": "report",
                "id": f"r{n}",
                "source": SOURCES[n % len(SOURCES)],
                "published_at": p,
            }
            for n, p in enumerate(reports)
        ]
        importer.record(ledger, [Entry("setup", validate_record(r, "setup")) for r in setup])
        recorded = [now[0]]
        claims: list[str] = []
        said_in: dict[str, tuple[str, str]] = {}
        published = {f"r{n}": p for n, p in enumerate(reports)}
        for number, op in enumerate(ops):
            now[0] += timedelta(hours=gaps[number % len(gaps)])
            record = _record(number, op, claims)
            if record is None:
                continue
            record = keeping_end_rules(record, said_in, published)
            clean = {k: v for k, v in record.items() if v is not None}
            try:
                importer.record(ledger, [Entry("op", validate_record(clean, "op"))])
            except BadInputError as refused:  # a claim ended already
                if ": claim: claim '" not in str(refused):
                    raise
                continue
            recorded.append(now[0])
            if record["type"] != "retraction":
                claims.append(record["id"])
                said_in[record["id"]] = (record["report"], record["fact"])
        views = Views(workdir / "v.db")
        try:
            Projector(ledger, views).catch_up()
        finally:
            views.close()
        return recorded
    finally:
        ledger.close()


def _same(fact: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> bool:
    """Equal understanding: status, range, value and which claims are the positions."""

    def key(f: Mapping[str, Any] | None) -> Any:
        if f is None:
            return None
        claims = sorted(c for p in f["positions"] for c in p.get("claims") or [p["claim"]])
        return (f["status"], f["range"], f["value"], claims)

    return bool(key(fact) == key(other))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reports=st.lists(published_times, min_size=6, max_size=6),
    ops=operations,
    gaps=st.lists(st.integers(1, 48), min_size=1, max_size=4),
    queries=st.lists(
        st.tuples(published_times, published_times, st.integers(0, 25)), min_size=1, max_size=4
    ),
)
def test_history_and_diff_agree_with_state(
    reports: list[str],
    ops: list[Any],
    gaps: list[int],
    queries: list[tuple[str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        recorded = _build(workdir, reports, ops, gaps)
        views = Views(workdir / "v.db")
        db = views.connection
        try:
            for first, second, r_index in queries:
                as_recorded = None if r_index >= len(recorded) else recorded[r_index]
                t1 = parse_instant(first, end_of_day=True)
                t2 = parse_instant(second, end_of_day=True)
                _check_history(db, t1, as_recorded)
                _check_history(db, t2, as_recorded)
                if t1 < t2:
                    _check_diff(db, t1, t2, as_recorded)
        finally:
            views.close()


def _check_history(db: Any, at: datetime, as_recorded: datetime | None) -> None:
    facts = state(db, "i", at, as_recorded)["facts"]
    for fact in FACTS:
        try:
            steps = history(db, "i", fact, as_recorded)["steps"]
        except NotFoundError:
            assert fact not in facts
            continue
        for before, after in itertools.pairwise(steps):
            assert not _same(before, after)  # a step is emitted only on a change
        step = step_at(steps, at)
        assert _same(step, facts.get(fact)), (fact, step, facts.get(fact))


def _check_diff(db: Any, t1: datetime, t2: datetime, as_recorded: datetime | None) -> None:
    before = state(db, "i", t1, as_recorded)["facts"]
    after = state(db, "i", t2, as_recorded)["facts"]
    result = diff(db, "i", t1, t2, as_recorded)
    listed = {f["fact"]: f for f in result["facts"]}
    for fact in before.keys() | after.keys():
        if fact in listed:
            assert listed[fact]["before"] == before.get(fact)
            assert listed[fact]["after"] == after.get(fact)
        else:
            assert _same(before.get(fact), after.get(fact))


def test_a_history_step_counts_its_positions_past_a_dozen() -> None:
    from incident_ledger.cli.render import LISTED_POSITIONS
    from incident_ledger.cli.time_commands import _positions

    position = {"claimant": "s", "value": 3, "qualifier": "exact", "report": "r"}
    held = {"positions": [position] * LISTED_POSITIONS}
    assert _positions(held).count("\n") == LISTED_POSITIONS - 1
    held = {"positions": [position] * (LISTED_POSITIONS + 1)}
    assert _positions(held) == "13 positions (history --json lists them)"


def test_all_positions_is_refused_without_json(small: str) -> None:
    assert cli(small, "history", "g", "killed", "--all-positions") == (
        2,
        "",
        "error: --all-positions is for --json: the table lists each step's positions\n",
    )
