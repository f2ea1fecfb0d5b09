"""Store, file and system faults: each is one ``error:`` line and its exit code, writes
nothing, and is never a traceback.

One test (or one parametrized family) per class of fault: a file that is not SQLite,
another application's database, a truncated store, a store with a damaged page, an
output folder that does not exist, a signing or verifier key file that is not a key,
and a stray driver or system error that escaped every layer.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError as LibraryError
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.usecases import reading
from tests.damage import leaf_page_in_the_middle, overwrite_page

runner = CliRunner()

RECORDS = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "s", "name": "Outlet", "kind": "outlet"},
    {"type": "report", "id": "r", "source": "s", "published_at": "2022-01-21"},
    {"type": "claim", "id": "c", "incident": "g", "fact": "killed", "value": 5, "report": "r"},
]
LATER = [
    {"type": "incident", "id": "h", "title": "Another incident"},
    {"type": "claim", "id": "d", "incident": "h", "fact": "killed", "value": 2, "report": "r"},
    {"type": "claim", "id": "e", "incident": "g", "fact": "killed", "value": 7, "report": "r"},
]


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
    source = db.with_name("in.jsonl")
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert run("--db", str(db), "append", "--file", str(source))[0] == 0
    source.unlink()


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    """A small ledger of two incidents, with a checkpoint (``prev.checkpoint``, beside it)
    signed before its last three records."""
    db = tmp_path / "ledger.db"
    assert run("--db", str(db), "init")[0] == 0
    append(db, RECORDS)
    code, note, _ = run("--db", str(db), "checkpoint")
    assert code == 0
    db.with_name("prev.checkpoint").write_text(note, encoding="utf-8")
    append(db, LATER)
    return db


READS = [
    ("state", "g"),
    ("timeline", "g"),
    ("history", "g", "killed"),
    ("search", "x"),
    ("sources",),
    ("verify",),
    ("checkpoint",),
    ("export", "--format", "csv"),
    ("replay",),
    ("prove", "inclusion", "claim:c"),
]
WRITES = [
    (
        "append",
        "claim",
        "--id",
        "c2",
        "--incident",
        "g",
        "--fact",
        "f",
        "--value",
        "1",
        "--report",
        "r",
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
            "malformed): restore it from a backup\n"
        ), command


@pytest.fixture
def damaged_db(tmp_path: Path) -> tuple[Path, int]:
    """A ledger of a few thousand events, caught up, then one leaf page of its events
    table overwritten with zeros; the leaf index of the first event it held."""
    from benchmarks.synthetic import records

    db = tmp_path / "ledger.db"
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records(1500)), encoding="utf-8")
    assert run("--db", str(db), "init")[0] == 0
    assert run("--db", str(db), "append", "--file", str(source))[0] == 0
    page, rowid = leaf_page_in_the_middle(db, "stored_events")
    overwrite_page(db, page)
    return db, rowid - 1  # leaf i is the event of notification id i + 1


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


# --- where outputs go -------------------------------------------------------------------------


OUTPUTS = {
    "export csv": ("export", "--format", "csv", "--out"),
    "export html": ("export", "--format", "html", "--out"),
    "export prov": ("export", "--format", "prov", "--out"),
    "export claimreview": ("export", "--format", "claimreview", "--out"),
    "export jsonl": ("export", "--format", "jsonl", "--out"),
    "history chart": ("history", "g", "killed", "--chart"),
    "replay": ("replay", "--out"),
}


@pytest.mark.parametrize("command", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_an_output_folder_that_does_not_exist_is_bad_input(
    ledger_db: Path, command: tuple[str, ...]
) -> None:
    missing = ledger_db.parent / "no-such-folder"
    suffix = ".svg" if "--chart" in command else ".out"
    before = files(ledger_db.parent)
    code, out, err = run("--db", str(ledger_db), *command, str(missing / f"file{suffix}"))
    assert (code, out, err) == (2, "", f"error: directory {missing} does not exist\n")
    assert not missing.exists()
    assert files(ledger_db.parent) == before


def test_init_in_a_folder_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert run("--db", str(missing / "l.db"), "init")[:3:2] == (
        2,
        f"error: directory {missing} does not exist\n",
    )


def test_an_export_to_a_folder_is_bad_input_and_a_failed_write_keeps_the_old_file(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ledger_db.parent
    assert run("--db", str(ledger_db), "export", "--format", "csv", "--out", str(folder))[:3:2] == (
        2,
        f"error: {folder} is a directory: give a file name\n",
    )
    target = folder / "claims.csv"
    target.write_text("the previous export\n", encoding="utf-8")

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    code, _, err = run("--db", str(ledger_db), "export", "--format", "csv", "--out", str(target))
    assert (code, err) == (1, f"error: cannot write {target}: No space left on device\n")
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


# --- key files --------------------------------------------------------------------------------


def _random(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path.write_bytes(b"\x9f\x00\xfe" + os.urandom(61))
    return f"error: the signing key {path} is unusable: it is not text\n"


def _empty(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path.write_bytes(b"")
    return (
        f"error: the signing key {path} is unusable: malformed signer key: must start with "
        "PRIVATE+KEY+\n"
    )


def _folder(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path.mkdir()
    return f"error: cannot read the signing key {path}: Is a directory\n"


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path.write_text("PRIVATE+KEY+x\n", encoding="ascii")
    original = Path.read_bytes

    def denied(self: Path) -> bytes:  # as chmod 000 would, even for root (tests run as it)
        if self == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    return f"error: cannot read the signing key {path}: Permission denied\n"


KEYS = {"random bytes": _random, "empty": _empty, "a folder": _folder, "unreadable": _unreadable}


@pytest.mark.parametrize("kind", KEYS)
def test_a_signing_key_file_that_is_no_key_is_one_line_and_init_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_db: Path, kind: str
) -> None:
    key = ledger_db.with_name("ledger.key")
    key.unlink()
    make = KEYS[kind]
    expected = make(key, monkeypatch)
    for command in [("checkpoint",), ("verify",), ("export", "--format", "csv"), ("init",)]:
        assert run("--db", str(ledger_db), *command)[:3:2] == (1, expected), command
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    new_key = fresh / "new.key"
    expected = make(new_key, monkeypatch)
    assert run("--db", str(fresh / "new.db"), "init")[:3:2] == (1, expected)
    assert sorted(p.name for p in fresh.iterdir()) == ["new.key"]  # no store, no read model


@pytest.fixture
def bundle(ledger_db: Path) -> Path:
    out = ledger_db.parent / "bundle"
    assert run("--db", str(ledger_db), "export", "--format", "jsonl", "--out", str(out))[0] == 0
    return out


def test_a_verifier_key_file_that_is_no_key_is_bad_input(bundle: Path, tmp_path: Path) -> None:
    random, empty, folder = tmp_path / "random.pub", tmp_path / "empty.pub", tmp_path / "keys"
    random.write_bytes(b"\xff\xfe" + os.urandom(30))
    empty.write_bytes(b"")
    folder.mkdir()
    for key, says in [
        (random, "is not a verifier key (not text)"),
        (empty, "is empty"),
        (folder, "is a directory"),
    ]:
        code, _, err = run("verify", "--export", str(bundle), "--key", str(key))
        assert (code, err) == (2, f"error: the key file {key} {says}\n")


# --- the files of a bundle --------------------------------------------------------------------


@pytest.fixture(params=["full", "incident"])
def any_bundle(request: pytest.FixtureRequest, ledger_db: Path) -> Path:
    out = ledger_db.parent / f"bundle-{request.param}"
    selected = ("--incident", "g") if request.param == "incident" else ()
    command = ("export", "--format", "jsonl", "--out", str(out), *selected)
    assert run("--db", str(ledger_db), *command)[0] == 0
    return out


DAMAGE = {
    "missing": lambda p: p.unlink(),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "garbage": lambda p: p.write_bytes(b"\xc3\x28\xa0\xa1" + os.urandom(60)),
    "other json": lambda p: p.write_text('{"index": "x", "proof": 5}\n', encoding="utf-8"),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_every_file_of_a_bundle_damaged_fails_verification_in_one_line(
    any_bundle: Path, ledger_db: Path, tmp_path: Path, damage: str
) -> None:
    names = sorted(p.name for p in any_bundle.iterdir())
    incident = "proofs.jsonl" in names
    assert {"leaves.jsonl", "checkpoint", "key.pub", "consistency.json"} <= set(names)
    prev = ledger_db.with_name("prev.checkpoint")
    assert run("verify", "--export", str(any_bundle), "--prev", str(prev))[0] == 0
    for name in names:
        copy = tmp_path / f"copy-{name}"
        shutil.copytree(any_bundle, copy)
        DAMAGE[damage](copy / name)
        code, out, err = run("verify", "--export", str(copy), "--prev", str(prev))
        # Only what verification does not need may be damaged: the leaf hashes, which
        # only name a bad entry, and a full bundle's consistency proofs (its leaves are
        # all there to recompute the earlier root).
        needed = name != "leaf-hashes.txt" and (incident or name != "consistency.json")
        assert (code, out == "") == ((1, True) if needed else (0, False)), (name, err)
        if needed:
            one_line(err)
        shutil.rmtree(copy)


def test_a_malformed_proof_line_is_named(ledger_db: Path) -> None:
    bundle = ledger_db.parent / "bundle"
    command = ("export", "--format", "jsonl", "--out", str(bundle), "--incident", "g")
    assert run("--db", str(ledger_db), *command)[0] == 0
    proofs = bundle / "proofs.jsonl"
    lines = proofs.read_text(encoding="utf-8").splitlines()
    lines[1] = '{"index": 1, "proof": "AAAA"}'
    proofs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("verify", "--export", str(bundle))[:3:2] == (
        1,
        "error: proofs.jsonl line 2: not an inclusion proof\n",
    )


# --- the last line of defence -----------------------------------------------------------------


def _psycopg_error() -> Exception:
    psycopg = pytest.importorskip("psycopg")
    return psycopg.OperationalError("server closed the connection unexpectedly\nDETAIL: x")


STRAY = {
    "sqlite3": (
        lambda: sqlite3.OperationalError("disk I/O error"),
        "database error: disk I/O error",
    ),
    "OSError": (
        lambda: OSError(errno.EIO, os.strerror(errno.EIO), "ledger.views.db"),
        "Input/output error: ledger.views.db",
    ),
    "store library": (
        lambda: LibraryError("database is locked"),
        "database error: database is locked",
    ),
    "psycopg": (_psycopg_error, "database error: server closed the connection unexpectedly"),
}


@pytest.mark.parametrize("kind", STRAY)
def test_a_stray_driver_or_system_error_is_one_line_and_exit_1(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    make, says = STRAY[kind]
    error = make()

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(reading, "current_state", fails)
    assert run("--db", str(ledger_db), "state", "g") == (1, "", f"error: {says}\n")


def test_the_net_leaves_other_exceptions_alone(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug, not a fault: it must show its traceback")

    monkeypatch.setattr(reading, "current_state", fails)
    result = runner.invoke(app, ["--db", str(ledger_db), "state", "g"])
    assert isinstance(result.exception, KeyError)
