"""The catalogue: ``incidents`` and ``facts`` list what the ledger follows, and count the
claims as the understanding counts them: those known at the time asked, none entered in
error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_understanding_rules import claim, cli, fact, ledger_of, report


def test_incidents_and_facts_list_what_the_ledger_follows(tmp_path: Path) -> None:
    records = [
        fact("killed", unit="people", cumulative=True, label="Killed"),
        fact("site", "place"),
        report("r1", "wire", "2020-08-05"),
        claim("k1", "killed", 150, "r1"),
        claim("k2", "killed", 100, "r1", claimant="ministry"),
        claim("s1", "started", "2020-08-04", "r1"),
    ]
    db = ledger_of(tmp_path, records, zone="Asia/Beirut")
    code, out, _ = cli(db, "incidents", "--json")
    assert json.loads(out) == [
        {
            "id": "b",
            "title": "Blast",
            "title_ar": None,
            "place": None,
            "timezone": "Asia/Beirut",
            "claims": 3,
            "facts": 3,
            "first_known": "2020-08-05T20:59:59.999999Z",
            "last_known": "2020-08-05T20:59:59.999999Z",
        }
    ]
    code, out, _ = cli(db, "facts", "b", "--at", "2020-08-06", "--json")
    assert json.loads(out)["timezone"] == "Asia/Beirut"
    listed = {f["key"]: f for f in json.loads(out)["facts"]}
    assert listed["killed"] == {
        "key": "killed",
        "kind": "count",
        "declared": True,
        "unit": "people",
        "cumulative": True,
        "claims": 2,
        "status": "contested",
        "label": "Killed",
        "why": "150 (wire) vs 100 (ministry)",
    }
    assert (listed["started"]["kind"], listed["started"]["declared"]) == ("time", False)
    assert (listed["site"]["claims"], listed["site"]["status"]) == (0, None)
    code, out, _ = cli(db, "facts", "b", "--at", "2020-08-06")
    assert code == 0
    assert "time (inferred)" in out and "not yet known" in out
    assert "status by the end of 6 Aug 2020 (Asia/Beirut)" in out
    code, out, _ = cli(db, "facts", "b", "--at", "2020-08-06", "--tz", "UTC")
    assert "status at 6 Aug 2020 20:59:59 UTC" in out
    code, out, _ = cli(db, "incidents")
    assert "Asia/Beirut" in out and "5 Aug 2020 to 5 Aug 2020" in out


def test_facts_and_incidents_count_the_claims_known_then_and_not_voided(tmp_path: Path) -> None:
    """A count never shows what was not yet reported, nor a claim entered in error: ``facts
    --at`` counted every claim the ledger held, and listed a fact nobody had claimed yet."""
    records = [
        report("r1", "wire", "2020-08-05"),
        report("r2", "paper", "2020-08-07"),
        claim("k1", "killed", 150, "r1"),
        claim("k2", "killed", 160, "r2"),
        claim("w1", "wounded", 30, "r2"),
    ]
    db = ledger_of(tmp_path, records)

    def counts(at: str) -> dict[str, Any]:
        listed = json.loads(cli(db, "facts", "b", "--at", at, "--json")[1])["facts"]
        return {f["key"]: (f["claims"], f["status"]) for f in listed}

    assert counts("2020-08-05") == {"killed": (1, "single")}
    assert counts("2020-08-07") == {"killed": (2, "contested"), "wounded": (1, "single")}
    assert cli(db, "erratum", "w1", "--reason", "the wrong report")[0] == 0
    assert counts("2020-08-07") == {"killed": (2, "contested")}
    [listed] = json.loads(cli(db, "incidents", "--json")[1])
    assert (listed["claims"], listed["facts"]) == (2, 1)
    assert cli(db, "erratum", "report:r2", "--reason", "not this incident")[0] == 0
    [listed] = json.loads(cli(db, "incidents", "--json")[1])
    assert (listed["claims"], listed["last_known"]) == (1, "2020-08-05T23:59:59.999999Z")


def test_facts_before_any_was_known_says_so(tmp_path: Path) -> None:
    """Before its first claim an incident's facts (none declared) were "no facts of b in
    the ledger", though the ledger lists them later."""
    db = ledger_of(tmp_path, [report("r1", "wire", "2020-08-05"), claim("k1", "killed", 1, "r1")])
    assert cli(db, "facts", "b", "--at", "2020-08-04") == (
        0,
        "no facts of b known by the end of 4 Aug 2020 (UTC)\n",
        "",
    )
