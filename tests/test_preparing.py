"""Every way an import's records go in gives the same events: from a page's columns or
record by record, now or after waiting for a reference, with a helper or without."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger.imports import id_filter, preparing, recording, rules, spool, streaming
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.usecases import writing
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
    # When what ended a claim was recorded differs from one ledger to the next.
    err = re.sub(r"\(recorded \S+Z", "(recorded T", result.stderr)
    return result.exit_code, result.stdout, err


WAYS = (
    "as they come",
    "record by record",
    "waiting records prepared by a helper",
    "asking the store, the ids known forgotten after each page",
    "asking the store for every id, the ids known forgotten and the filter full",
    "asking the store of claims only, their ids forgotten past a few",
)
KNOWN_LIMIT = rules.KNOWN_LIMIT
FILTER_BITS = id_filter.BITS


def _take(way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 0 if "helper" in way else 10**9)
    limit = 0 if "known forgotten" in way else 16 if "past a few" in way else KNOWN_LIMIT
    monkeypatch.setattr(rules, "KNOWN_LIMIT", limit)
    # A filter of 8 bits holds (by chance) every id: the store is asked of each.
    monkeypatch.setattr(id_filter, "BITS", 8 if "filter full" in way else FILTER_BITS)
    all_new = recording.Stream._all_new
    if way == "record by record":
        monkeypatch.setattr(recording.Stream, "_all_new", lambda *args: False)
    else:
        monkeypatch.setattr(recording.Stream, "_all_new", all_new)


@pytest.mark.slow
@pytest.mark.parametrize("page", [spool.PAGE, 2])
@pytest.mark.parametrize("scenario", sorted(STEPS))
def test_every_way_of_recording_records_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str, page: int
) -> None:
    """The same outcomes and events whether a page goes in from its columns or record by
    record, in pages of any size, whether records that wait for references later in the
    input are prepared by a helper or not, and whether the import knows every id it
    recorded into an empty store or asks the store."""
    outcomes: dict[str, list[tuple[int, str, str]]] = {}
    events: dict[str, list[tuple[Any, ...]]] = {}
    monkeypatch.setattr(streaming, "PAGE", page)
    monkeypatch.setattr(preparing, "PAGE", page)
    for way in WAYS:
        _take(way, monkeypatch)
        db = str(tmp_path / f"{WAYS.index(way)}.db")
        writing.init(db)
        outcomes[way] = [run(db, records) for records in STEPS[scenario]]
        events[way] = stored_events(db)
    for way in WAYS[1:]:
        assert outcomes[way] == outcomes[WAYS[0]]
        assert events[way] == events[WAYS[0]]


def test_a_full_memo_keeps_what_claims_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the ids known are too many, the claims' are forgotten and the rest kept: the
    reports, sources and incident every page's claims reference are not asked of the
    store again (only claims, which few records reference, are)."""
    monkeypatch.setattr(rules, "KNOWN_LIMIT", 16)
    monkeypatch.setattr(streaming, "PAGE", 2)
    asked: list[str] = []
    existing = LogView.existing

    def counted(view: LogView, ids: Any) -> set[str]:
        asked.extend(ids)
        return existing(view, ids)

    monkeypatch.setattr(LogView, "existing", counted)
    db = str(tmp_path / "l.db")
    writing.init(db)
    claims = [dict(claim, id=f"n{n}") for n, claim in enumerate(MORE_CLAIMS * 3)]
    lines = tmp_path / "claims.jsonl"
    lines.write_text("".join(json.dumps(record) + "\n" for record in [*BASE, *claims]))
    result = runner.invoke(app, ["--db", db, "append", "--file", str(lines)])
    assert result.exit_code == 0, result.output
    # The memo was full three times (31 records); a store forgetting all would be
    # asked of the incident, the sources and the reports after each.
    assert asked == []


def test_the_reports_a_page_records_are_not_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the ends of claims later in the input cite reports an earlier page recorded,
    those reports are not read back from the store: the import remembers when each
    was published from the page itself."""
    monkeypatch.setattr(streaming, "PAGE", 2)
    read: list[str] = []
    creation_states = LogView.creation_states

    def counted(view: LogView, ids: Any) -> Any:
        read.extend(ids)
        return creation_states(view, ids)

    monkeypatch.setattr(LogView, "creation_states", counted)
    db = str(tmp_path / "l.db")
    writing.init(db)
    lines = tmp_path / "claims.jsonl"
    ends = [CORRECTIONS[1], CORRECTIONS[2]]  # each ends a claim of r1 or r2 by r2
    lines.write_text("".join(json.dumps(record) + "\n" for record in [*BASE, *ends]))
    result = runner.invoke(app, ["--db", db, "append", "--file", str(lines)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("added 9 record(s)")
    assert [aggregate_id for aggregate_id in read if aggregate_id.startswith("report:")] == []


def test_pages_go_in_from_their_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenarios above do take the whole-page way (else they would test nothing new),
    corrections and references to earlier records of the same page included."""
    whole_pages: list[int] = []
    all_new = recording.Stream._all_new

    def counted(stream: Any, page: Any, *args: Any) -> bool:
        whole = bool(all_new(stream, page, *args))
        if whole:
            whole_pages.append(len(page))
        return whole

    monkeypatch.setattr(recording.Stream, "_all_new", counted)
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    code, _, _ = run(db, [*BASE, *MORE_CLAIMS, CORRECTIONS[1]])
    assert code == 0
    assert whole_pages == [len(BASE) + len(MORE_CLAIMS) + 1]


def test_records_wait_for_references_later_in_the_input(
    tmp_path: Path, started_helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """File order, but a record whose references come later goes in after the whole
    input, with every later record under its id; a helper prepares them when many."""
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 0)
    producers = started_helpers(preparing, "Producer")
    db = str(tmp_path / "ledger.db")
    writing.init(db)
    assert run(db, [*BASE, *CORRECTIONS, CORRECTIONS[0]]) == (
        0,
        "added 10 record(s) (2 claim, 2 correction, 1 incident, 2 report, 1 retraction, "
        "2 source); 1 already present\n",
        "",
    )
    order = [event[0] for event in stored_events(db) if event[1] == 1]
    assert order[-3:] == ["claim:k1", "retraction:x1", "claim:k2"]
    assert len(producers) == 1


def test_when_the_helper_stops_this_process_records_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = preparing._prepared_pages

    def stops_after_one_page(*args: Any) -> Any:
        pages = original(*args)
        yield next(pages)
        raise RuntimeError("the helper fell over")

    monkeypatch.setattr(preparing, "PAGE", 1)
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 0)
    alone, helped = str(tmp_path / "alone.db"), str(tmp_path / "helped.db")
    writing.init(alone)
    writing.init(helped)
    waiting = [*CORRECTIONS, *BASE]  # all wait but the incident and the sources
    monkeypatch.setattr(preparing, "_prepared_pages", stops_after_one_page)
    assert run(helped, waiting)[0] == 0
    monkeypatch.setattr(preparing, "PREPARE_MIN_RECORDS", 10**9)
    assert run(alone, waiting)[0] == 0
    assert stored_events(helped) == stored_events(alone)


def test_a_stored_id_the_store_then_lacks_is_a_conflict_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the store, read again, lack a record that its ids said it held, both ways
    of recording (pages as they come, and a batch in dependency order) report that the
    store changed, rather than one of them recording the record again."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.errors import ConflictError
    from incident_ledger.ledger.imports import importer
    from incident_ledger.ledger.imports.importer import Entry
    from incident_ledger.ledger.imports.parsing import validate_record
    from incident_ledger.ledger.stores.location import locate

    db = str(tmp_path / "ledger.db")
    writing.init(db)
    assert run(db, BASE)[0] == 0
    monkeypatch.setattr(rules.Checks, "_stored_as", lambda self, spooled, found: False)
    monkeypatch.setattr(rules.Checks, "_stored_record_as", lambda self, spooled: None)
    assert run(db, BASE[:1]) == (1, "", "error: line 1: the store changed during the import\n")
    ledger = Ledger(locate(db).event_store_env())
    try:
        with pytest.raises(ConflictError) as raised:
            importer.record(ledger, [Entry("input", validate_record(BASE[0], "input"))])
    finally:
        ledger.close()
    assert str(raised.value) == "input: the store changed during the import"
