"""One rebuild of a read model at a time.

Two ``ledger replay`` at once each emptied the build file beside the model and renamed
it over the model: the second emptied the first's under it, and the first could rename
the second's half-built file into place. A rebuild now holds a lock file while it runs;
another at once is refused, and changes nothing.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from incident_ledger.ledger.scratch import alone
from incident_ledger.ledger.stores.location import locate
from incident_ledger.projections.model_files import rebuild_lock
from tests.test_cli import ledger as cli
from tests.test_read_model_binding import sample_ledger


def test_a_rebuild_under_way_refuses_a_second(tmp_path: Path) -> None:
    db = sample_ledger(tmp_path)
    model = locate(db).views_path
    before = model.read_bytes()
    lock = rebuild_lock(model)
    with alone(lock) as mine:
        assert mine
        assert cli(db, "replay") == (
            1,
            "",
            f"error: another rebuild of the read model {model} is under way: nothing was "
            "done; run it again once that one ends\n",
        )
        assert model.read_bytes() == before
    assert not lock.exists()
    code, out, _ = cli(db, "replay")
    assert code == 0 and "events" in out
    assert not lock.exists()
    assert cli(db, "verify")[0] == 0


def _hold(lock: str, ready: object, done: object) -> None:
    with alone(Path(lock)) as mine:
        assert mine
        ready.set()  # type: ignore[attr-defined]
        done.wait(30)  # type: ignore[attr-defined]


def test_the_lock_is_one_process_s_and_a_left_file_holds_no_one(tmp_path: Path) -> None:
    """Held by a living process, it is refused to another; a file left behind by a
    process that died (no one holds it) is taken."""
    lock = tmp_path / "model.db.rebuilding.lock"
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(lock), ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        with alone(lock) as mine:
            assert not mine
        assert lock.exists()  # the holder's, left as it is
    finally:
        done.set()
        holder.join(30)
    assert holder.exitcode == 0 and not lock.exists()
    lock.write_bytes(b"")  # left by a process that died
    with alone(lock) as mine:
        assert mine
    assert not lock.exists()


def test_a_lock_file_removed_after_it_was_opened_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process opens the lock file; its holder then removes it and lets go. Locking
    what it opened would keep no one out (no one else can find that file): it locks the
    file at the path instead."""
    lock = tmp_path / "model.db.rebuilding.lock"
    lock.write_bytes(b"")
    opened = os.open(lock, os.O_RDWR)
    lock.unlink()  # by the holder, once done
    real_open = os.open
    calls: list[int] = []

    def first_the_removed_file(path: object, flags: int, mode: int = 0o777) -> int:
        calls.append(1)
        return opened if len(calls) == 1 else real_open(path, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", first_the_removed_file)
    with alone(lock) as mine:
        assert mine and len(calls) == 2
        assert lock.exists()
    assert not lock.exists()


def test_a_lock_is_never_taken_through_a_symbolic_link(tmp_path: Path) -> None:
    """A symbolic link where the lock goes made a file at its target; it is refused."""
    db = sample_ledger(tmp_path)
    model = locate(db).views_path
    target = tmp_path / "elsewhere"
    rebuild_lock(model).symlink_to(target)
    code, _, err = cli(db, "replay")
    assert code == 1 and err.startswith(f"error: cannot make the lock file {rebuild_lock(model)}")
    assert not target.exists()


def test_a_rebuild_in_a_folder_that_is_not_there_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sample_ledger(tmp_path)
    missing = tmp_path / "missing" / "model.db"
    monkeypatch.setenv("LEDGER_VIEWS", str(missing))
    assert cli(db, "replay") == (
        1,
        "",
        f"error: cannot make the read model {missing}: folder {missing.parent} does not exist\n",
    )
