"""The read model's schema: a rebuild recreates exactly what sqlite-utils first wrote."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import incident_ledger.projections.projector as projector_module
from incident_ledger.ledger import samples
from incident_ledger.projections.timeline_order import TIMELINE_INDEX
from incident_ledger.projections.views import QUERY_MMAP_BYTES, SCHEMA_VERSION, Views
from incident_ledger.usecases import rebuilding, workspace, writing


def schema(path: Path) -> list[tuple[str, str, str]]:
    connection = sqlite3.connect(path)
    try:
        return sorted(connection.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
    finally:
        connection.close()


@pytest.fixture
def fresh(tmp_path: Path) -> list[tuple[str, str, str]]:
    views = Views(tmp_path / "fresh.db")
    views.ensure_schema()
    views.close()
    return schema(tmp_path / "fresh.db")


@pytest.mark.slow
@pytest.mark.parametrize("bulk", [False, True], ids=["row by row", "bulk, split with a helper"])
def test_a_rebuild_recreates_the_schema_as_first_written(
    tmp_path: Path,
    fresh: list[tuple[str, str, str]],
    bulk: bool,
    monkeypatch: pytest.MonkeyPatch,
    started_helpers: Any,
) -> None:
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    started = started_helpers(projector_module)
    if bulk:
        monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
        monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 2)
    views_path = tmp_path / "l.views.db"
    assert schema(views_path) == fresh
    before = Views(views_path)
    rows = before.dump()
    before.close()
    rebuilding.replay(db)
    assert schema(views_path) == fresh
    after = Views(views_path)
    assert after.dump() == rows
    after.close()
    assert len(started) == (1 if bulk else 0)


@pytest.mark.parametrize(
    "damage",
    ["DROP INDEX idx_claims_report_incident", "ALTER TABLE claims ADD COLUMN extra TEXT"],
    ids=["an index missing", "a table altered"],
)
def test_a_model_missing_an_index_is_rebuilt_with_every_index(
    tmp_path: Path, fresh: list[tuple[str, str, str]], damage: str
) -> None:
    """A rebuild makes the schema as declared, not as the damaged model has it (whose
    statements it reuses only when they are the declared ones)."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    views_path = tmp_path / "l.views.db"
    connection = sqlite3.connect(views_path)
    connection.execute(damage)
    connection.close()
    rebuilding.replay(db)
    assert schema(views_path) == fresh


def _sample_model(tmp_path: Path) -> tuple[str, Path, dict[str, list[tuple[object, ...]]]]:
    """The sample's ledger, its read model and the model's rows."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    views_path = tmp_path / "l.views.db"
    current = Views(views_path)
    rows = current.dump()
    current.close()
    return db, views_path, rows


def test_a_model_of_an_earlier_schema_is_rebuilt_when_first_opened(
    tmp_path: Path, fresh: list[tuple[str, str, str]]
) -> None:
    """Schema 3 had a claims(incident, published_at) index; opening such a model rebuilds it
    from the events, in the current layout, with the same rows."""
    db, views_path, rows = _sample_model(tmp_path)
    connection = sqlite3.connect(views_path, isolation_level=None)
    connection.execute(
        "CREATE INDEX idx_claims_incident_published_at ON claims (incident, published_at)"
    )
    connection.execute("UPDATE tracking SET schema_version = 3")
    connection.close()
    with workspace.read_model(db) as opened:
        assert opened.execute("SELECT schema_version FROM tracking").fetchone() == (SCHEMA_VERSION,)
    assert schema(views_path) == fresh
    rebuilt = Views(views_path)
    assert rebuilt.dump() == rows
    rebuilt.close()


@pytest.mark.parametrize("earlier", [False, True])
def test_a_model_two_processes_make_at_once_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: bool
) -> None:
    """Two first reads at once: each looks, finds no model (or one of an earlier layout),
    and makes it. The second to take the write lock looks again there and finds the model
    the first made: it neither fails ("table incidents already exists") nor drops the
    first's tables and rows."""
    path = tmp_path / "m.views.db"
    if earlier:
        old = Views(path)
        old.ensure_schema()
        old.connection.execute("UPDATE tracking SET schema_version = 3")
        old.close()
    first, second = Views(path), Views(path)
    seen_tables = second._tables()
    seen_version = second._schema_version() if earlier else None
    tables, version = second._tables, second._schema_version
    # What the second sees outside a transaction is what it saw before the first made it.
    locked = second.connection
    monkeypatch.setattr(
        second, "_tables", lambda: tables() if locked.in_transaction else seen_tables
    )
    monkeypatch.setattr(
        second, "_schema_version", lambda: version() if locked.in_transaction else seen_version
    )
    first.ensure_schema()
    first.connection.execute("INSERT INTO incidents (id, title, seq) VALUES ('i', 'I', 1)")
    second.ensure_schema()
    assert second.connection.execute("SELECT id FROM incidents").fetchall() == [("i",)]
    first.close()
    second.close()


def test_a_model_without_the_timeline_index_is_rebuilt_not_read(
    tmp_path: Path, fresh: list[tuple[str, str, str]]
) -> None:
    """Schema 10 had no index of dated claims in timeline order: a model of it (here with a
    claim row lost, which only a rebuild restores) is rebuilt from the events when first
    opened, with the index, rather than read as it is."""
    db, views_path, rows = _sample_model(tmp_path)
    connection = sqlite3.connect(views_path, isolation_level=None)
    connection.execute(f"DROP INDEX {TIMELINE_INDEX}")
    connection.execute("DELETE FROM claims WHERE rowid = (SELECT MIN(rowid) FROM claims)")
    connection.execute("UPDATE tracking SET schema_version = 10")
    connection.close()
    with workspace.read_model(db) as opened:
        assert opened.execute("SELECT schema_version FROM tracking").fetchone() == (SCHEMA_VERSION,)
    assert SCHEMA_VERSION > 10
    assert schema(views_path) == fresh
    assert any(name == TIMELINE_INDEX for _, name, _ in fresh)
    rebuilt = Views(views_path)
    assert rebuilt.dump() == rows
    rebuilt.close()


def test_queries_read_a_memory_map_and_projection_does_not(tmp_path: Path) -> None:
    """Mapped pages count in resident memory: only a connection done writing maps the model."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    with workspace.open_workspace(db) as ws:
        assert ws.views.connection.execute("PRAGMA mmap_size").fetchone()[0] == 0
    with workspace.read_model(db) as connection:
        assert connection.execute("PRAGMA mmap_size").fetchone()[0] == QUERY_MMAP_BYTES


@pytest.mark.slow
def test_a_rebuild_over_a_current_model_does_not_load_sqlite_utils(tmp_path: Path) -> None:
    """The model's own checked statements make the fresh file: sqlite-utils (and numpy,
    which it loads when installed) cost a tenth of a rebuild's time."""
    db = str(tmp_path / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    code = (
        "import sys\n"
        "from incident_ledger.usecases import rebuilding\n"
        f"rebuilding.replay({db!r})\n"
        "print(sorted(m for m in ('sqlite_utils', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_date_only_report_is_known_by_one_rule_in_each_zone(sample_db: str) -> None:
    """One rule (``projector.known_from``): a report's own row from the end of its day in
    UTC (it may serve incidents in several zones), each claim and each end from the end
    of that day in its incident's zone: Ghwayran's (UTC+2) and Diyala's (UTC+3)."""
    import sqlite3

    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.projections.projector import known_from

    db = sqlite3.connect(locate(sample_db).views_path)
    reports = {
        row[0]: row[1:]
        for row in db.execute("SELECT id, published_at, published_precision FROM reports")
    }
    assert reports["report-000"] == ("2022-01-21T23:59:59.999999Z", "day")
    for report, (published, precision) in reports.items():
        assert precision == "day"
        assert published == known_from(None, published[:10], None), report
    rows = db.execute(
        "SELECT c.published_at, c.report, i.timezone FROM claims c "
        "JOIN incidents i ON i.id = c.incident"
    ).fetchall()
    zones = {zone for _, _, zone in rows}
    assert zones >= {"Asia/Damascus", "Asia/Baghdad"}
    for published, report, zone in rows:
        assert published == known_from(None, reports[report][0][:10], zone)
    ends = db.execute(
        "SELECT e.published_at, e.report, i.timezone FROM claim_ends e "
        "JOIN claims c ON c.id = e.claim JOIN incidents i ON i.id = c.incident"
    ).fetchall()
    for published, report, zone in ends:
        assert published == known_from(None, reports[report][0][:10], zone)
    db.close()


def _scans(connection: sqlite3.Connection, statement: str) -> list[str]:
    """The steps of a statement's query plan that read a whole table."""
    plan = connection.execute(
        f"EXPLAIN QUERY PLAN {statement}", (None,) * statement.count("?")
    ).fetchall()
    return [str(row[-1]) for row in plan if str(row[-1]).startswith("SCAN")]


def test_a_bulk_rebuild_finds_each_row_it_updates_by_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retraction, a correction or a grade updates a row an earlier event wrote; while a
    bulk load has dropped the indexes, a scan per update made a rebuild's time grow with
    the square of its claims (a million-claim import had not finished after an hour)."""
    from benchmarks.synthetic import records

    db, claims = str(tmp_path / "l.db"), tmp_path / "claims.jsonl"
    claims.write_text("".join(json.dumps(record) + "\n" for record in records(600)))
    writing.init(db)
    writing.append_file(db, str(claims), project=False)
    writing.rate(db, "src-0", "E", reason="graded")
    monkeypatch.setattr(projector_module, "BULK_BACKLOG", 0)
    monkeypatch.setattr(projector_module, "PARALLEL_BACKLOG", 10**9)
    checked: dict[str, list[str]] = {}
    claim_indexes: set[str] = set()
    flush = projector_module.Projector.flush

    def checking(self: projector_module.Projector) -> None:
        for statement in self._pending:
            if statement.startswith("UPDATE"):
                checked[statement] = _scans(self.db, statement)
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'claims'"
        claim_indexes.update(name for (name,) in self.db.execute(indexes))
        flush(self)

    monkeypatch.setattr(projector_module.Projector, "flush", checking)
    rebuilding.replay(db)
    assert checked.keys() == {projector_module.RATE_SOURCE}
    assert checked == {statement: [] for statement in checked}
    # A claim's end sets its status once the load ends (``claim_status.settle``), not as
    # it is read: no index on the claims is kept up to date row by row during the load
    # (an index of their ids cost the load of a million claims seconds, and its copy of a
    # helper's half as much again).
    assert claim_indexes == set()


def test_a_helpers_fresh_shard_finds_each_row_it_updates_by_an_index(
    sample_db: str, tmp_path: Path
) -> None:
    """A rebuild's helper creates its shard's tables after it begins the bulk load."""
    model = Views(Path(sample_db).with_suffix(".views.db"))
    tables = model.table_statements()
    model.close()
    assert tables is not None
    shard = Views(tmp_path / "shard.db")
    shard.make_scratch()
    shard.begin_bulk(projector_module.updated_keys(projector_module.BULK_UPDATES))
    shard.create(tables, [])
    scans = {s: _scans(shard.connection, s) for s in projector_module.BULK_UPDATES}
    shard.close()
    assert scans == {statement: [] for statement in projector_module.BULK_UPDATES}


def test_claims_are_found_by_seq_through_their_rowid(tmp_path: Path) -> None:
    """A claim's seq is its row's rowid: the reads that find claims by position (those
    recorded since a position, a batch's range) search the table itself, with no index of
    seqs for a rebuild to build; the rows are those the seqs name."""
    _, views_path, rows = _sample_model(tmp_path)
    connection = sqlite3.connect(views_path)
    try:
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT incident FROM claims WHERE seq > ?", (0,)
        ).fetchall()
        assert [detail for *_, detail in plan] == [
            "SEARCH claims USING INTEGER PRIMARY KEY (rowid>?)"
        ]
        indexed = connection.execute(
            "SELECT il.name FROM pragma_index_list('claims') il "
            "JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = 'seq'"
        ).fetchall()
        assert indexed == []
        assert connection.execute("SELECT count(*) FROM claims WHERE rowid <> seq").fetchone() == (
            0,
        )
    finally:
        connection.close()
    assert len(rows["claims"]) > 0


def test_an_event_set_aside_after_a_bulk_load_leaves_no_text_to_search(tmp_path: Path) -> None:
    """A claim set aside once a bulk load ends (an id written twice) takes its rows with
    it: its searchable texts and their rows in the index by incident as well."""
    _, path, _ = _sample_model(tmp_path)
    views = Views(path)
    conn = views.connection
    seq, claim = conn.execute(
        "SELECT seq, ref FROM search_index WHERE kind = 'claim' AND field = 'quote' LIMIT 1"
    ).fetchone()
    rows = [row for (row,) in conn.execute("SELECT rowid FROM search_index WHERE seq = ?", (seq,))]
    assert rows
    with views.transaction():
        views.drop_event_rows([seq])
    assert conn.execute("SELECT count(*) FROM claims WHERE id = ?", (claim,)).fetchone() == (0,)
    for table, key in (("search_index", "rowid"), ("search_incidents", "row")):
        held = conn.execute(
            f"SELECT count(*) FROM {table} WHERE {key} IN ({', '.join('?' * len(rows))})", rows
        ).fetchone()
        assert held == (0,), table
    assert conn.execute("SELECT count(*) FROM search_index WHERE seq = ?", (seq,)).fetchone() == (
        0,
    )
    views.close()
