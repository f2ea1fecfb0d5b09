"""The bundled Ghwayran sample and the demo's key answers."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger import samples
from incident_ledger.usecases import reading
from incident_ledger.usecases.demo import walkthrough

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
"""The five articles the sample was drawn from, beside the repository (``../shared/seeds``)
when they are there: copyrighted, they are not in the repository."""
SEED_SHA256 = {
    "000_3a94d345b1868c56.txt": "e4df1ac58319e38bfe6c1c6fc6337559a47e90543e0d0afb8cb7de3bf67c8e9c",
    "001_0516f7807f692761.txt": "68440cf84977d83e2efd72a9d99451afb8e07dea2d018ebea0090557957547f6",
    "002_3927b7b3ff9bdebb.txt": "bad4bbea4798e491049b28b609017855a3447b9ad8d2c8dad999ba6490a335b2",
    "003_127e2973349d8927.txt": "7e3d2899f67b3f4ce450c0e06ed2a619e7ce6d6470e84867c3c93510284c1d86",
    "004_1ed8fce82051cc5a.txt": "07cab29461609a38b6767a438ac9dd5ddc04e0e3199216ce9a80b20024f9629c",
}
"""Each article's SHA-256, as the sample's reports record it."""


def facts_at(db: str, day: str, incident: str = "ghwayran-2022") -> dict[str, Any]:
    facts: dict[str, Any] = reading.current_state(db, incident, at=day)["facts"]
    return facts


def test_security_forces_deaths_are_contested_on_21_january(sample_db: str) -> None:
    fact = facts_at(sample_db, "2022-01-21")["killed.security_forces"]
    assert fact["status"] == "contested"
    claimants = {p["claimant"]: p for p in fact["positions"]}
    assert claimants["outlet-002"]["value"] == 7
    assert claimants["sohr"]["via"] == ["afp"]
    assert fact["range"]["min"] == 7


def test_sdf_figure_on_31_january_is_more_than_120(sample_db: str) -> None:
    fact = facts_at(sample_db, "2022-01-31")["killed.security_forces"]
    sdf = next(p for p in fact["positions"] if p["claimant"] == "sdf")
    assert (sdf["value"], sdf["qualifier"]) == (120, "more_than")
    assert sdf["interval"] == {"min": 121, "max": None}
    assert sdf["via"] == ["ap"]
    assert fact["range"]["max"] is None
    assert "killed.security_forces" not in facts_at(sample_db, "2022-01-20")


def test_full_curfew_lifting_is_known_on_1_february_not_before_31_january(
    sample_db: str,
) -> None:
    assert "curfew.full" not in facts_at(sample_db, "2022-01-30")
    fact = facts_at(sample_db, "2022-02-01")["curfew.full"]
    assert fact["value"] == "lifted"
    assert fact["positions"][0]["claimant"] == "aanes-executive-council"
    partial = facts_at(sample_db, "2022-02-01")["curfew.partial"]
    assert partial["value"] == "from 18:00 to 06:00"


def test_sohr_isis_toll_rises_as_history_not_disagreement(sample_db: str) -> None:
    early = facts_at(sample_db, "2022-01-21")["killed.isis"]
    later = facts_at(sample_db, "2022-01-23")["killed.isis"]
    sohr_early = next(p for p in early["positions"] if p["claimant"] == "sohr")
    sohr_later = next(p for p in later["positions"] if p["claimant"] == "sohr")
    assert (sohr_early["value"], sohr_early["qualifier"]) == (16, "at_least")
    assert sohr_later["value"] == 40
    assert sum(p["claimant"] == "sohr" for p in later["positions"]) == 1


def test_control_is_claimed_with_an_ambiguous_monday(sample_db: str) -> None:
    fact = facts_at(sample_db, "2022-02-01")["control"]
    sdf = next(p for p in fact["positions"] if p["claimant"] == "sdf")
    assert sdf["report"] == "report-004"
    assert sdf["valid_time"] == "[2022-01-24,2022-01-31]"


def test_diyala_is_a_related_incident(sample_db: str) -> None:
    fact = facts_at(sample_db, "2022-01-23", incident="diyala-2022")["killed.soldiers"]
    assert fact["status"] == "corroborated"
    assert fact["value"] == {"min": 11, "max": 11}


def test_sample_reports_cite_the_seed_articles_by_hash() -> None:
    records = [json.loads(line) for line in samples.GHWAYRAN.open(encoding="utf-8")]
    reports = [r for r in records if r["type"] == "report"]
    assert sorted(r["sha256"] for r in reports) == sorted(SEED_SHA256.values())


def test_sample_quotes_are_in_the_seed_articles() -> None:
    if not all((SEEDS / name).is_file() for name in SEED_SHA256):
        pytest.skip(
            f"the seed articles (copyrighted, not in the repository) are not all at {SEEDS}"
        )
    by_hash = {}
    for name, expected in SEED_SHA256.items():
        data = (SEEDS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == expected, f"{name} is not the article"
        by_hash[expected] = data.decode("utf-8")
    records = [json.loads(line) for line in samples.GHWAYRAN.open(encoding="utf-8")]
    reports = {r["id"]: r for r in records if r["type"] == "report"}
    for claim in (r for r in records if r["type"] == "claim"):
        seed = by_hash[reports[claim["report"]]["sha256"]]
        assert claim["quote"] in seed, claim["id"]
        assert claim.get("translation"), claim["id"]


# Every change the demo lists at each step, in order (``changes.fact_changes`` in words).
# Read against the articles: the security forces' toll is contested on 21 Jan (SOHR's 20 —
# its "at least 20" and "20" in one report — against outlet-002's 7, both as of 21 Jan)
# and only updated, not contested anew, by the SDF's "more than 120" as of 30 Jan; control
# is first claimed on 22 Jan (the SDF, "at present") and disputed by Roya the same day,
# then claimed again for "Monday", 24 or 31 Jan; the curfew's lifting, reported on 31 Jan,
# takes effect on 1 Feb.
DEMO_CHANGES = {
    "2022-01-21": [
        "attack.repelled: sdf joined: yes",
        "attack.repelled: status single",
        "attack.started: misryoum joined: 20 Jan 2022",
        "attack.started: outlet-002 joined: 20 or 21 Jan 2022",
        "attack.started: sohr joined: 20 Jan 2022",
        "attack.started: status corroborated",
        "attack.started: range 20–21 Jan 2022",
        "car_bombs: outlet-002 joined: 1",
        "car_bombs: sohr joined: 1",
        "car_bombs: status corroborated",
        "car_bombs: range 1",
        "civilians.human_shields: misryoum joined: yes",
        "civilians.human_shields: status single",
        "coalition.airstrikes: pentagon joined: yes",
        "coalition.airstrikes: sdf joined: yes",
        "coalition.airstrikes: status corroborated",
        "detainees.elsewhere: kurdish-authorities joined: more than 12000",
        "detainees.elsewhere: outlet-002 joined: 11000–12000",
        "detainees.elsewhere: status contested",
        "detainees.elsewhere: range 11000–∞",
        "detainees.nationalities: kurdish-authorities joined: more than 50",
        "detainees.nationalities: status single",
        "detainees.nationalities: range 51–∞",
        "escape.foiled: sdf joined: yes",
        "escape.foiled: status single",
        "escaped: sdf joined: at least 89",
        "escaped: sohr joined: at least 3",
        "escaped: status corroborated",
        "escaped: range 89–∞",
        "fighting.ongoing: misryoum joined: yes",
        "fighting.ongoing: outlet-002 joined: yes",
        "fighting.ongoing: sdf joined: yes",
        "fighting.ongoing: sohr joined: yes",
        "fighting.ongoing: status corroborated",
        "inmates: misryoum joined: about 3500",
        "inmates: status single",
        "inmates: range 3150–3850",
        "isis.fighters_active: un joined: about 10000",
        "isis.fighters_active: status single",
        "isis.fighters_active: range 9000–11000",
        "killed.isis: sdf joined: 28",
        "killed.isis: sohr joined: at least 16",
        "killed.isis: status corroborated",
        "killed.isis: range 28",
        "killed.security_forces: outlet-002 joined: 7",
        "killed.security_forces: sohr joined: 20 (also at least 20)",
        "killed.security_forces: status contested",
        "killed.security_forces: range 7–20",
        "recaptured: sdf joined: 89 (also at least 89)",
        "recaptured: status single",
        "recaptured: range 89",
        "responsibility.claimed: isis joined: yes",
        "responsibility.claimed: status single",
        "riot.occurred: outlet-002 joined: yes",
        "riot.occurred: status single",
    ],
    "2022-01-22": [
        "alhol.families: roya joined: 20000–99999",
        "alhol.families: status single",
        "alhol.families: range 20000–99999",
        "attack.repelled: sdf restated: yes",
        "attack.started: roya joined: 20 Jan 2022",
        "attackers: sdf joined: about 100",
        "attackers: status single",
        "attackers: range 90–110",
        "car_bombs: roya joined: 2",
        "car_bombs: status corroborated → contested",
        "car_bombs: range 1 → 1–2",
        "civilians.human_shields: roya joined: yes",
        "civilians.human_shields: status single → corroborated",
        "coalition.strikes: roya joined: at least 4",
        "coalition.strikes: status single",
        "coalition.strikes: range 4–∞",
        "control: roya joined: disputed",
        "control: sdf joined: sdf",
        "control: status contested",
        "detainees.elsewhere: roya joined: 12000",
        "displaced.families: roya joined: 200–999",
        "displaced.families: status single",
        "displaced.families: range 200–999",
        "escaped: roya joined: at least 20",
        "escaped: sohr revised: at least 3 → more than 150",
        "escaped: range 89–∞ → 151–∞",
        "fighting.ongoing: roya joined: yes",
        "inmates: roya joined: about 3500",
        "inmates: status single → corroborated",
        "killed.isis: sohr revised: at least 16 → 40",
        "killed.isis: range 28 → 40",
        "killed.total: roya joined: more than 70",
        "killed.total: sohr joined: about 70",
        "killed.total: status corroborated",
        "killed.total: range 71–77",
        "recaptured: sdf restated: 89",
        "riot.occurred: roya joined: yes",
        "riot.occurred: status single → corroborated",
    ],
    "2022-01-23": [
        "attack.started: hafryat joined: 20 Jan 2022 and 21 Jan 2022 (inconsistent at one time)",
        "car_bombs: sdf joined: 1",
        "escape.foiled: sdf restated: yes",
        "escaped: ina joined: at least 3",
        "inmates: sdf joined: 2000–9999",
        "inmates: sohr joined: about 3500",
        "inmates: range 3150–3850 → 2000–9999",
        "riot.controlled: sdf joined: yes",
        "riot.controlled: status single",
        "riot.occurred: sdf joined: yes",
    ],
    "2022-01-31": [
        "alhol.families: asharq joined: 2000–9999",
        "alhol.families: status single → contested",
        "alhol.families: range 20000–99999 → 2000–99999",
        "attack.started: asharq joined: 20 Jan 2022",
        "coalition.airstrikes: ap joined: yes",
        "coalition.ground_troops: ap joined: yes",
        "coalition.ground_troops: status single",
        "control: sdf restated: sdf",
        "curfew.full: aanes-executive-council joined: lifted",
        "curfew.full: status single",
        "curfew.partial: aanes-executive-council joined: from 18:00 to 06:00",
        "curfew.partial: status single",
        "displaced.people: asharq joined: 2000–9999",
        "displaced.people: status single",
        "displaced.people: range 2000–9999",
        "fighting.duration: sdf joined: 10",
        "fighting.duration: status single",
        "fighting.duration: range 10",
        "held.fighters_and_families: sdf joined: 20000–99999",
        "held.fighters_and_families: status single",
        "held.fighters_and_families: range 20000–99999",
        "inmates: sdf revised: 2000–9999 → at least 3000",
        "inmates: range 2000–9999 → 3000–∞",
        "isis_leaders.captured_or_killed: us-state-dept joined: yes",
        "isis_leaders.captured_or_killed: status single",
        "killed.isis: sdf revised: 28 → about 374",
        "killed.isis: range 40 → 336–412",
        "killed.security_forces: sdf joined: more than 120",
        "killed.security_forces: range 7–20 → 7–∞",
        "surrendered: sdf joined: at least 3",
        "surrendered: status single",
        "surrendered: range 3–∞",
    ],
    "2022-02-01": [],
}


def test_demo_walks_from_21_january_to_1_february_listing_every_change() -> None:
    from incident_ledger.projections.changes import change_words

    walk = walkthrough()
    assert walk["timezone"] == "Asia/Damascus"
    assert [s["date"] for s in walk["steps"]] == list(DEMO_CHANGES)
    assert [s["known_at"] for s in walk["steps"]] == [
        "2022-01-21T21:59:59.999999Z",  # the end of each day in Asia/Damascus (UTC+2)
        "2022-01-22T21:59:59.999999Z",
        "2022-01-23T21:59:59.999999Z",
        "2022-01-31T21:59:59.999999Z",
        "2022-02-01T21:59:59.999999Z",
    ]
    assert [[r["id"] for r in s["new_reports"]] for s in walk["steps"]] == [
        ["report-000", "report-002"],
        ["report-001"],
        ["report-003"],
        ["report-004"],
        [],
    ]
    for step in walk["steps"]:
        lines = [
            f"{c['fact']}: {change_words(c, walk['timezone'], short=False)}"
            for c in step["changes"]
        ]
        assert lines == DEMO_CHANGES[step["date"]], step["date"]
    in_force = [(i["fact"], i["position"]["valid_time"]) for i in walk["steps"][-1]["in_force"]]
    assert in_force == [("curfew.full", "2022-02-01/.."), ("curfew.partial", "2022-02-01/..")]
    assert all(not s["in_force"] for s in walk["steps"][:-1])


def test_demo_says_why_at_each_status_change() -> None:
    walk = walkthrough()
    first, _, _, fourth, _ = walk["steps"]
    status = next(
        c
        for c in first["changes"]
        if c["fact"] == "killed.security_forces" and c["change"] == "status"
    )
    # misryoum printed afp's report of sohr: both relayed it, neither named in ``via`` alone.
    assert status["why"] == (
        "contested: sohr (via afp, misryoum) says 20 (also at least 20) and outlet-002 says 7, "
        "both as of 21 Jan 2022; afp's and misryoum's relays counted as sohr"
    )
    killed = fourth["state"]["facts"]["killed.security_forces"]
    assert killed["why"]["summary"] == (
        "contested: sohr (via afp, misryoum) says 20 (also at least 20) and outlet-002 says 7, "
        "both as of 21 Jan 2022; the latest figure: sdf (via ap, asharq) says more than 120 as "
        "of 30 Jan 2022; afp's and misryoum's relays counted as sohr; ap's and asharq's relays "
        "counted as sdf"
    )
    control = fourth["state"]["facts"]["control"]
    assert control["why"]["summary"] == (
        "contested: roya says disputed but sdf (via ap, asharq) says sdf; ap's and asharq's "
        "relays counted as sdf"
    )


@pytest.mark.slow
def test_demo_command_prints_the_walkthrough() -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    result = CliRunner().invoke(app, ["demo"], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for heading in ("21 Jan 2022", "22 Jan 2022", "23 Jan 2022", "31 Jan 2022", "1 Feb 2022"):
        assert any(
            f"What was known by the end of {heading} (Asia/Damascus)" in line for line in lines
        )
    assert "ما لا يقل عن 20" in result.stdout or "يبلغ 20 قتيلا" in result.stdout
    assert "    sohr via afp: 20 (also at least 20)  (report-000, as of 21 Jan 2022)" in lines
    assert "    sdf via ap: more than 120  (report-004, as of 30 Jan 2022)" in lines
    assert "Taking effect this day, as reported before it:" in lines
    assert "  • curfew.full: lifted (aanes-executive-council, report-004; from 1 Feb 2022)" in lines
    # a claim on a fact that is no date says when, in the world, it held
    assert "    sdf via ap: sdf  (report-004, said of 24 or 31 Jan 2022)" in lines
    assert "    roya: disputed  (report-001, said of between 20 and 22 Jan 2022)" in lines
    assert "  • killed.security_forces: sdf joined: more than 120" in lines
    assert "  • killed.security_forces: range 7–20 → 7–∞" in lines
    # qualifiers are kept in every value: never a bare figure where the source hedged
    assert not any(line.endswith("sdf: 120") or ": 374" in line for line in lines)


@pytest.mark.slow
def test_demo_prose_fits_80_columns_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped with no COLUMNS, the demo's prose wraps between words at 80 columns (Arabic
    measured by what it shows); a wrapped line keeps its indent and no line ends in
    spaces."""
    from rich.cells import cell_len
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    monkeypatch.delenv("COLUMNS", raising=False)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert not [line for line in lines if line.endswith(" ")]
    assert "    contested: kurdish-authorities (via misryoum) says more than 12000 but" in lines
    assert "    outlet-002 says 11000–12000; misryoum's relays counted as" in lines


def test_demo_rejects_a_bad_time_zone_before_loading_anything() -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    result = CliRunner().invoke(app, ["demo", "--tz", "Asia/Nowhere"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "error: 'Asia/Nowhere' is not an IANA time zone such as Asia/Damascus\n",
    )


def test_the_demo_keeps_its_model_and_key_to_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With LEDGER_VIEWS naming the user's read model the demo failed ("belongs to another
    ledger"), or made its own there and left it; LEDGER_KEY naming no key failed it too."""
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    views, key = tmp_path / "mine.views.db", tmp_path / "missing.key"
    monkeypatch.setenv("LEDGER_VIEWS", str(views))
    monkeypatch.setenv("LEDGER_KEY", str(key))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []
    assert (os.environ["LEDGER_VIEWS"], os.environ["LEDGER_KEY"]) == (str(views), str(key))
