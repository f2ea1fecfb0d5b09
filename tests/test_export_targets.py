"""An output never replaces the ledger's own files, nor anything that is not a regular file:
the store, the read model and the files SQLite keeps beside them, the signing key, the
acting member's key, a link, a pipe are each refused in one line, before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from tests.test_streamed_exports import ledger_of

runner = CliRunner()


def run(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db, *args])
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return ledger_of(tmp_path, 8)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize(
    ("fmt", "name", "what"),
    [
        ("csv", "l.db", "event store"),
        ("xlsx", "l.db", "event store"),
        ("prov", "l.views.db", "read model"),
        ("csv", "l.views.db-wal", "read model"),
        ("html", "l.db-shm", "event store"),
        ("claimreview", "l.key", "signing key"),
        ("csv", "member.key", "member key"),
    ],
)
def test_an_export_never_replaces_a_file_of_the_ledger(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, name: str, what: str
) -> None:
    (tmp_path / "member.key").write_text("a member's key\n", encoding="utf-8")
    monkeypatch.setenv("LEDGER_KEY", str(tmp_path / "member.key"))
    assert run(db, "verify")[0] == 0  # the model is up to date: the export writes nothing else
    before = contents(tmp_path)
    out = str(tmp_path / name)
    code, said = run(db, "export", "--format", fmt, "--out", out)
    assert (code, said) == (2, f"error: {out} is the ledger's {what}: give another file\n")
    assert contents(tmp_path) == before
    monkeypatch.delenv("LEDGER_KEY")
    assert run(db, "verify")[0] == 0


def not_a_file(out: str) -> tuple[int, str]:
    return (
        2,
        f"error: {out} is not a regular file (a link, a pipe or a device): "
        "it would be replaced, not written to\n",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("link.csv", ("export", "--format", "csv", "--out")),
        ("pipe.csv", ("export", "--format", "prov", "--out")),
        ("link.svg", ("history", "big", "killed", "--chart")),
    ],
)
def test_a_link_or_a_pipe_is_not_replaced(
    db: str, tmp_path: Path, name: str, command: tuple[str, ...]
) -> None:
    (tmp_path / "kept").write_text("kept\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(tmp_path / "kept")
    (tmp_path / "link.svg").symlink_to(tmp_path / "kept")
    os.mkfifo(tmp_path / "pipe.csv")
    out = str(tmp_path / name)
    assert run(db, *command, out) == not_a_file(out)
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "link.svg").is_symlink()
    assert (tmp_path / "kept").read_text("utf-8") == "kept\n"
    assert (tmp_path / "pipe.csv").exists()
    assert not (tmp_path / "pipe.csv").is_file()


def test_keygen_never_makes_a_file_sqlite_would_take_for_the_store_s(
    db: str, tmp_path: Path
) -> None:
    out = str(tmp_path / "l.db-wal")
    code, said = run(db, "keygen", "--out", out)
    assert (code, said) == (2, f"error: {out} is the ledger's event store: give another file\n")
    assert not (tmp_path / "l.db-wal").exists()
    assert run(db, "verify")[0] == 0
