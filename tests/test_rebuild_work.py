"""A bulk rebuild (indexes built after the rows) gives the read model that projecting the
same events row by row gives, even when it was killed before its end, and SQLite's work
in it grows with the ledger, not with its square."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.facts import FactRules, read_claim
from incident_ledger.ledger.stores.location import locate
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.projections.projector import Projector
from incident_ledger.projections.views import Views
from incident_ledger.usecases import desk_work, writing

pytestmark = pytest.mark.slow


def ledger_of(tmp_path: Path, claims: int, name: str = "l.db") -> str:
    """A store holding the synthetic ledger of ``claims`` claims (2% retracted, 2%
    corrected), without a read model."""
    from benchmarks.synthetic import records

    db = str(tmp_path / name)
    writing.init(db)
    source = tmp_path / f"{name}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records(claims)), encoding="utf-8")
    writing.append_file(db, str(source), project=False)
    return db


def model(db: str, path: Path, **settings: Any) -> Views:
    """A read model of the store projected into ``path`` (module settings patched)."""
    ledger = Ledger(locate(db).event_store_env())
    views = Views(path)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in settings.items():
                patch.setattr(projector_module, name, value)
            Projector(ledger, views).catch_up()
    finally:
        ledger.close()
    return views


def statuses(views: Views) -> dict[str, int]:
    counted = views.connection.execute(
        "SELECT claim_status, count(*) FROM claims GROUP BY claim_status"
    ).fetchall()
    return dict(counted)


ALONE = {"PARALLEL_BACKLOG": 10**9, "PAGE_SIZE": 100}


class Killed(BaseException):
    """The process dying before the bulk load ends."""


def killed_and_resumed(db: str, path: Path) -> Views:
    """A bulk load into ``path`` killed before its end, then caught up again."""

    def killed(self: Views) -> None:
        raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Views, "finish_bulk", killed)
        with pytest.raises(Killed):
            model(db, path, BULK_BACKLOG=0, **ALONE)
    return model(db, path, **ALONE)


def test_a_bulk_rebuild_ends_the_claims_it_ends_row_by_row(tmp_path: Path) -> None:
    db = ledger_of(tmp_path, 600)
    row_by_row = model(db, tmp_path / "rows.db", BULK_BACKLOG=10**9, **ALONE)
    bulk = model(db, tmp_path / "bulk.db", BULK_BACKLOG=0, **ALONE)
    expected = row_by_row.dump()
    assert bulk.dump() == expected
    assert statuses(bulk)["retracted"] > 0 and statuses(bulk)["corrected"] > 0

    # Killed once every page is in but before the indexes and the claims' ends are:
    # the next catch-up finds the indexes missing and writes both.
    resumed = killed_and_resumed(db, tmp_path / "killed.db")
    assert resumed.dump() == expected
    assert resumed.position() == row_by_row.position()


def test_a_bulk_load_another_process_takes_for_dead_still_ends_with_every_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first read between two pages of a bulk load finds the indexes missing, takes the
    load for one that died, and builds them and the statuses. The load goes on, writing no
    status, and ends: its index builds found the indexes there and failed, leaving the
    statuses of every end it projected after that read unwritten (an `append`'s catch-up
    with reads beside it: `verify` then failed on claims shown active)."""
    db = ledger_of(tmp_path, 600)
    for name, value in ALONE.items():
        monkeypatch.setattr(projector_module, name, value)
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    path = tmp_path / "m.views.db"
    live = Views(path)
    read: list[int] = []

    def between(done: int, total: int) -> None:
        if not read:  # after the first page: another process's first read
            read.append(done)
            other = Views(path)
            other.ensure_schema()
            other.close()

    ledger = Ledger(locate(db).event_store_env())
    try:
        Projector(ledger, live).catch_up(progress=between)
    finally:
        ledger.close()
    clean = model(db, tmp_path / "clean.db", BULK_BACKLOG=0, **ALONE)
    assert read and read[0] < live.position()
    assert statuses(live) == statuses(clean)
    assert live.dump() == clean.dump()
    live.close()
    clean.close()


def test_a_bulk_rebuild_killed_before_its_end_is_finished_with_the_desks_statuses(
    tmp_path: Path,
) -> None:
    """The claims' statuses are written when a bulk load ends: one killed before then is
    finished by the next catch-up, ends and the desk's errata included."""
    from benchmarks.synthetic import records

    db = ledger_of(tmp_path, 600)
    voided = next(r["id"] for r in records(600) if r["type"] == "claim")
    desk_work.erratum(db, f"claim:{voided}", reason="entered twice")
    row_by_row = model(db, tmp_path / "rows.db", BULK_BACKLOG=10**9, **ALONE)
    assert statuses(row_by_row)["voided"] == 1
    assert killed_and_resumed(db, tmp_path / "killed.db").dump() == row_by_row.dump()


def test_a_rebuilds_second_half_reads_the_facts_of_its_first_at_once(tmp_path: Path) -> None:
    """A helper projecting a rebuild's second half meets facts first declared in the
    first: it reads them all from the store in one query, not one query each (48,000
    reads, a tenth of a hot million-claim rebuild)."""
    from benchmarks.synthetic import records

    db = ledger_of(tmp_path, 600)
    ledger = Ledger(locate(db).event_store_env())
    last = ledger.recorder.max_notification_id() or 0
    ledger.close()
    asked: list[str] = []
    creations, between = LogView.creation_states, LogView.creations_between

    def creation_states(self: Any, ids: list[str]) -> Any:
        asked.extend(ids)
        return creations(self, ids)

    def creations_between(self: Any, low: str, high: str) -> Any:
        asked.append(low)
        return between(self, low, high)

    read_reports: list[str] = []
    report_time = projector_module._report_time

    def counted(mapper: Any, row: Any) -> Any:
        read_reports.append(row[1])
        return report_time(mapper, row)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LogView, "creation_states", creation_states)
        patch.setattr(LogView, "creations_between", creations_between)
        patch.setattr(projector_module, "_report_time", counted)
        applied, _ = projector_module._project_shard(
            locate(db).event_store_env(), tmp_path / "shard.db", last // 2, last, None, None
        )
    assert applied == last - last // 2
    assert [name for name in asked if name.startswith("fact:")] == ["fact:"]
    # and the incidents' (their time zones), a query each before
    assert [name for name in asked if name.startswith("incident:")] == ["incident:"]
    # The reports too; each is read from its leaf when first cited, not all at once:
    # the last 30 events cite fewer than the ledger's reports.
    assert [name for name in asked if name.startswith("report:")] == ["report:"]
    assert len(read_reports) == len(set(read_reports))
    read_reports.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projector_module, "_report_time", counted)
        projector_module._project_shard(
            locate(db).event_store_env(), tmp_path / "tail.db", last - 30, last, None, None
        )
    reports = sum(1 for r in records(600) if r["type"] == "report")
    assert 0 < len(read_reports) <= 30 < reports


def test_a_model_built_from_nothing_is_not_asked_what_the_run_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard, and a rebuild from an empty model, hold only what the run projected, all
    of it remembered: a report, fact, incident or zone the run has not met is looked up in
    the store at once, never in the model (at a million claims a shard asked its model in
    vain for each of 60,000 reports and 48,000 facts of the first half)."""
    db = ledger_of(tmp_path, 600)
    asked: list[str] = []

    class Traced(Views):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.connection.set_trace_callback(asked.append)

    monkeypatch.setattr(projector_module, "Views", Traced)
    env = locate(db).event_store_env()
    ledger = Ledger(env)
    last = ledger.recorder.max_notification_id() or 0
    ledger.close()
    projector_module._project_shard(env, tmp_path / "shard.db", last // 2, last, None, None)
    lookups = re.compile(r"FROM (reports|facts|incidents|zone_day_ends) WHERE")
    assert asked and not [sql for sql in asked if lookups.search(sql)]
    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 10**9)
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    for name, up_to in (("whole.db", None), ("half.db", last // 2)):
        asked.clear()
        views = Traced(tmp_path / name)
        ledger = Ledger(env)
        try:
            Projector(ledger, views).catch_up(up_to=up_to)
            assert not [sql for sql in asked if lookups.search(sql)]
            if up_to is not None:  # a model holding the first half is asked, as it must be
                Projector(ledger, views).catch_up()
                assert [sql for sql in asked if lookups.search(sql)]
        finally:
            ledger.close()
            views.close()


def test_a_shard_carries_its_searchable_texts_to_be_indexed_once(tmp_path: Path) -> None:
    """A helper keeps its half's searchable texts in a plain table of its shard: the model
    indexes them once, when it absorbs the shard (the shard's full-text index was work
    done twice). They are indexed in ledger order, row ids included."""
    db = ledger_of(tmp_path, 600)
    env = locate(db).event_store_env()
    ledger = Ledger(env)
    last = ledger.recorder.max_notification_id() or 0
    ledger.close()
    shard = tmp_path / "shard.db"
    projector_module._project_shard(env, shard, last // 2, last, None, None)
    with closing(sqlite3.connect(shard)) as connection:
        tables = dict(
            connection.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'search%'")
        )
        carried = connection.execute("SELECT count(*) FROM search_index").fetchone()[0]
    assert sorted(tables) == ["search_incidents", "search_index", "search_reports"]
    assert not tables["search_index"].upper().startswith("CREATE VIRTUAL")
    assert carried > 0

    texts = "SELECT rowid, * FROM search_index ORDER BY rowid"
    alone = model(db, tmp_path / "alone.db", BULK_BACKLOG=0, **ALONE)
    split = model(db, tmp_path / "split.db", BULK_BACKLOG=0, PARALLEL_BACKLOG=2, PAGE_SIZE=100)
    assert split.dump() == alone.dump()
    assert split.connection.execute(texts).fetchall() == alone.connection.execute(texts).fetchall()
    # each text's row number in the index by incident and of report titles: the same
    scopes = "SELECT 'i', * FROM search_incidents UNION ALL SELECT 'r', * FROM search_reports"
    held = split.connection.execute(scopes).fetchall()
    assert "i" in {kind for kind, *_ in held}
    assert held == alone.connection.execute(scopes).fetchall()


def test_a_rebuild_reads_each_distinct_claim_value_once(tmp_path: Path) -> None:
    """A claim value is read once per distinct (value, qualifier, fact rules, zone) in a
    rebuild: ranges and booleans too (a tenth of the hot scenario's claims are ranges)."""
    from benchmarks.hot import records

    db = str(tmp_path / "hot.db")
    writing.init(db)
    source = tmp_path / "hot.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records(2_000)), encoding="utf-8")
    writing.append_file(db, str(source), project=False)
    read = projector_module._read
    asked: list[tuple[str, ...]] = []

    def counted(value: Any, qualifier: Any, rules: Any, zone: Any) -> Any:
        asked.append((type(value).__name__, repr(value), repr(qualifier), repr(rules), repr(zone)))
        return read(value, qualifier, rules, zone)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projector_module, "_read", counted)
        views = model(db, tmp_path / "hot.views.db", BULK_BACKLOG=0, **ALONE)
    kinds = {kind for kind, *_ in asked}
    assert {"dict", "bool"} <= kinds
    assert len(asked) == len(set(asked))
    claims = views.connection.execute("SELECT count(*) FROM claims WHERE kind != 'number'")
    assert claims.fetchone()[0] > len([a for a in asked if a[0] != "int"])


@given(
    low=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    high=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    counted=st.booleans(),
    qualifier=st.sampled_from([None, "approx", "at_least"]),
    swapped=st.booleans(),
)
def test_a_counts_range_is_read_as_read_claim_reads_it(
    low: int, high: int, counted: bool, qualifier: str | None, swapped: bool
) -> None:
    """A count's range ({min, max}) is read without ``read_claim``, to the same reading and
    stored text (``_read``'s own way for every other value)."""
    rules = FactRules.from_fields({"kind": "count"}) if counted else None
    value = {"max": high, "min": low} if swapped else {"min": low, "max": high}
    read = read_claim(value, qualifier, rules, None)
    text = json.dumps({"min": low, "max": high}, ensure_ascii=False)
    expected = (read.kind, int(read.approximate), text, (read.low, read.high))
    assert projector_module._read(value, qualifier, rules, None) == expected


def test_a_rebuild_reads_a_counts_range_without_read_claim(tmp_path: Path) -> None:
    """``read_claim`` is not called for a count's range (a tenth of the claims of both
    benchmark generators, most of them distinct)."""
    db = ledger_of(tmp_path, 1_000)
    read = read_claim
    ranges = [0]

    def counted(value: Any, *args: Any) -> Any:
        ranges[0] += isinstance(value, dict) and "min" in value
        return read(value, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projector_module, "read_claim", counted)
        views = model(db, tmp_path / "views.db", BULK_BACKLOG=0, **ALONE)
    found = views.connection.execute("SELECT count(*) FROM claims WHERE value LIKE '{\"min\"%'")
    assert found.fetchone()[0] > 0
    assert ranges[0] == 0


def test_a_rebuild_pages_the_log_as_positions_and_leaves(tmp_path: Path) -> None:
    """A rebuild reads each event's position and leaf, not its four other columns (they
    are read again only for an event upcast or set aside)."""
    db = ledger_of(tmp_path, 600)
    full: list[int] = []
    rows = LogView.event_rows

    def event_rows(self: Any, after: int, limit: int, stop: int | None = None) -> Any:
        full.append(limit)
        return rows(self, after, limit, stop)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LogView, "event_rows", event_rows)
        bulk = model(db, tmp_path / "bulk.db", BULK_BACKLOG=0, **ALONE)
        by_row = model(db, tmp_path / "rows.db", BULK_BACKLOG=10**9, **ALONE)
    assert full == []
    assert bulk.dump() == by_row.dump()


def vm_steps(db: str, path: Path) -> int:
    """SQLite's virtual-machine steps (in thousands) of a bulk rebuild in one process."""
    ledger = Ledger(locate(db).event_store_env())
    views = Views(path)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    views.connection.set_progress_handler(step, 1000)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(projector_module, "BULK_BACKLOG", 0)
            patch.setattr(projector_module, "PARALLEL_BACKLOG", 10**9)
            Projector(ledger, views).catch_up()
    finally:
        views.close()
        ledger.close()
    return steps[0]


def test_a_rebuilds_sqlite_work_grows_with_the_ledger_not_its_square(tmp_path: Path) -> None:
    """Four times the claims cost SQLite at most five times the steps: each claim a
    retraction or correction ends is found by its id (an index), not by reading every
    claim (which made a rebuild of 100,000 claims nine times slower)."""
    small = vm_steps(ledger_of(tmp_path, 1_000, "small.db"), tmp_path / "small.views.db")
    large = vm_steps(ledger_of(tmp_path, 4_000, "large.db"), tmp_path / "large.views.db")
    assert large < 5 * small, (small, large)
