"""An import validates its input before it takes the store's write lock.

Each test runs one import (B) whose validation lets another writer (A) import a whole
file: were B's validation under B's write lock, A would wait for it and give up. What
A records meanwhile is what B's records meet under the lock: a reference to A's
report, or a correction of A's claim, is accepted; a claim A corrected first is the
documented conflict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.errors import ConflictError
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Outcome, record_input
from incident_ledger.ledger.imports.streaming import ValidatedPage, input_pages
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases import auditing, writing

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "claim", "id": "c0", "incident": "g", "fact": "killed.total", "value": 5,
     "report": "r1"},
]  # fmt: skip
A_RECORDS: list[dict[str, Any]] = [
    {"type": "report", "id": "r-a", "source": "sohr", "published_at": "2022-01-22"},
    {"type": "claim", "id": "a1", "incident": "g", "fact": "killed.total", "value": 7,
     "report": "r-a"},
]  # fmt: skip


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def ledger_at(db: str, lock_timeout: str = "30") -> Ledger:
    timeouts = {"SQLITE_LOCK_TIMEOUT": lock_timeout, "POSTGRES_LOCK_TIMEOUT": lock_timeout}
    return Ledger(locate(db).event_store_env(create=False) | timeouts)


def import_file(ledger: Ledger, path: Path, meanwhile: Callable[[], None] | None = None) -> Outcome:
    """Import a file through ``record_input``, calling ``meanwhile`` once its first page
    is validated."""
    pages, where_first = input_pages(path, iter(()), None)
    pending = [meanwhile] if meanwhile is not None else []

    def validated(*recorded: str) -> Iterator[ValidatedPage]:
        for page in pages(*recorded):  # (before validating ahead, pages took the time)
            while pending:
                pending.pop()()
            yield page

    return record_input(ledger, validated, locate=where_first)


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> str:
    """A ledger on each backend: PostgreSQL's writers wait on its table lock."""
    writing.init(store_url)
    writing.append_file(store_url, str(write_jsonl(tmp_path / "setup.jsonl", SETUP)))
    return store_url


def other_writer(db: str, path: Path) -> Callable[[], None]:
    """Writer A: a whole import of ``path`` that waits at most a second for the lock."""

    def run() -> None:
        ledger = ledger_at(db, lock_timeout="1")
        try:
            outcome = import_file(ledger, path)
        finally:
            ledger.close()
        assert outcome.added_total == 2

    return run


def test_a_reference_another_writer_made_while_validating_is_accepted(
    db: str, tmp_path: Path
) -> None:
    a_file = write_jsonl(tmp_path / "a.jsonl", A_RECORDS)
    b_file = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"type": "claim", "id": "b1", "incident": "g", "fact": "killed.total", "value": 9,
             "report": "r-a"},
            {"type": "correction", "id": "b2", "claim": "a1", "incident": "g",
             "fact": "killed.total", "value": 8, "report": "r-a"},
        ],
    )  # fmt: skip
    ledger = ledger_at(db)
    try:
        outcome = import_file(ledger, b_file, meanwhile=other_writer(db, a_file))
    finally:
        ledger.close()
    assert outcome.added == {"claim": 1, "correction": 1}
    records = {f"{r['type']}:{r['id']}" for r in auditing.export_records(db)}
    assert {"report:r-a", "claim:a1", "claim:b1", "correction:b2"} <= records


def test_a_claim_another_writer_corrected_while_validating_is_a_conflict(
    db: str, tmp_path: Path
) -> None:
    correction = {"type": "correction", "claim": "c0", "incident": "g", "fact": "killed.total",
                  "report": "r1"}  # fmt: skip
    a_file = write_jsonl(
        tmp_path / "a.jsonl", [{**correction, "id": "k-a", "value": 6}, A_RECORDS[0]]
    )
    b_file = write_jsonl(tmp_path / "b.jsonl", [{**correction, "id": "k-b", "value": 4}])
    ledger = ledger_at(db)
    try:
        with pytest.raises(
            ConflictError,
            match=r"^line 1: claim 'c0' was already corrected by 'k-a' \(recorded [-0-9T:.]+Z\); "
            "correct 'k-a' instead$",
        ):
            import_file(ledger, b_file, meanwhile=other_writer(db, a_file))
    finally:
        ledger.close()
    records = {f"{r['type']}:{r['id']}" for r in auditing.export_records(db)}
    assert "correction:k-a" in records
    assert "correction:k-b" not in records


def test_a_large_input_holds_few_pages_before_the_lock() -> None:
    """Past the records it validates ahead, the rest of an input waits for the lock, page
    by page."""
    taken: list[int] = []

    def pages() -> Iterator[Any]:
        for n in range(10):
            taken.append(n)
            yield [0, 0]  # a page of two records

    source = pages()
    ahead = importer.validate_ahead(source, lambda page: None, 3)
    assert (len(ahead), taken) == (2, [0, 1])
    assert len(list(source)) == 8
