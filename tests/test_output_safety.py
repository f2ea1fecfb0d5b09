"""Outputs are written whole or not at all, and never over what is not theirs to replace:
a chart or a JSONL bundle on a full disk, an export aimed at another ledger's store or at a
read-only file, a file replaced keeping its permissions; and a named pipe given as the
store or its read model, which every command waited on for ever."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.test_file_faults import OUTPUTS
from tests.test_store_faults import run, small_ledger


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    return small_ledger(tmp_path)


def _full_at_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills as a bundle's checkpoint is written, after its leaves."""
    write_text = Path.write_text

    def full(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.name == "checkpoint":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)


@pytest.mark.slow
def test_a_chart_that_cannot_be_written_keeps_the_old_one(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk left half a chart where the old one was: it is written as every output
    is, beside its place and renamed when whole."""
    chart = ledger_db.parent / "chart.svg"
    chart.write_text("the previous chart\n", encoding="utf-8")

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    code, _, err = run("--db", str(ledger_db), "history", "g", "killed.security_forces",
                       "--chart", str(chart))  # fmt: skip
    assert (code, err) == (1, f"error: cannot write the chart {chart}: No space left on device\n")
    assert chart.read_text(encoding="utf-8") == "the previous chart\n"
    assert [p.name for p in ledger_db.parent.iterdir() if ".part" in p.name] == []


@pytest.mark.slow
def test_a_bundle_that_cannot_be_written_leaves_nothing(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk left a part-written bundle, which the same export then refused ("exists
    and is not empty"): a bundle is made in a folder beside and renamed when whole."""
    folder = ledger_db.parent / "bundle"
    folder.mkdir()  # an empty folder given: it is the bundle's once whole
    _full_at_checkpoint(monkeypatch)
    command = ("--db", str(ledger_db), "export", "--format", "jsonl", "--out", str(folder))
    code, _, err = run(*command)
    said = f"error: cannot write the bundle {folder}: No space left on device\n"
    assert (code, err) == (1, said)
    assert list(folder.iterdir()) == []
    assert [p.name for p in ledger_db.parent.iterdir() if ".part" in p.name] == []
    monkeypatch.undo()
    code, out, _ = run(*command)
    assert code == 0 and "entries" in out
    assert (folder / "leaves.jsonl").stat().st_size > 0


@pytest.mark.slow
def test_an_output_never_replaces_a_sqlite_database(ledger_db: Path, tmp_path: Path) -> None:
    """``export --out`` named another ledger's event store: it replaced the store with a
    CSV file, its whole record gone. No output is a SQLite database."""
    (tmp_path / "other").mkdir()
    other = small_ledger(tmp_path / "other")
    before = other.read_bytes()
    for command in (OUTPUTS["export csv"], OUTPUTS["history chart"]):
        target = other if "--chart" not in command else other.with_suffix(".svg")
        if "--chart" in command:
            shutil.copyfile(other, target)
        code, out, err = run("--db", str(ledger_db), *command, str(target))
        assert (code, out, err) == (
            2,
            "",
            f"error: {target} is a SQLite database (an event store, a read model or another "
            "application's): no output replaces one; give another file\n",
        )
    assert other.read_bytes() == before


@pytest.mark.slow
def test_an_output_replacing_a_file_keeps_its_permissions(ledger_db: Path) -> None:
    """A file replaced is renamed over: it took the new file's permissions (0600 → 0644)."""
    target = ledger_db.parent / "private.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o600)
    assert run("--db", str(ledger_db), *OUTPUTS["export csv"], str(target))[0] == 0
    assert (target.stat().st_mode & 0o777, target.read_text() != "old\n") == (0o600, True)


@pytest.mark.slow
def test_an_output_never_replaces_a_read_only_file(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename does not ask whether the file may be written: a read-only one was
    replaced where the shell's ``>`` is refused. (Root may write it: the system's answer
    is given as a user's would be.)"""
    target = ledger_db.parent / "kept.csv"
    target.write_text("keep\n", encoding="utf-8")
    target.chmod(0o444)
    access = os.access

    def as_a_user(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(path) == target and mode == os.W_OK:
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", as_a_user)
    code, out, err = run("--db", str(ledger_db), *OUTPUTS["export csv"], str(target))
    assert (code, out, err) == (1, "", f"error: cannot write {target}: it is read-only\n")
    assert target.read_text(encoding="utf-8") == "keep\n"


def test_a_pipe_named_as_the_store_or_its_model_is_refused(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a named pipe waits for a writer: ``--db`` or ``LEDGER_VIEWS`` naming one
    made every command hang."""
    pipe = ledger_db.parent / "pipe"
    os.mkfifo(pipe)
    assert run("--db", str(pipe), "incidents")[:3:2] == (
        1,
        f"error: {pipe} is not a regular file (a pipe or a device), not a ledger store\n",
    )
    assert run("--db", str(pipe), "init")[0] == 2
    monkeypatch.setenv("LEDGER_VIEWS", str(pipe))
    said = (
        f"error: the read model {pipe} is not a regular file (a pipe or a device): "
        "set LEDGER_VIEWS to a file of its own\n"
    )
    for command in ("incidents", "verify"):
        assert run("--db", str(ledger_db), command)[:3:2] == (2, said), command
    assert run("--db", str(ledger_db), "replay")[:3:2] == (
        2,
        f"error: {pipe} is not a read model: refusing to overwrite it\n",
    )


def test_a_link_beside_the_store_to_another_ledgers_model_is_not_rebuilt(
    ledger_db: Path, tmp_path: Path
) -> None:
    """The model beside a store is rebuilt when it is not the store's: through a symbolic
    link to another ledger's model, a read rewrote that ledger's model as its own."""
    assert run("--db", str(ledger_db), "incidents")[0] == 0
    theirs = ledger_db.with_name("ledger.views.db")
    (tmp_path / "b").mkdir()
    other = tmp_path / "b" / "b.db"
    assert run("--db", str(other), "init")[0] == 0
    for stale in other.parent.glob("b.views.db*"):
        stale.unlink()
    (other.parent / "b.views.db").symlink_to(theirs)
    before = theirs.read_bytes()
    code, out, err = run("--db", str(other), "incidents")
    assert (code, out) == (1, "")
    assert "belongs to another ledger" in err and "remove the link" in err, err
    assert theirs.read_bytes() == before


def test_a_model_file_that_is_not_a_database_says_what_to_do(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone's text file named by ``LEDGER_VIEWS`` is refused as another application's
    database is (exit 2, where it was "cannot open …: file is not a database", exit 1);
    the model beside the store overwritten says that ``ledger replay`` makes it anew."""
    notes = ledger_db.parent / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    monkeypatch.setenv("LEDGER_VIEWS", str(notes))
    assert run("--db", str(ledger_db), "incidents") == (
        2,
        "",
        f"error: {notes} is not a SQLite database: a read model cannot be written there "
        "(set LEDGER_VIEWS to a file of its own)\n",
    )
    assert notes.read_text(encoding="utf-8") == "my notes\n"
    monkeypatch.delenv("LEDGER_VIEWS")
    model = ledger_db.with_name("ledger.views.db")
    assert run("--db", str(ledger_db), "incidents")[0] == 0
    for side in model.parent.glob("ledger.views.db-*"):
        side.unlink()
    model.write_text("overwritten\n", encoding="utf-8")
    assert run("--db", str(ledger_db), "incidents") == (
        1,
        "",
        f"error: the read model {model} is not a SQLite database: 'ledger replay' makes it "
        "anew from the ledger\n",
    )
    said = run("--db", str(ledger_db), "verify")[2]
    assert said.startswith(
        f"error: the read model {model} does not agree with the log: it is not a SQLite "
        "database; the log itself verified ("
    ), said
    assert said.endswith("run 'ledger replay' to rebuild the read model\n"), said
    assert run("--db", str(ledger_db), "replay")[0] == 0
    assert run("--db", str(ledger_db), "incidents")[0] == 0


def test_an_empty_output_name_is_refused_by_every_command(ledger_db: Path) -> None:
    """``replay --out ''`` took the empty name for no name: with ``--until`` it turned the
    live model into a snapshot, which every read then refused."""
    said = (2, "", "error: the output's file name is empty: give a file name\n")
    for command in (
        ("replay", "--until", "2021-01-01", "--out", ""),
        ("export", "--format", "csv", "--out", ""),
    ):
        assert run("--db", str(ledger_db), *command) == said, command
    assert run("--db", str(ledger_db), "incidents")[0] == 0


def test_a_bundle_into_an_empty_folder_keeps_the_folder(ledger_db: Path) -> None:
    """A bundle replaced the empty folder it was given with one of its own: a private
    folder (0700) became readable by all, and a link to a folder was refused."""
    private = ledger_db.parent / "private"
    private.mkdir(mode=0o700)
    real = ledger_db.parent / "real"
    real.mkdir()
    (ledger_db.parent / "link").symlink_to(real)
    for out in (private, ledger_db.parent / "link"):
        command = ("--db", str(ledger_db), "export", "--format", "jsonl", "--out", str(out))
        assert run(*command)[0] == 0, out
    assert private.stat().st_mode & 0o777 == 0o700
    assert (real / "leaves.jsonl").stat().st_size > 0
    assert (ledger_db.parent / "link").is_symlink()


def test_a_bundle_into_the_folder_the_command_runs_in_keeps_it(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out .`` from an empty folder replaced that folder: the shell sitting in it saw
    an empty, deleted one."""
    here = ledger_db.parent / "here"
    here.mkdir()
    held = here.stat().st_ino
    monkeypatch.chdir(here)
    assert run("--db", str(ledger_db), "export", "--format", "jsonl", "--out", ".")[0] == 0
    assert here.stat().st_ino == held
    assert sorted(p.name for p in here.iterdir() if p.name.startswith(".")) == []
    assert (here / "leaves.jsonl").stat().st_size > 0
