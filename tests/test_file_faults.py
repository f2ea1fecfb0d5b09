"""Faults in the files a command reads or writes beside the store: an output folder
that does not exist, a signing or verifier key file that is not a key, a damaged file
of an export bundle — and a stray driver or system error that escaped every layer.
Each is one ``error:`` line and its exit code, writes nothing, and is never a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError as LibraryError

from incident_ledger.cli.main import app
from incident_ledger.usecases import reading
from tests.chained import as_first_made
from tests.test_store_faults import files, one_line, run, runner, small_ledger


@pytest.fixture
def ledger_db(tmp_path: Path) -> Path:
    return small_ledger(tmp_path)


# --- where outputs go -------------------------------------------------------------------------


OUTPUTS = {
    "export csv": ("export", "--format", "csv", "--out"),
    "export html": ("export", "--format", "html", "--out"),
    "export prov": ("export", "--format", "prov", "--out"),
    "export claimreview": ("export", "--format", "claimreview", "--out"),
    "export jsonl": ("export", "--format", "jsonl", "--out"),
    "history chart": ("history", "g", "killed.security_forces", "--chart"),
    "replay": ("replay", "--out"),
}


@pytest.mark.slow
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


@pytest.mark.slow
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
    return f"error: the signing key {path} is not a key: it is not text\n"


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_verifier_key_file_that_is_no_key_is_bad_input(bundle: Path, tmp_path: Path) -> None:
    random, empty, folder = tmp_path / "random.pub", tmp_path / "empty.pub", tmp_path / "keys"
    random.write_bytes(b"\xff\xfe" + os.urandom(30))
    empty.write_bytes(b"")
    folder.mkdir()
    for key, says in [
        (random, f"the key file {random} is not a key: it is not text"),
        (empty, f"the key file {empty} is empty"),
        (folder, f"cannot read the key file {folder}: Is a directory"),
    ]:
        code, _, err = run("verify", "--export", str(bundle), "--key", str(key))
        assert (code, err) == (2, f"error: {says}\n")


# --- the files of a bundle --------------------------------------------------------------------


@pytest.fixture(params=["full", "incident"])
def any_bundle(request: pytest.FixtureRequest, ledger_db: Path) -> Path:
    out = ledger_db.parent / f"bundle-{request.param}"
    selected = ("--incident", "g") if request.param == "incident" else ()
    command = ("export", "--format", "jsonl", "--out", str(out), *selected)
    assert run("--db", str(ledger_db), *command)[0] == 0
    return out


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE: dict[str, Callable[[Path], object]] = {
    "missing": lambda p: p.unlink(),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "garbage": lambda p: p.write_bytes(b"\xc3\x28\xa0\xa1" + os.urandom(60)),
    "other json": lambda p: p.write_text('{"index": "x", "proof": 5}\n', encoding="utf-8"),
    "a folder": _replace_with_folder,
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE)
def test_every_file_of_a_bundle_damaged_fails_verification_in_one_line(
    any_bundle: Path, ledger_db: Path, tmp_path: Path, damage: str
) -> None:
    names = sorted(p.name for p in any_bundle.iterdir())
    incident = "subtrees.jsonl" in names
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


@pytest.mark.slow
def test_a_malformed_subtree_or_proof_line_is_named(ledger_db: Path) -> None:
    bundle = ledger_db.parent / "bundle"
    command = ("export", "--format", "jsonl", "--out", str(bundle), "--incident", "g")
    assert run("--db", str(ledger_db), *command)[0] == 0
    subtrees = bundle / "subtrees.jsonl"
    lines = subtrees.read_text(encoding="utf-8").splitlines()
    good = lines[1]
    for bad in ('[1, 2, "AAAA"]', '[2, 1, "' + "A" * 43 + '="]', "{}", "[1, 2]"):
        lines[1] = bad
        subtrees.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert run("verify", "--export", str(bundle))[:3:2] == (
            1,
            "error: subtrees.jsonl line 2: not a subtree ([start, end, hash])\n",
        ), bad
    lines[1] = good
    subtrees.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("verify", "--export", str(bundle))[0] == 0
    as_first_made(bundle)  # a bundle made with one proof per leaf
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
    error: Exception = psycopg.OperationalError(
        "server closed the connection unexpectedly\nDETAIL: x"
    )
    return error


STRAY: dict[str, tuple[Callable[[], Exception], str]] = {
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


@pytest.mark.slow
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
