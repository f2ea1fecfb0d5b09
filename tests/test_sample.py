"""The bundled Ghwayran sample and the demo's key answers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger import samples
from incident_ledger.usecases import reading, writing
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


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("sample") / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    return db


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


def test_demo_walks_through_four_dates() -> None:
    walk = walkthrough()
    assert [s["date"] for s in walk["steps"]] == [
        "2022-01-21",
        "2022-01-23",
        "2022-01-25",
        "2022-02-01",
    ]
    first, second, third, fourth = walk["steps"]
    assert first["state"]["facts"]["killed.security_forces"]["status"] == "contested"
    assert third["new_reports"] == []
    assert third["changes"] == []
    revised = {(c["fact"], c["claimant"]) for c in second["changes"] if c["change"] == "revised"}
    assert ("killed.isis", "sohr") in revised
    assert [r["id"] for r in fourth["new_reports"]] == ["report-004"]
    assert "curfew.full" in fourth["state"]["facts"]


def test_demo_command_prints_the_walkthrough() -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for heading in ("21 Jan 2022", "23 Jan 2022", "25 Jan 2022", "1 Feb 2022"):
        assert f"What was known by the end of {heading}" in result.stdout
    assert "ما لا يقل عن 20" in result.stdout or "يبلغ 20 قتيلا" in result.stdout
    assert "killed.security_forces" in result.stdout
