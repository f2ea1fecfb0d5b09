"""Values that could not be shown: refused before they are written, by every way in; and
a ledger that already holds one (written before these checks, or edited) still serves
everything that does not need it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.projections import projector as projector_module
from tests.events import append_unchecked, log_state
from tests.test_cli import jsonl, ledger

# Six records, and the two events that give control and escaped their kinds: 8 events.
SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "incident", "id": "h", "title": "Hasakah"},
    {"type": "source", "id": "outlet", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r1", "source": "outlet", "published_at": "2022-01-21"},
    {"type": "claim", "id": "c1", "incident": "g", "fact": "control", "value": "sdf",
     "report": "r1"},
    {"type": "claim", "id": "c2", "incident": "h", "fact": "escaped", "value": 5,
     "report": "r1"},
]  # fmt: skip

POISON = [
    "0000",
    "2022-02-29",
    "2022-01-21T24:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+01:00",
    "2023-13-45",
]


@pytest.fixture
def db(store_url: str) -> str:
    assert ledger(store_url, "init")[0] == 0
    code, _, err = ledger(store_url, "append", "--file", "-", stdin=jsonl(SETUP))
    assert code == 0, err
    return store_url


# --- refused before they are written ---------------------------------------------------------


def _claim(**fields: Any) -> dict[str, Any]:
    return {"type": "claim", "id": "c9", "incident": "g", "fact": "control", "value": 1,
            "report": "r1", **fields}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("defer", [False, True], ids=["projected", "deferred"])
@pytest.mark.parametrize("value", POISON)
def test_a_value_that_could_not_be_shown_is_refused_from_a_file(
    db: str, value: str, defer: bool
) -> None:
    before = log_state(db)
    flags = ["--defer-projection"] if defer else []
    for field in ("value", "valid_time"):
        line = jsonl([_claim(**{field: value})])
        code, _, err = ledger(db, "append", *flags, "--file", "-", stdin=line)
        assert code == 2, err
        assert err.startswith(f"error: line 1: {field}: '{value}' is not a valid EDTF date")
        assert err.count("\n") == 1
    assert log_state(db) == before
    assert ledger(db, "state", "g")[0] == 0


@pytest.mark.slow
@pytest.mark.parametrize("value", POISON)
def test_a_value_that_could_not_be_shown_is_refused_from_flags(db: str, value: str) -> None:
    before = log_state(db)
    common = ["--incident", "g", "--fact", "control", "--report", "r1"]
    for command in (["append", "claim", "--id", "c9"], ["correct", "--id", "k9", "--claim", "c1"]):
        for flags in (["--value", value], ["--value", "1", "--valid-time", value]):
            code, _, err = ledger(db, *command, *common, *flags)
            assert code == 2, err
            field = "value" if flags[1] == value else "valid_time"
            assert err.startswith(f"error: input: {field}: '{value}' is not a valid EDTF date")
    assert log_state(db) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("instant", "reason"),
    [
        ("9999-12-31T23:59:59-05:00", "falls outside the years 0001 to 9999"),
        ("0001-01-01T00:00:00+01:00", "falls outside the years 0001 to 9999"),
        ("2022-01-21T24:00:00Z", "is not a valid date-time (hour must be in 0..23)"),
        ("2022-02-29", "is not a valid date (day is out of range for month)"),
    ],
)
def test_an_instant_that_could_not_be_shown_is_refused(db: str, instant: str, reason: str) -> None:
    before = log_state(db)
    report: dict[str, object] = {
        "type": "report",
        "id": "r9",
        "source": "outlet",
        "published_at": instant,
    }
    assessment: dict[str, object] = {"type": "assessment", "id": "a9", "claim": "c1",
                                     "verdict": "false", "by": "desk",
                                     "published_at": instant}  # fmt: skip
    for record in (report, assessment):
        code, _, err = ledger(db, "append", "--file", "-", stdin=jsonl([record]))
        assert code == 2
        assert err.startswith(f"error: line 1: published_at: '{instant}' {reason}")
    code, _, err = ledger(db, "rate", "outlet", "B", "--reason", "x", "--from", instant)
    assert code == 2
    assert err.startswith(f"error: effective_from: '{instant}' {reason}")
    assert log_state(db) == before


# --- a stored event that cannot be projected ------------------------------------------------


def _poisoned(db: str) -> None:
    """The ledger gains, behind the checks, a claim on incident g the read model cannot
    show, as a ledger written before them may hold."""
    fields = {"incident": "g", "fact": "control", "value": "0000", "report": "r1"}
    append_unchecked(db, "claim", "c-poison", fields)


REFUSED = (
    "error: event 12 (claim:c-poison, incident 'g') could not be projected, so this answer "
    "would be incomplete: '0000' is not a valid EDTF date or interval (years run from 0001 "
    "to 9999, in UTC)\n"
)


@pytest.mark.slow
def test_one_event_that_cannot_be_projected_stops_only_the_answers_that_need_it(
    db: str, tmp_path: Path
) -> None:
    _poisoned(db)
    assert ledger(db, "state", "g") == (1, "", REFUSED)
    assert ledger(db, "history", "g", "control")[0::2] == (1, REFUSED)
    assert ledger(db, "state", "h", "--json")[0] == 0
    assert ledger(db, "timeline", "h")[0] == 0
    assert ledger(db, "search", "Hasakah", "--incident", "h")[0] == 0
    assert ledger(db, "sources")[0::2] == (1, REFUSED)  # about every incident
    code, out, _ = ledger(db, "verify")
    assert (code, out.startswith("ok: 13 events")) == (0, True)
    assert ledger(db, "export", "--format", "jsonl", "--out", str(tmp_path / "all"))[0] == 0
    assert ledger(db, "export", "--format", "jsonl", "--incident", "h", "--out",
                  str(tmp_path / "h"))[0] == 0  # fmt: skip
    assert ledger(db, "export", "--format", "csv", "--incident", "g")[0::2] == (1, REFUSED)
    code, out, err = ledger(db, "replay")
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == (
        "event 12 (claim:c-poison) could not be projected: '0000' is not a valid EDTF date or "
        "interval (years run from 0001 to 9999, in UTC)"
    )
    # New records still go in, and their incident is still answered.
    more = [{"type": "claim", "id": "c3", "incident": "h", "fact": "injured", "value": 6,
             "report": "r1"}]  # fmt: skip
    assert ledger(db, "append", "--file", "-", stdin=jsonl(more))[0] == 0
    code, out, _ = ledger(db, "state", "h", "--json")
    assert (code, sorted(json.loads(out)["facts"])) == (0, ["escaped", "injured"])


def test_an_event_whose_incident_cannot_be_told_stops_every_answer(db: str) -> None:
    fields = {"reliability": "B", "reason": "x", "effective_from": "9999-12-31T23:59:59-05:00"}
    _rate_unchecked(db, "outlet", fields)
    code, _, err = ledger(db, "state", "h")
    assert code == 1
    assert err.startswith("error: event 12 (source:outlet) could not be projected, so this ")
    assert err.endswith(
        "falls outside the years 0001 to 9999 once its offset is applied (in UTC)\n"
    )
    assert ledger(db, "verify")[0] == 0


def _rate_unchecked(db: str, source: str, fields: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.domain import Source
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.usecases.workspace import acting_key

    app_ = Ledger(locate(db).event_store_env())
    app_.actor = acting_key(locate(db))  # signed by the desk's admin, as every write is
    try:
        found = app_._find(Source.aggregate_id(source))
        assert isinstance(found, Source)
        found.rate(fields["reliability"], fields["reason"], fields["effective_from"],
                   datetime.now(UTC))  # fmt: skip
        app_._save_atomically([found])
    finally:
        app_.close()


def test_a_report_that_cannot_be_projected_sets_aside_the_claims_citing_it(db: str) -> None:
    append_unchecked(db, "report", "r-bad", {"source": "outlet", "published_at": "2022-02-30"})
    append_unchecked(db, "claim", "c-bad", {"incident": "h", "fact": "escaped", "value": 9,
                                            "report": "r-bad"})  # fmt: skip
    code, _, err = ledger(db, "state", "h")
    assert code == 1
    assert err == (
        "error: event 12 (report:r-bad) could not be projected, so this answer would be "
        "incomplete: '2022-02-30' is not a valid date (day is out of range for month)\n"
    )
    sqlite_views = _views_path(db)
    rows = (
        sqlite3.connect(sqlite_views)
        .execute("SELECT seq, event, incident, error FROM unprojectable ORDER BY seq")
        .fetchall()
    )
    assert rows == [
        (12, "report:r-bad", None,
         "'2022-02-30' is not a valid date (day is out of range for month)"),
        (14, "claim:c-bad", "h", "its report 'r-bad' cannot be projected"),
    ]  # fmt: skip


def _views_path(db: str) -> str:
    from incident_ledger.ledger.stores.location import locate

    return str(locate(db).views_path)


@pytest.mark.parametrize("bulk", [False, True], ids=["page by page", "bulk rebuild"])
def test_a_forged_copy_of_a_claim_is_set_aside_on_every_path(
    db: str, bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second event under a claim's id (a copy of its leaf under another aggregate, as an
    edit of the store makes): its rows would break the unique claim ids."""
    if bulk:
        monkeypatch.setattr(projector_module, "BULK_BACKLOG", 1)
    claim = {"incident": "h", "fact": "escaped", "value": 5, "report": "r1"}
    _forge_copy(db, "claim:c2", claim)
    assert ledger(db, "replay")[0] == 0
    code, _, err = ledger(db, "state", "h")
    assert code == 1
    assert err.startswith("error: event 12 (claim:c2-copy, incident 'h') could not be projected")
    assert ledger(db, "state", "g")[0] == 0


def _forge_copy(db: str, aggregate_id: str, fields: dict[str, Any]) -> None:
    """Store, under ``claim:c2-copy``, a leaf that names ``aggregate_id``: the read model
    reads ids from leaves, so it meets that claim's id twice."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.domain import creation_data, creation_leaf
    from incident_ledger.ledger.leaves import recorded_key
    from incident_ledger.ledger.merkle import leaf_hash
    from incident_ledger.ledger.stores.location import locate

    app_ = Ledger(locate(db).event_store_env())
    try:
        kind, _, record_id = aggregate_id.partition(":")
        _, topic, leaf = creation_leaf(kind, record_id, creation_data(fields, kind),
                                       recorded_key(app_.clock()))  # fmt: skip
        with app_.writing("x") as appender:
            row = app_.leaf_mapper.row_from_leaf("claim:c2-copy", 1, topic, leaf)
            appender.append([row], [leaf_hash(leaf)])
    finally:
        app_.close()
