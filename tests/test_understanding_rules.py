"""The rules of understanding, each on the smallest ledger that shows it (the examples of
docs/understanding.md): cumulative facts through time, the width of "about", one
position per claimant and instant, relays answering for their corrections, local time,
the reason each status gives, and names that are not in the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli import render
from incident_ledger.cli.main import app
from incident_ledger.projections import agreement
from incident_ledger.projections.agreement import Interval
from incident_ledger.usecases import reading

runner = CliRunner()


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def cli(db: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", db, *args], input=stdin, terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def ledger_of(tmp_path: Path, records: list[dict[str, Any]], zone: str | None = None) -> str:
    db = str(tmp_path / "ledger.db")
    incident = {"type": "incident", "id": "b", "title": "Blast"}
    if zone:
        incident["timezone"] = zone
    sources = [
        {"type": "source", "id": s, "name": s.title(), "kind": "outlet"}
        for s in ("ministry", "governor", "wire", "local", "paper")
    ]
    assert cli(db, "init")[0] == 0
    code, _, err = cli(db, "append", "--file", "-", stdin=jsonl([incident, *sources, *records]))
    assert code == 0, err
    return db


def report(report_id: str, source: str, published: str) -> dict[str, Any]:
    return {"type": "report", "id": report_id, "source": source, "published_at": published}


def claim(claim_id: str, fact: str, value: Any, report_id: str, **more: Any) -> dict[str, Any]:
    fields = {"type": "claim", "id": claim_id, "incident": "b", "fact": fact, "value": value}
    return fields | {"report": report_id} | more


def fact(key: str, kind: str = "count", **more: Any) -> dict[str, Any]:
    return {"type": "fact", "incident": "b", "key": key, "kind": kind} | more


# --- the cumulative rule, as a function ------------------------------------------------------


def test_a_total_that_rises_is_no_contradiction_and_one_that_falls_is() -> None:
    rising = [("t1", Interval(10, None)), ("t2", Interval(50, 60)), ("t3", Interval(178, 178))]
    assert agreement.first_contradiction(rising) is None
    assert agreement.cumulative_range(rising, contested=False) == Interval(178, 178)
    falling = [("t1", Interval(20, 20)), ("t2", Interval(7, 7))]
    assert agreement.first_contradiction(falling) == (0, 1)
    same_instant = [("t1", Interval(20, 20)), ("t1", Interval(7, 7))]
    assert agreement.first_contradiction(same_instant) == (0, 1)
    # touching bounds at one instant agree: one value holds both
    assert agreement.first_contradiction([("t", Interval(5, 5)), ("t", Interval(0, 5))]) is None
    # contested: the hull of what each implies for the latest total
    assert agreement.cumulative_range(falling, contested=True) == Interval(7, None)


# --- cumulative facts on a ledger ------------------------------------------------------------


def test_a_toll_that_rose_for_ten_days_reads_as_one_rising_total(tmp_path: Path) -> None:
    records = [
        fact("killed", cumulative=True),
        report("r1", "local", "2020-08-04"),
        report("r2", "ministry", "2020-08-06"),
        report("r3", "governor", "2020-08-14"),
        claim("c1", "killed", 10, "r1", qualifier="at_least"),
        claim("c2", "killed", 100, "r2"),
        claim("c3", "killed", 178, "r3"),
    ]
    db = ledger_of(tmp_path, records)
    killed = reading.current_state(db, "b", at="2020-08-15")["facts"]["killed"]
    # v1 showed 10–∞ contested at every date: the early "at least 10" never aged out
    assert (killed["status"], killed["range"]) == ("corroborated", {"min": 178, "max": 178})
    assert killed["why"]["summary"] == (
        "corroborated by 3 independent claimants (local, ministry and governor), whose figures "
        "fit one rising total: local says at least 10 as of 4 Aug 2020; ministry says 100 as of "
        "6 Aug 2020; governor says 178 as of 14 Aug 2020"
    )
    assert [p["as_of"] for p in killed["positions"]] == [
        "2020-08-04T23:59:59.999999Z",
        "2020-08-06T23:59:59.999999Z",
        "2020-08-14T23:59:59.999999Z",
    ]


def test_a_lower_figure_later_contests_a_total_and_valid_time_sets_the_instant(
    tmp_path: Path,
) -> None:
    records = [
        fact("killed", cumulative=True),
        report("r1", "wire", "2020-08-05"),
        report("r2", "paper", "2020-08-07"),
        claim("c1", "killed", 100, "r1"),
        claim("c2", "killed", 80, "r2"),  # later and lower: a total cannot fall
        claim("c3", "killed", 60, "r2", id="c3", claimant="local", valid_time="2020-08-04"),
    ]
    db = ledger_of(tmp_path, records)
    killed = reading.current_state(db, "b", at="2020-08-08")["facts"]["killed"]
    assert killed["status"] == "contested"
    assert killed["why"]["conflict"] == ["wire", "paper"]
    assert killed["why"]["summary"].startswith(
        "contested: wire says 100 as of 5 Aug 2020, but paper says 80 as of 7 Aug 2020, later: "
        "a total cannot fall"
    )
    # local's 60 is as of 4 Aug (its valid time): before wire's 100, no contradiction
    local = next(p for p in killed["positions"] if p["claimant"] == "local")
    assert local["as_of"] == "2020-08-04T23:59:59.999999Z"
    assert killed["range"] == {"min": 60, "max": None}  # the hull


# --- approximation ---------------------------------------------------------------------------


def test_about_has_a_width_and_a_fact_may_declare_it(tmp_path: Path) -> None:
    records = [
        fact("fled", tolerance={"fraction": 0.2}),
        report("r1", "wire", "2020-08-05"),
        claim("a1", "killed", 70, "r1", qualifier="approx", claimant="ministry"),
        claim("a2", "killed", 70, "r1", qualifier="more_than", claimant="governor"),
        claim("f1", "fled", 80000, "r1", qualifier="approx", claimant="ministry"),
        claim("f2", "fled", 100000, "r1", qualifier="approx", claimant="governor"),
        claim("h1", "homeless", 80000, "r1", qualifier="approx", claimant="ministry"),
        claim("h2", "homeless", 100000, "r1", qualifier="approx", claimant="governor"),
    ]
    facts = reading.current_state(ledger_of(tmp_path, records), "b", at="2020-08-05")["facts"]
    # about 70 is 63–77; more than 70 is 71 on: they share 71–77
    assert (facts["killed"]["status"], facts["killed"]["range"]) == (
        "corroborated",
        {"min": 63, "max": None},
    )
    assert facts["killed"]["why"]["summary"] == (
        "corroborated by 2 independent claimants (governor and ministry), who share 71–77; "
        "wire's relays counted as governor and ministry"
    )
    # ±20 % declared: 64000–96000 and 80000–120000 overlap
    assert facts["fled"]["status"] == "corroborated"
    # the default ±10 %: 72000–88000 and 90000–110000 do not
    assert facts["homeless"]["status"] == "contested"


# --- one position per claimant and instant ----------------------------------------------------


@pytest.mark.slow
def test_two_values_in_one_report_are_one_position_whatever_their_order(tmp_path: Path) -> None:
    for order in (1, -1):
        lines = [
            claim("s1", "killed", 20, "r1", qualifier="at_least", claimant="wire"),
            claim("s2", "killed", 20, "r1", claimant="wire"),
            claim("t1", "started", "2020-08-04", "r1", claimant="local"),
            claim("t2", "started", "2020-08-03", "r1", claimant="local"),
        ][::order]
        workdir = tmp_path / str(order)
        workdir.mkdir()
        db = ledger_of(workdir, [report("r1", "paper", "2020-08-05"), *lines])
        facts = reading.current_state(db, "b", at="2020-08-05")["facts"]
        (wire,) = facts["killed"]["positions"]
        assert (wire["claims"], wire["interval"]) == (["s1", "s2"], {"min": 20, "max": 20})
        assert "inconsistent_within_report" not in wire
        (local,) = facts["started"]["positions"]
        assert local["inconsistent_within_report"] is True
        days = {"min": "2020-08-03T00:00:00Z", "max": "2020-08-04T23:59:59.999999Z"}
        assert local["interval"] == days  # the hull of the two days


def test_texts_in_two_spellings_are_one_value(tmp_path: Path) -> None:
    """Texts agree without regard to case, so the range shows the agreed text once."""
    db = ledger_of(
        tmp_path,
        [
            report("r1", "wire", "2020-08-05"),
            report("r2", "local", "2020-08-06"),
            claim("a1", "cause", "Ammonium Nitrate", "r1"),
            claim("a2", "cause", "ammonium nitrate ", "r2"),
            claim("a3", "cause", "fireworks", "r2", claimant="paper"),
        ],
    )
    facts = reading.current_state(db, "b", at="2020-08-05")["facts"]
    assert (facts["cause"]["status"], facts["cause"]["value"]) == ("single", "Ammonium Nitrate")
    facts = reading.current_state(db, "b", at="2020-08-06")["facts"]
    assert facts["cause"]["status"] == "contested"
    assert facts["cause"]["value"] == ["Ammonium Nitrate", "fireworks"]


# --- relays ----------------------------------------------------------------------------------


def test_an_outlet_that_misquoted_a_minister_answers_for_its_correction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        fact("nitrate", "quantity", unit="tonnes"),
        report("r1", "paper", "2020-08-05T10:00:00+03:00"),
        report("r2", "paper", "2020-08-05T16:00:00+03:00"),
        claim("q1", "nitrate", 2700, "r1", claimant="ministry"),
        {"type": "correction", "id": "q2", "claim": "q1", "incident": "b", "fact": "nitrate",
         "value": 2750, "report": "r2", "claimant": "ministry"},
    ]  # fmt: skip
    db = ledger_of(tmp_path, records)
    code, out, _ = cli(db, "history", "b", "nitrate", "--json")
    assert code == 0
    change = json.loads(out)["steps"][1]["changes"][0]
    assert (change["change"], change["by"], change["claimant"]) == (
        "corrected",
        "paper",
        "ministry",
    )
    monkeypatch.setattr(render.out, "_width", 200)  # no cell wraps
    code, out, _ = cli(db, "history", "b", "nitrate")
    assert "paper corrected its report of ministry: 2700 → 2750" in out
    sources = {s["id"]: s for s in reading.sources(db)}
    assert (sources["paper"]["corrected"], sources["ministry"]["corrected"]) == (1, 0)
    code, out, _ = cli(db, "diff", "b", "--from", "2020-08-04", "--to", "2020-08-06", "--json")
    (nitrate,) = json.loads(out)["facts"]
    assert [c["change"] for c in nitrate["changes"]] == ["joined", "status", "range"]


# --- local time ------------------------------------------------------------------------------


def test_a_dated_report_is_known_from_the_end_of_that_day_there(tmp_path: Path) -> None:
    records = [
        report("r1", "ministry", "2020-08-04"),
        claim("d1", "denied", True, "r1"),
    ]
    db = ledger_of(tmp_path, records, zone="Asia/Beirut")
    # 17:00 in Beirut on the 4th: the report, which gives only a date, is not yet known
    before = reading.current_state(db, "b", at="2020-08-04T17:00:00+03:00")["facts"]
    assert "denied" not in before
    facts = reading.current_state(db, "b", at="2020-08-04")
    assert facts["known_at"] == "2020-08-04T20:59:59.999999Z"  # the end of the day, UTC+3
    assert facts["facts"]["denied"]["positions"][0]["published_at"] == "2020-08-04T20:59:59.999999Z"
    code, out, _ = cli(db, "state", "b", "--at", "2020-08-04")
    assert code == 0
    assert out.splitlines()[0].startswith("b — known by the end of 4 Aug 2020 (Asia/Beirut)")


def test_one_report_on_two_incidents_is_known_in_each_ones_days(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, [], zone="Asia/Damascus")
    other = {"type": "incident", "id": "d", "title": "Diyala", "timezone": "Asia/Baghdad"}
    records = [
        other,
        report("r1", "wire", "2022-01-21"),
        claim("g1", "killed", 20, "r1"),
        claim("d1", "killed", 11, "r1") | {"incident": "d"},
    ]
    assert cli(db, "append", "--file", "-", stdin=jsonl(records))[0] == 0
    ghwayran = reading.current_state(db, "b", at="2022-01-21")["facts"]["killed"]
    diyala = reading.current_state(db, "d", at="2022-01-21")["facts"]["killed"]
    assert ghwayran["positions"][0]["published_at"] == "2022-01-21T21:59:59.999999Z"  # UTC+2
    assert diyala["positions"][0]["published_at"] == "2022-01-21T20:59:59.999999Z"  # UTC+3


# --- names that are not in the ledger --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["state", "beirut-blst"],
        ["timeline", "beirut-blst"],
        ["history", "beirut-blst", "killed"],
        ["diff", "beirut-blst", "--from", "2020-08-04", "--to", "2020-08-05"],
        ["facts", "beirut-blst"],
        ["export", "--format", "csv", "--incident", "beirut-blst"],
        ["search", "x", "--incident", "beirut-blst"],
    ],
)
def test_an_unknown_incident_suggests_the_closest_everywhere(
    tmp_path: Path, args: list[str]
) -> None:
    db = ledger_of(tmp_path, [])
    other = {"type": "incident", "id": "beirut-blast", "title": "Beirut"}
    assert cli(db, "append", "--file", "-", stdin=jsonl([other]))[0] == 0
    assert cli(db, *args) == (
        1,
        "",
        "error: no incident 'beirut-blst' in the ledger; did you mean 'beirut-blast'?\n",
    )


def test_an_unknown_fact_suggests_the_closest(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, [report("r1", "wire", "2020-08-05"), claim("k", "killed", 1, "r1")])
    assert cli(db, "history", "b", "kiled") == (
        1,
        "",
        "error: no claims of 'kiled' in incident 'b'; did you mean 'killed'?\n",
    )
    assert cli(db, "history", "b", "KILLED")[2] == (
        "error: no claims of 'KILLED' in incident 'b'; did you mean 'killed'?\n"
    )
    said = "error: no incident 'B' in the ledger; did you mean 'b'?\n"
    assert cli(db, "state", "B")[2] == said  # letter case aside


# --- the read model holds to the log ---------------------------------------------------------


def test_the_read_model_check_agrees_with_shared_zones_and_facts_declared_anew(
    tmp_path: Path,
) -> None:
    """A claim's row is read by its fact's first rules, so it never changes: ``state``
    reads a fact declared anew again. A zone's day ends are written once, by its first
    incident. ``verify`` recomputes every row from the log and finds the model agrees."""
    db = ledger_of(
        tmp_path,
        [report("r1", "wire", "2020-08-04"), claim("k1", "killed", 70, "r1", qualifier="approx")],
        zone="Asia/Beirut",
    )
    later = [
        {"type": "incident", "id": "c", "title": "Aftershock", "timezone": "Asia/Beirut"},
        fact("killed", tolerance={"absolute": 2}),
        report("r2", "paper", "2020-08-05"),
        claim("k2", "killed", 71, "r2"),
    ]
    assert cli(db, "append", "--file", "-", stdin=jsonl(later))[0] == 0
    code, out, err = cli(db, "verify")
    assert (code, err) == (0, "")
    assert out.splitlines()[1].startswith("read model: agrees (")
    killed = reading.current_state(db, "b", at="2020-08-05")["facts"]["killed"]
    # about 70 with the tolerance declared after it: 68–72, which holds 71
    intervals = {p["claim"]: p["interval"] for p in killed["positions"]}
    assert intervals == {"k1": {"min": 68, "max": 72}, "k2": {"min": 71, "max": 71}}
    assert killed["status"] == "corroborated"
    assert cli(db, "replay")[0] == 0
    assert cli(db, "verify")[1].splitlines()[1] == out.splitlines()[1]
