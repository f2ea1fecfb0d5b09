"""What one small import costs PostgreSQL: every statement, transaction and connection of
``append_file`` counted in process. Each is a round trip to the server, which a writer
waits for; on a loaded machine each wait is a turn of the scheduler."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from incident_ledger.usecases import rebuilding, writing
from tests.conftest import NO_POSTGRES, POSTGRES_URL, drop_schema, made_key

pytestmark = pytest.mark.skipif(not POSTGRES_URL and not os.environ.get("CI"), reason=NO_POSTGRES)

SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
]


@dataclass
class Sent:
    """What a process sent to the server while counting."""

    statements: list[str] = field(default_factory=list)
    transactions: list[Any] = field(default_factory=list)
    """The isolation level each transaction began with (None: the server's default)."""
    connections: int = 0


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    import psycopg

    counted = Sent()
    for name in ("execute", "executemany", "copy"):
        original = getattr(psycopg.Cursor, name)

        def statement(self: Any, query: Any, *args: Any, _call: Any = original, **k: Any) -> Any:
            text = query.as_string(self.connection) if hasattr(query, "as_string") else query
            counted.statements.append(" ".join(str(text).split()))
            return _call(self, query, *args, **k)

        monkeypatch.setattr(psycopg.Cursor, name, statement)
    begin = psycopg.Transaction.__enter__

    def transaction(self: Any) -> Any:
        if self.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            counted.transactions.append(self._conn.isolation_level)
        return begin(self)

    monkeypatch.setattr(psycopg.Transaction, "__enter__", transaction)
    connect = psycopg.Connection.connect

    def connection(*args: Any, **kwargs: Any) -> Any:
        counted.connections += 1
        return connect(*args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "connect", connection)
    return counted


def claims(path: Path, first: int, count: int) -> str:
    lines = [
        {"type": "claim", "id": f"c{n}", "incident": "g", "fact": "killed.total", "value": n}
        | {"report": "r1"}
        for n in range(first, first + count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_a_small_import_reads_in_few_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: Sent
) -> None:
    """No new connection; one transaction, to append and sign: the read model, which stood
    where the write began, follows it from what the writer kept, with neither a check of
    its binding nor a read of the log's end or of the events; the store's id and whether
    it holds a ledger are read with the catalogue when the ledger opens, the log's size
    in one statement, and the library's row type (which only its own insert path uses)
    not at all."""

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES_URL}?schema={schema}"
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "ledger.views.db"))
    monkeypatch.setenv("LEDGER_KEY", str(made_key(tmp_path / "ledger.key")))
    setup = tmp_path / "setup.jsonl"
    setup.write_text("".join(json.dumps(r) + "\n" for r in SETUP), encoding="utf-8")
    try:
        writing.init(url)
        writing.append_file(url, str(setup))
        writing.append_file(url, claims(tmp_path / "a.jsonl", 0, 5))
        sent.statements.clear()
        sent.transactions.clear()
        sent.connections = 0
        writing.append_file(url, claims(tmp_path / "b.jsonl", 5, 5))
        sent = Sent(list(sent.statements), list(sent.transactions), sent.connections)
    finally:
        drop_schema(schema)
    # the connection the last ledger of the process opened, checked by one empty statement
    assert sent.connections == 0
    assert sent.statements.count("") == 1
    assert not [s for s in sent.statements if s.startswith("SET idle")]
    assert sent.transactions == [None], sent.transactions  # the append
    assert not [s for s in sent.statements if "typname" in s]
    assert not [s for s in sent.statements if s.startswith("SET TRANSACTION")]
    assert len([s for s in sent.statements if "pg_tables" in s or "to_regclass" in s]) == 1
    assert len([s for s in sent.statements if "ledger_info" in s]) == 1
    # neither the log's end nor the events are read back; the store holds a ledger: the
    # catalogue said so
    assert not [s for s in sent.statements if s.startswith("SELECT MAX(notification_id)")]
    assert not [s for s in sent.statements if "SELECT notification_id, state" in s]
    # the lock, its timeout, the notification and the read of the log's ends: one
    locking = [s for s in sent.statements if "LOCK TABLE" in s]
    assert len(locking) == 1 and "COALESCE(MAX(notification_id), 0)" in locking[0], locking
    assert len(sent.statements) <= 21, "\n".join(sent.statements)


def test_a_model_follows_its_own_writes_as_a_rebuild_projects_them(tmp_path: Path) -> None:
    """A read model that follows the writes of its process from what they kept binds
    itself to the store as one that reads them back does: the same position, log size
    and root, and the same rows as a model rebuilt from the store. One left behind
    (``--defer-projection``) reads the store, the write's events and those before."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.projections.binding import binding_problem
    from incident_ledger.projections.views import Views

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES_URL}?schema={schema}"
    env = {"LEDGER_VIEWS": str(tmp_path / "ledger.views.db")}
    setup = tmp_path / "setup.jsonl"
    setup.write_text("".join(json.dumps(r) + "\n" for r in SETUP), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("LEDGER_KEY", str(made_key(tmp_path / "ledger.key")))
        for name, value in env.items():
            mp.setenv(name, value)
        writing.init(url)
        writing.append_file(url, str(setup))
        writing.append_file(url, claims(tmp_path / "a.jsonl", 0, 5), project=False)
        writing.append_file(url, claims(tmp_path / "b.jsonl", 5, 5))  # reads a's too
        writing.append_file(url, claims(tmp_path / "c.jsonl", 10, 5))  # follows its own
        mp.setenv("LEDGER_VIEWS", str(tmp_path / "rebuilt.views.db"))
        rebuilding.replay(url)
        ledger = Ledger(locate(url).event_store_env())
        models = [Views(tmp_path / "ledger.views.db"), Views(tmp_path / "rebuilt.views.db")]
        try:
            assert [binding_problem(ledger, views) for views in models] == [None, None]
            followed, rebuilt = [views.binding() for views in models]
            assert followed == rebuilt
            assert followed.position == ledger.recorder.max_notification_id()
            tables = ("claims", "reports", "sources", "incidents")
            for table in tables:
                query = f"SELECT * FROM {table} ORDER BY 1, 2"
                rows = [views.connection.execute(query).fetchall() for views in models]
                assert rows[0] == rows[1] and rows[0], table
        finally:
            for views in models:
                views.close()
            ledger.close()
    finally:
        mp.undo()
        drop_schema(schema)


@pytest.fixture
def kept_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh PostgreSQL store's URL, its read model and key in ``tmp_path``; a ledger
    opened on it leaves this process a kept connection."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "ledger.views.db"))
    monkeypatch.setenv("LEDGER_KEY", str(made_key(tmp_path / "ledger.key")))
    yield f"{POSTGRES_URL}?schema={schema}"
    drop_schema(schema)


def test_a_kept_connection_that_broke_is_replaced(
    kept_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection a process keeps between ledgers may have died meanwhile (the server
    restarted, an administrator ended it): the next ledger opened gets a new one, and
    the write goes through; a ledger on another store closes the one kept."""
    import psycopg

    from incident_ledger.ledger.stores import pg_connections

    url = kept_store
    writing.init(url)
    kept = pg_connections._kept[0][1]
    with kept.pool.connection() as conn:
        backend = conn.info.backend_pid
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    writing.append_file(url, _setup(tmp_path))
    assert pg_connections._kept[0][1] is kept
    with kept.pool.connection() as conn:
        assert conn.info.backend_pid != backend
    monkeypatch.setenv("LEDGER_VIEWS", str(tmp_path / "other.views.db"))
    writing.init(f"{url}x")  # another store: its datastore is kept in place of this one
    assert kept.pool.closed
    drop_schema(url.rsplit("=", 1)[1] + "x")


def test_a_ledger_closed_again_never_keeps_a_datastore_another_has_taken_up(
    kept_store: str,
) -> None:
    """The application closes its factory again as it is collected: by then the next
    ledger may be using the datastore the first kept, which must stay that ledger's only."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores import pg_connections
    from incident_ledger.ledger.stores.location import locate

    url = kept_store
    writing.init(url)
    first = Ledger(locate(url).event_store_env())
    first.close()
    second = Ledger(locate(url).event_store_env())
    taken = pg_connections._kept == []  # the second took up what the first kept
    first.close()  # again, as the collector does
    assert taken and pg_connections._kept == []
    second.close()


def test_a_kept_connection_never_keeps_the_process_from_forking(kept_store: str) -> None:
    """The pool of the connection a process keeps runs threads, and only a single-threaded
    process forks a helper: weighing a fork lets the idle kept one go."""
    from incident_ledger.ledger import forking
    from incident_ledger.ledger.stores import pg_connections

    if (os.cpu_count() or 1) < 2:
        pytest.skip("a helper needs a second core")
    url = kept_store
    writing.init(url)
    kept = pg_connections._kept[0][1]
    assert forking.two_cores()
    assert kept.pool.closed and pg_connections._kept == []


def _setup(folder: Path) -> str:
    path = folder / "setup.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SETUP), encoding="utf-8")
    return str(path)


def test_a_read_is_repeatable_and_leaves_its_connection_as_it_was() -> None:
    """A read transaction runs at the repeatable-read level (one view of events and tree
    however long it reads); the pooled connection then begins transactions at the
    server's default level again, as the write transaction expects."""
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.location import locate

    schema = f"t_{uuid.uuid4().hex[:12]}"
    ledger = Ledger(locate(f"{POSTGRES_URL}?schema={schema}").event_store_env(create=True))
    try:
        with ledger.audit.reading() as view:
            view.cursor.execute("SHOW transaction_isolation")
            assert view.cursor.fetchone()[0] == "repeatable read"
        datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn:
            assert conn.isolation_level is None
            with conn.transaction():
                level = conn.execute("SHOW transaction_isolation").fetchone()
            assert level["transaction_isolation"] == "read committed"
    finally:
        ledger.close()
        drop_schema(schema)
