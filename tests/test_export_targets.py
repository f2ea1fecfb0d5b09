"""An output never replaces the ledger's own files, nor anything that is not a regular file:
the store, the read model and the files SQLite keeps beside them, the signing key, the
acting member's key, a link, a pipe are each refused in one line, before any work."""

from __future__ import annotations

import json
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


def checkpoints(db: str) -> int:
    result = runner.invoke(app, ["--db", db, "verify", "--json"])
    assert result.exit_code == 0, result.stderr
    count: int = json.loads(result.stdout)["checkpoints"]
    return count


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (
            ("--format", "csv", "--incident", "bi", "--out", "n.csv"),
            1,
            "no incident 'bi' in the ledger; did you mean 'big'?",
        ),
        (
            ("--format", "html", "--incident", "nosuch", "--out", "n.html"),
            1,
            "no incident 'nosuch' in the ledger",
        ),
        (
            ("--format", "claimreview", "--incident", "bi"),
            1,
            "no incident 'bi' in the ledger; did you mean 'big'?",
        ),
        (
            ("--format", "jsonl", "--incident", "bi", "--out", "bundle"),
            1,
            "no incident 'bi' in the ledger; did you mean 'big'?",
        ),
        (("--format", "jsonl", "--out", "full"), 2, "full exists and is not empty"),
        (
            ("--format", "prov", "--namespace", "no uri", "--out", "n.json"),
            2,
            "not a namespace URI: 'no uri' (an absolute URI, e.g. https://desk.example/ledger/)",
        ),
    ],
    ids=["csv", "html", "claimreview", "jsonl", "full-folder", "namespace"],
)
def test_an_export_refused_for_what_it_asks_signs_and_writes_nothing(
    db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    code: int,
    error: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "kept").write_text("kept\n", encoding="utf-8")
    assert checkpoints(db) == 0
    assert run(db, "export", *args) == (code, f"error: {error}\n")
    assert not [name for name in ("n.csv", "n.html", "n.json", "bundle") if Path(name).exists()]
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["kept"]
    assert checkpoints(db) == 0
    assert run(db, "export", "--format", "csv", "--incident", "big", "--out", "n.csv")[0] == 0
    assert checkpoints(db) == 1
