"""What ``--db`` names, when it is not a ledger's store or the store is damaged: each
fault is one ``error:`` line and its exit code, writes nothing, and is never a traceback.

One test (or one parametrized family) per class of fault: a file that is not SQLite,
another application's database (or a read model, a folder, an empty file), a truncated
store, a store with a damaged page. The other files a command reads and writes are
``test_file_faults``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from tests.damage import leaf_page_in_the_middle, overwrite_page
from tests.test_cli import SETUP, jsonl, ledger

runner = CliRunner()

LATER: list[dict[str, Any]] = [
    {"type": "incident", "id": "h", "title": "Another incident"},
    {"type": "claim", "id": "d", "incident": "h", "fact": "killed", "value": 2, "report": "r1"},
    {"type": "claim", "id": "e", "incident": "g", "fact": "killed", "value": 7, "report": "r1"},
]
"""Records added after the checkpoint of ``small_ledger`` (test_cli's SETUP before it)."""


def run(*args: str) -> tuple[int, str, str]:
    """Run the command line; a Python exception (a traceback) fails the test at once."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{' '.join(args)} raised {result.exception!r}")
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err


def append(db: Path, records: list[dict[str, Any]]) -> None:
    assert ledger(str(db), "append", "--file", "-", stdin=jsonl(records))[0] == 0


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    return small_ledger(tmp_path)


def small_ledger(tmp_path: Path) -> Path:
    """A small ledger of two incidents, with a checkpoint (``prev.checkpoint``, beside it)
    signed before its last three records."""
    db = tmp_path / "ledger.db"
    assert run("--db", str(db), "init")[0] == 0
    append(db, SETUP)
    code, note, _ = run("--db", str(db), "checkpoint")
    assert code == 0
    db.with_name("prev.checkpoint").write_text(note, encoding="utf-8")
    append(db, LATER)
    return db


READS: list[tuple[str, ...]] = [
    ("state", "g"),
    ("timeline", "g"),
    ("history", "g", "killed.security_forces"),
    ("search", "x"),
    ("sources",),
    ("verify",),
    ("checkpoint",),
    ("export", "--format", "csv"),
    ("replay",),
    ("prove", "inclusion", "claim:c1"),
]
WRITES: list[tuple[str, ...]] = [
    (
        "append",
        "claim",
        "--id",
        "c9",
        "--incident",
        "g",
        "--fact",
        "f",
        "--value",
        "1",
        "--report",
        "r1",
    )
]


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- what --db names --------------------------------------------------------------------------


@pytest.mark.parametrize("command", READS + WRITES, ids=lambda c: " ".join(c[:2]))
def test_a_file_that_is_not_sqlite_is_no_ledger_and_stays_as_it_was(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"shopping list: bread, milk\n" * 40)
    before = files(tmp_path)
    code, _, err = run("--db", str(db), *command)
    assert (code, one_line(err)) == (
        1,
        f"error: {db} is not a ledger: it is not an SQLite database\n",
    )
    assert files(tmp_path) == before


def test_init_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(os.urandom(5000))
    before = files(tmp_path)
    code, _, err = run("--db", str(db), "init")
    assert (code, err) == (
        2,
        f"error: {db} exists and is not an SQLite database: refusing to turn it into a "
        "ledger; choose another path\n",
    )
    assert files(tmp_path) == before  # no read model, no key, the file untouched


def foreign_database(path: Path) -> None:
    """Another application's database, in SQLite's default (rollback journal) mode."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (name TEXT)")
        connection.execute("INSERT INTO people VALUES ('Ada')")
    connection.close()


@pytest.mark.parametrize("command", [("init",), *READS, *WRITES], ids=lambda c: " ".join(c[:2]))
def test_another_applications_database_is_refused_and_left_untouched(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "app.db"
    foreign_database(db)
    before = files(tmp_path)
    code, _, err = run("--db", str(db), *command)
    if command == ("init",):
        expected = (
            2,
            f"error: {db} is another application's database (tables: people): "
            "refusing to add a ledger to it\n",
        )
    else:
        expected = (
            1,
            f"error: {db} is not a ledger: it is another application's database (tables: people)\n",
        )
    assert (code, err) == expected
    assert files(tmp_path) == before  # not even switched to WAL: not a byte written
    with sqlite3.connect(db) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert tables == {"people"}


def test_a_read_model_given_as_the_store_is_named_for_what_it_is(ledger_db: Path) -> None:
    views = ledger_db.with_name("ledger.views.db")
    before = files(ledger_db.parent)
    code, _, err = run("--db", str(views), "state", "g")
    assert (code, err) == (
        1,
        f"error: {views} is not a ledger: it is a ledger's read model, not its event store\n",
    )
    code, _, err = run("--db", str(views), "init")
    assert (code, err) == (
        2,
        f"error: {views} is a ledger's read model, not its event store: "
        "refusing to add a ledger to it\n",
    )
    # Reading its tables left its -wal and -shm beside it: nothing is written now.
    assert files(ledger_db.parent) == before


def test_an_empty_file_becomes_a_ledger_at_init_and_is_no_ledger_before(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    db.touch()
    assert run("--db", str(db), "state", "g")[1:] == (
        "",
        f"error: no ledger at {db} (an empty file): run 'ledger init' first\n",
    )
    assert run("--db", str(db), "init")[0] == 0
    assert run("--db", str(db), "sources")[0] == 0


def test_a_folder_given_as_the_store_is_refused(tmp_path: Path) -> None:
    assert run("--db", str(tmp_path), "init")[:3:2] == (
        2,
        f"error: {tmp_path} is a folder, not a ledger store\n",
    )
    assert run("--db", str(tmp_path), "state", "g")[:3:2] == (
        1,
        f"error: {tmp_path} is a folder, not a ledger store\n",
    )


# --- a damaged store --------------------------------------------------------------------------


def test_a_truncated_store_is_one_line_for_every_command(ledger_db: Path) -> None:
    data = ledger_db.read_bytes()
    ledger_db.write_bytes(data[: len(data) // 2])
    for command in [("init",), *READS, *WRITES]:
        code, _, err = run("--db", str(ledger_db), *command)
        assert code == 1, command
        assert one_line(err) == (
            f"error: the event store {ledger_db} is damaged (database disk image is "
            "malformed): its list of tables cannot be read; restore it from a backup\n"
        ), command


def synthetic_ledger(folder: Path) -> Path:
    """A ledger of some 1,600 events, caught up."""
    from benchmarks.synthetic import records

    db = folder / "ledger.db"
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records(1500)), encoding="utf-8")
    assert run("--db", str(db), "init")[0] == 0
    assert run("--db", str(db), "append", "--file", str(source))[0] == 0
    return db


@pytest.fixture
def damaged_db(tmp_path: Path) -> tuple[Path, int]:
    """A ledger whose events table has one leaf page overwritten with zeros; the leaf
    index of the first event that page held."""
    db = synthetic_ledger(tmp_path)
    page, rowid = leaf_page_in_the_middle(db, "stored_events")
    overwrite_page(db, page)
    return db, rowid - 1  # leaf i is the event of notification id i + 1


def test_verify_names_the_tree_nodes_when_they_are_what_cannot_be_read(tmp_path: Path) -> None:
    db = synthetic_ledger(tmp_path)
    with sqlite3.connect(db) as connection:
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'merkle_nodes'"
        ).fetchone()
    connection.close()
    overwrite_page(db, root)
    assert run("--db", str(db), "verify")[:3:2] == (
        1,
        "error: the Merkle tree nodes above entries from 0 cannot be read: the event store "
        f"{db} is damaged (database disk image is malformed): restore it from a backup\n",
    )


def test_verify_fails_on_a_damaged_page_naming_the_first_entry_it_cannot_read(
    damaged_db: tuple[Path, int],
) -> None:
    db, entry = damaged_db
    assert entry > 0
    code, out, err = run("--db", str(db), "verify")
    assert (code, out) == (1, "")
    assert err == (
        f"error: entry {entry} cannot be read: the event store {db} is damaged (database "
        "disk image is malformed): restore it from a backup\n"
    )


@pytest.mark.slow
def test_other_commands_on_a_damaged_page_say_so_in_one_line_or_answer_what_they_can(
    damaged_db: tuple[Path, int], tmp_path: Path
) -> None:
    db, _ = damaged_db
    damaged = (
        f"error: the event store {db} is damaged (database disk image is malformed): "
        "restore it from a backup\n"
    )
    # The read model was caught up before the damage: reads need no event and answer.
    assert run("--db", str(db), "state", "inc-0")[0] == 0
    for command in [
        ("export", "--format", "jsonl", "--out", str(tmp_path / "bundle")),
        ("replay", "--out", str(tmp_path / "rebuilt.db")),
        # Importing the same file again compares each record with the stored one.
        ("append", "--file", str(db.with_name("in.jsonl"))),
    ]:
        assert run("--db", str(db), *command)[:3:2] == (1, damaged), command


def test_a_postgres_store_that_fails_to_read_is_one_line(store_url: str) -> None:
    if not store_url.startswith("postgresql://"):
        pytest.skip("the PostgreSQL half: a SQLite file without its tables is no ledger")
    import psycopg

    assert run("--db", store_url, "init")[0] == 0
    schema = store_url.split("schema=")[1]
    with psycopg.connect(store_url.split("?", maxsplit=1)[0], autocommit=True) as connection:
        connection.execute(f'DROP TABLE "{schema}".merkle_leaves')
    missing = f'cannot read the event store: relation "{schema}.merkle_leaves" does not exist'
    assert run("--db", store_url, "verify")[:3:2] == (
        1,
        f"error: the Merkle log cannot be read: {missing}\n",
    )
    assert run("--db", store_url, "checkpoint")[:3:2] == (1, f"error: {missing}\n")
