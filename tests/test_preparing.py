"""Imports recorded from pages a helper prepared equal imports recorded in one process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger import application, preparing, services
from tests.events import stored_events

runner = CliRunner()

BASE: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "source", "id": "sdf", "name": "SDF", "kind": "armed_group"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "sdf", "published_at": "2022-01-22"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 7, "report": "r1"},
    {"type": "claim", "id": "c2", "incident": "g", "fact": "killed", "value": 9, "report": "r2"},
]
CORRECTIONS: list[dict[str, Any]] = [
    {"type": "correction", "id": "k2", "claim": "k1", "incident": "g", "fact": "killed",
     "value": 11, "report": "r2"},
    {"type": "correction", "id": "k1", "claim": "c1", "incident": "g", "fact": "killed",
     "value": 8, "report": "r2"},
    {"type": "retraction", "id": "x1", "claim": "c2", "report": "r2"},
]  # fmt: skip
LATER: list[dict[str, Any]] = [
    {"type": "report", "id": "r3", "source": "sohr", "published_at": "2022-01-25"},
    {"type": "claim", "id": "c3", "incident": "g", "fact": "escaped", "value": 3, "report": "r3",
     "claimant": "sdf"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "killed", "value": 7, "report": "r1"},
]  # fmt: skip

MISSING_REPORT = {
    "type": "claim", "id": "c9", "incident": "g", "fact": "killed", "value": 1, "report": "r404"
}  # fmt: skip
SECOND_CORRECTION = {
    "type": "correction", "id": "k3", "claim": "c1", "incident": "g", "fact": "killed",
    "value": 5, "report": "r1",
}  # fmt: skip

MORE_CLAIMS: list[dict[str, Any]] = [
    {"type": "claim", "id": f"m{n}", "incident": "g", "fact": "escaped", "value": n,
     "report": f"r{1 + n % 2}", "claimant": "sdf"}
    for n in range(8)
]  # fmt: skip

STEPS: dict[str, list[list[dict[str, Any]]]] = {
    "pages of claims whose references are all stored": [
        [*BASE, *MORE_CLAIMS, *CORRECTIONS],
        [*MORE_CLAIMS[:3], MISSING_REPORT, *MORE_CLAIMS[3:]],
    ],
    "fresh, again, then references to stored records": [[*BASE, *CORRECTIONS], BASE, LATER],
    "an in-file repeat, then a conflicting one": [
        [*BASE, BASE[5]],
        [*BASE, dict(BASE[6], value=10)],
    ],
    "a missing reference among good records": [[*BASE, MISSING_REPORT]],
    "a second correction of a corrected claim": [[*BASE, *CORRECTIONS], [SECOND_CORRECTION]],
    "a changed record under a stored id": [BASE, [dict(BASE[5], value=70)]],
}


def run(db: str, records: list[dict[str, Any]]) -> tuple[int, str, str]:
    text = "".join(json.dumps(record) + "\n" for record in records)
    result = runner.invoke(app, ["--db", db, "append", "--file", "-"], input=text)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("page", [preparing.PAGE, 2])
@pytest.mark.parametrize("scenario", sorted(STEPS))
def test_prepared_pages_record_what_one_process_records(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    started_helpers: Any,
    scenario: str,
    page: int,
) -> None:
    """The same outcomes and events, whether records go in one by one or, a page whose
    records are all new and reference stored records, from the page's columns."""
    outcomes: dict[str, list[tuple[int, str, str]]] = {}
    events: dict[str, list[tuple[Any, ...]]] = {}
    producers = started_helpers(preparing, "Producer")
    monkeypatch.setattr(preparing, "PAGE", page)
    for way, minimum in (("prepared", 0), ("alone", 10**9)):
        monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", minimum)
        db = str(tmp_path / f"{way}.db")
        services.init(db)
        outcomes[way] = [run(db, records) for records in STEPS[scenario]]
        events[way] = stored_events(db)
    assert outcomes["prepared"] == outcomes["alone"]
    assert events["prepared"] == events["alone"]
    assert len(producers) == len(STEPS[scenario])


def test_small_pages_of_stored_references_go_in_from_their_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario above does take the whole-page way (else it would test nothing new)."""
    whole_pages: list[int] = []
    add_columns = application._Batch._add_columns

    def counted(batch: Any, page: Any, *args: Any) -> None:
        whole_pages.append(len(page))
        add_columns(batch, page, *args)

    monkeypatch.setattr(application._Batch, "_add_columns", counted)
    monkeypatch.setattr(preparing, "PAGE", 2)
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 0)
    db = str(tmp_path / "ledger.db")
    services.init(db)
    code, _, _ = run(db, [*BASE, *MORE_CLAIMS])
    assert code == 0
    # In pages of two, in dependency order, no record references one of its own page.
    assert sum(whole_pages) == len(BASE) + len(MORE_CLAIMS)


def test_when_the_helper_stops_this_process_records_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = preparing._prepared_pages

    def stops_after_one_page(*args: Any) -> Any:
        pages = original(*args)
        yield next(pages)
        raise RuntimeError("the helper fell over")

    monkeypatch.setattr(preparing, "PAGE", 3)
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 0)
    alone, helped = str(tmp_path / "alone.db"), str(tmp_path / "helped.db")
    services.init(alone)
    services.init(helped)
    monkeypatch.setattr(preparing, "_prepared_pages", stops_after_one_page)
    assert run(helped, [*BASE, *CORRECTIONS])[0] == 0
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 10**9)
    assert run(alone, [*BASE, *CORRECTIONS])[0] == 0
    assert stored_events(helped) == stored_events(alone)
