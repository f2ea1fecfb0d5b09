"""The work a bulk import does beside writing its events, counted so it cannot grow back.

Correcting or retracting a claim whose creation is all the store holds of it (or that
the same input creates) needs its incident, fact and report only: the import rebuilds
no aggregate and validates no claim's record again for it (the ends are the same events,
version 2, by the ending record, and the rules still hold). An import into a ledger just
made asks the store about none of its pages' ids. The kind a fact takes from its first
claim is recorded from the event's frame, without the event, and is its leaf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_ledger.ledger import incident_chains, records
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports.importer import record_input
from incident_ledger.ledger.imports.kinds import inferred_event, inferred_leaf
from incident_ledger.ledger.imports.streaming import input_pages
from incident_ledger.ledger.leaves import leaf_bytes, recorded_key
from incident_ledger.ledger.stores import chains
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.usecases import writing

CLAIMS = 4_500  # three pages of the import (``spool.PAGE``)


def _claim(i: int, report: str = "r1") -> dict[str, Any]:
    return {"type": "claim", "id": f"c{i}", "incident": "g", "fact": "killed.total",
            "value": i, "report": report}  # fmt: skip


def _records() -> list[dict[str, Any]]:
    head = [
        {"type": "incident", "id": "g", "title": "Ghwayran"},
        {"type": "source", "id": "s", "name": "SOHR", "kind": "monitor"},
        {"type": "report", "id": "r1", "source": "s", "published_at": "2022-01-21"},
        {"type": "report", "id": "r2", "source": "s", "published_at": "2022-01-22"},
    ]
    claims = [_claim(i) for i in range(CLAIMS)]
    ends: list[dict[str, Any]] = []
    for i in (5, 1_000, 2_500, CLAIMS - 3):  # earlier pages, and the ends' own page
        ends.append({**_claim(i, "r2"), "type": "correction", "id": f"k{i}", "claim": f"c{i}"})
        ends.append({"type": "retraction", "id": f"x{i}", "claim": f"c{i + 1}", "report": "r2"})
    return head + claims + ends


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def _import(ledger: Ledger, path: Path) -> None:
    pages, where_first = input_pages(path, iter(()), None)
    record_input(ledger, pages, locate=where_first)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """How many aggregates were rebuilt and claim records validated by their model."""
    counts = {"aggregates": 0, "claims validated": 0}
    aggregate_of = Ledger.aggregate_of

    def counting(self: Ledger, stored: Any) -> Any:
        counts["aggregates"] += 1
        return aggregate_of(self, stored)

    monkeypatch.setattr(Ledger, "aggregate_of", counting)
    for model in (records.ClaimRecord, records.CorrectionRecord):
        validate = model.model_validate

        def validating(data: Any, *args: Any, _validate: Any = validate, **kw: Any) -> Any:
            counts["claims validated"] += 1
            return _validate(data, *args, **kw)

        monkeypatch.setattr(model, "model_validate", validating)
    yield counts


def test_ends_of_new_claims_rebuild_nothing(tmp_path: Path, counted: dict[str, int]) -> None:
    ledger = Ledger(locate(str(tmp_path / "l.db")).event_store_env())
    try:
        _import(ledger, _write(tmp_path / "in.jsonl", _records()))
        assert counted == {"aggregates": 0, "claims validated": 0}
        with ledger.audit.reading() as view:
            for i in (5, 1_000, 2_500, CLAIMS - 3):
                ends = view.events_of(f"claim:c{i}")[1:] + view.events_of(f"claim:c{i + 1}")[1:]
                assert [(e.originator_version, e.topic.rsplit(".", 1)[1]) for e in ends] == [
                    (2, "Superseded"),
                    (2, "Retracted"),
                ]
                plain = ledger.leaf_mapper.plain
                assert [json.loads(plain(e.state))["data"] for e in ends] == [
                    {"by": f"k{i}"},
                    {"by": f"x{i}"},
                ]
    finally:
        ledger.close()


def test_a_claim_ended_before_is_still_refused(tmp_path: Path) -> None:
    """A claim a first import ended has more than its creation: it is rebuilt, and a
    second end is refused as before."""
    ledger = Ledger(locate(str(tmp_path / "l.db")).event_store_env())
    try:
        _import(ledger, _write(tmp_path / "in.jsonl", _records()))
        again = {"type": "retraction", "id": "x-again", "claim": "c5", "report": "r2"}
        with pytest.raises(BadInputError, match="claim 'c5' was corrected by 'k5'"):
            _import(ledger, _write(tmp_path / "again.jsonl", [again]))
    finally:
        ledger.close()


def test_a_new_ledgers_import_asks_the_store_for_no_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger just made holds its first member's events: an import reads their ids once,
    then knows every id in the store, and asks it about none of its pages' ids."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    asked: list[int] = []
    existing = LogView.existing

    def counting(self: LogView, originator_ids: Any) -> set[str]:
        asked.append(len(originator_ids))
        return existing(self, originator_ids)

    monkeypatch.setattr(LogView, "existing", counting)
    outcome = writing.append_file(db, str(_write(tmp_path / "in.jsonl", _records())))
    assert outcome.added_total == len(_records())
    assert asked == []


def test_the_chains_decode_only_what_the_pages_did_not_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incidents each created record concerns come with its page: the store's chains
    decode only the leaves of the other events (ends of claims, a fact's kind, the batch's
    signature) and of the records naming a claim another page created."""
    decoded: list[bytes] = []
    concerned = incident_chains.concerned

    def counting(leaves: Any, *args: Any) -> Any:
        leaves = list(leaves)
        decoded.extend(leaves)
        return concerned(leaves, *args)

    monkeypatch.setattr(chains, "concerned", counting)  # as the store's chains call it
    db = str(tmp_path / "l.db")
    writing.init(db)
    decoded.clear()
    writing.append_file(db, str(_write(tmp_path / "in.jsonl", _records())))
    topics = sorted(json.loads(leaf)["topic"].rsplit("/", 1)[1] for leaf in decoded)
    assert topics == sorted(
        ["Batch.Signed", "Fact.Inferred"]
        + ["Claim.RecordedAsCorrection"] * 3  # c5, c1000 and c2500 are in earlier pages
        + ["Retraction.Recorded"] * 3
        + ["Claim.Superseded", "Claim.Retracted"] * 4
    )


@given(
    st.text(min_size=1, max_size=8),
    st.text(min_size=1, max_size=8),
    st.sampled_from(["number", "text", "range", "boolean"]),
    st.text(min_size=1, max_size=8),
)
def test_a_facts_inferred_kind_is_the_events_leaf(
    incident: str, key: str, kind: str, claim: str
) -> None:
    """The leaf by which the import gives a fact its first claim's kind, made from its
    frame, is the leaf of the event it stands for."""
    fact = f"fact:{incident.replace('/', '-')}/{key}"
    at = datetime(2022, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    expected = leaf_bytes(inferred_event(fact, kind, claim, at))
    assert inferred_leaf(fact, kind, claim, recorded_key(at)) == expected
