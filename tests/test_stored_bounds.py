"""A claim's valid time is read once, when the claim is recorded: its event keeps the
bounds (``valid_bounds``), and projecting it reads them instead of the text. Events
recorded before (class versions 1 and 2) are upcast when read: the log is not rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import Claim
from incident_ledger.ledger.facts import edtf_in_zone
from incident_ledger.ledger.leaves import canonical_json_text, framed_leaf, leaf_frame
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.values import edtf_bounds, has_offset
from incident_ledger.projections.views import Views
from incident_ledger.usecases import auditing, rebuilding, writing

pytestmark = pytest.mark.slow

ZONES = {"hot": "Asia/Damascus", "inc-1": "America/New_York", "inc-2": "Pacific/Kiritimati"}


def hot_records(claims: int) -> list[dict[str, Any]]:
    """The hot generator's records (every EDTF form as a valid time), some incidents given
    a time zone, so that calendar days are read in it."""
    from benchmarks.hot import records

    made = list(records(claims))
    for record in made:
        if record["type"] == "incident" and record["id"] in ZONES:
            record["timezone"] = ZONES[record["id"]]
    return made


def stored_lines(db: str) -> list[dict[str, Any]]:
    """Every stored event's leaf, as JSON."""
    ledger = Ledger(locate(db).event_store_env())
    try:
        with ledger.audit.reading() as view:
            rows = view.event_rows(0, 10**6)
        return [json.loads(ledger.leaf_mapper.plain(row[4])) for row in rows]
    finally:
        ledger.close()


def expected_bounds(valid_time: str) -> list[str | None]:
    low, high = edtf_bounds(valid_time)
    return [low, high, "instant" if has_offset(valid_time) else "local"]


def valid_columns(path: Path) -> dict[str, tuple[Any, ...]]:
    views = Views(path, read_only=True)
    try:
        rows = views.connection.execute(
            "SELECT c.id, c.valid_time, c.valid_from, c.valid_to, i.timezone "
            "FROM claims c JOIN incidents i ON i.id = c.incident"
        ).fetchall()
        return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        views.close()


def never_parsed(*args: Any) -> Any:
    raise AssertionError("a valid time was parsed again when projected")


def test_a_claims_event_keeps_its_valid_times_bounds_and_projecting_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    source = tmp_path / "hot.jsonl"
    records = hot_records(1_500)
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    writing.append_file(db, str(source))  # the read model kept up page by page
    report = next(r["id"] for r in records if r["type"] == "report")
    one = {"type": "claim", "id": "one", "incident": "hot", "fact": "escaped", "value": 3,
           "report": report, "valid_time": "2022-01-21T10:00:00"}  # fmt: skip
    writing.append_one(db, one)

    claims = {
        line["id"].split(":", 1)[1]: line
        for line in stored_lines(db)
        if line["topic"] in (Claim.Recorded.TOPIC, Claim.RecordedAsCorrection.TOPIC)
    }
    timed = {key: line for key, line in claims.items() if "valid_time" in line["data"]}
    forms = {line["data"]["valid_time"][:1] for line in timed.values()}
    assert len(timed) > 100 and {"[", "{", "?", "/", "2"} <= forms
    for line in claims.values():
        data = line["data"]
        want = expected_bounds(data["valid_time"]) if "valid_time" in data else None
        assert data.get("valid_bounds") == want, line
        assert line["class_version"] == (2 if line["topic"] == Claim.Recorded.TOPIC else 3)
    assert auditing.verify(db)["read_model"]["status"] == "agrees"  # the log, and the model

    # A rebuild reads the kept bounds (parsing a valid time is made to fail), and gives
    # what reading each one in its incident's zone gives, and the incremental model.
    incremental = valid_columns(tmp_path / "l.views.db")
    monkeypatch.setattr(projector_module, "edtf_in_zone", never_parsed)
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 2)
    rebuilding.replay(db, out=str(tmp_path / "rebuilt.db"))
    rebuilt = valid_columns(tmp_path / "rebuilt.db")
    assert rebuilt == incremental
    zoned = 0
    for claim_id, (valid_time, low, high, zone) in rebuilt.items():
        if valid_time is None:
            assert (low, high) == (None, None)
            continue
        assert (low, high) == edtf_in_zone(valid_time, zone), claim_id
        zoned += zone is not None and not has_offset(valid_time)
    assert zoned > 10
    monkeypatch.undo()
    rebuilding.replay(db, out=str(tmp_path / "again.db"))
    assert Views(tmp_path / "again.db").dump() == Views(tmp_path / "rebuilt.db").dump()


OLD_CLAIMS = [
    # (id, class version, valid time): as events of versions 1 and 2 were stored
    ("v1-set", 1, "[2022-01-24,2022-01-26..2022-01-28]"),
    ("v1-offset", 1, "2022-01-20T19:00:00+03:00"),
    ("v1-open", 1, "2022-01-20/.."),
    ("v1-none", 1, None),
    ("v1-bad", 1, "2022-02-30"),  # a date not on the calendar, stored before it was refused
]


def append_leaves(db: str, leaves: list[tuple[str, str, bytes]]) -> None:
    ledger = Ledger(locate(db).event_store_env())
    try:
        with ledger.audit.appending() as appender:
            rows = [ledger.leaf_mapper.row_from_leaf(a, 1, t, leaf) for a, t, leaf in leaves]
            appender.append(rows, [leaf_hash(leaf) for _, _, leaf in leaves])
    finally:
        ledger.close()


def old_leaf(topic: str, class_version: int, record_id: str, fields: dict[str, Any]) -> bytes:
    data = canonical_json_text({k: v for k, v in fields.items() if v is not None})
    frame = leaf_frame(topic, 1, class_version)
    return framed_leaf(*frame, f"claim:{record_id}", "2026-01-01T00:00:00.000000Z", data)


def test_claims_recorded_before_bounds_were_kept_are_upcast_and_read_the_same(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    setup = [
        {"type": "incident", "id": "i", "title": "I", "timezone": "Asia/Damascus"},
        {"type": "source", "id": "s", "name": "S", "kind": "outlet"},
        {"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"},
    ]
    for record in setup:
        writing.append_one(db, record)
    base = {"incident": "i", "fact": "killed", "value": 5, "report": "r"}
    leaves = [
        (f"claim:{cid}", Claim.Recorded.TOPIC,
         old_leaf(Claim.Recorded.TOPIC, version, cid, {**base, "valid_time": valid}))
        for cid, version, valid in OLD_CLAIMS
    ]  # fmt: skip
    correction = {**base, "claim": "v1-none", "value": 6, "valid_time": "2022-01-XX"}
    topic = Claim.RecordedAsCorrection.TOPIC
    leaves.append(("claim:v2-correction", topic, old_leaf(topic, 2, "v2-correction", correction)))
    append_leaves(db, leaves)

    result = rebuilding.replay(db)
    rows = valid_columns(tmp_path / "l.views.db")
    for cid, _, valid in [*OLD_CLAIMS[:4], ("v2-correction", 2, "2022-01-XX")]:
        want = edtf_in_zone(valid, "Asia/Damascus") if valid else (None, None)
        assert rows[cid][1:3] == want, cid
    # A valid time that cannot be read is refused as it was before: that event is set aside.
    [aside] = result["unprojectable"]
    assert aside["event"] == "claim:v1-bad" and "not a valid EDTF date" in aside["error"]

    ledger = Ledger(locate(db).event_store_env())
    try:
        first: Any = ledger.get_record("claim", "v1-set")  # the record, without its bounds
        assert first.valid_time == OLD_CLAIMS[0][2]
        loaded: Any = ledger.get_record("claim", "v2-correction")
        assert (loaded.valid_time, loaded.change_fact) == ("2022-01-XX", None)
    finally:
        ledger.close()
