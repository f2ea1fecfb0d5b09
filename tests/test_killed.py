"""A command killed with SIGKILL leaves no helper process and, after the next command,
no scratch folder behind: tried for real on an import of a large generated file."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from incident_ledger.ledger import scratch
from incident_ledger.ledger.errors import StoreError
from incident_ledger.ledger.imports.streaming import SPLIT_MIN_BYTES

LINUX = sys.platform.startswith("linux")


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid``, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def held(folder: Path) -> bool:
    """Whether a scratch folder's lock is held: its process is past making it. Killed
    between making the folder and locking it, a process leaves a folder that the next
    command keeps for a grace period (it may still be being made): not this test's case."""
    import fcntl  # Linux only, like the test that asks

    try:
        descriptor = os.open(folder / scratch.LOCK, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing lets go of a lock taken here
    return False


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll until ``condition`` holds; fail, saying ``what``, after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def large_import(path: Path) -> None:
    """A file large enough to be validated by two forked helpers, its claims before the
    reports they cite, so that they wait in the import's spool (a scratch folder)."""
    from benchmarks.synthetic import records

    claims: list[str] = []
    others: list[str] = []
    for record in records(40_000):
        (claims if record["type"] == "claim" else others).append(json.dumps(record))
    path.write_text("\n".join(claims + others) + "\n", encoding="utf-8")
    assert path.stat().st_size > SPLIT_MIN_BYTES


def ledger_command(*args: str, death_signal: bool = True) -> list[str]:
    """``ledger …`` as a subprocess command; without ``death_signal``, its helpers
    watch a pipe instead (the fallback where there is no PR_SET_PDEATHSIG)."""
    setup = "" if death_signal else "f.USE_PARENT_DEATH_SIGNAL = False; "
    code = (
        "import incident_ledger.ledger.forking as f; "
        f"{setup}from incident_ledger.cli.main import app; app()"
    )
    return [sys.executable, "-c", code, *args]


@pytest.mark.skipif(not LINUX, reason="finds the helper processes in /proc (Linux)")
@pytest.mark.skipif(
    LINUX and len(os.sched_getaffinity(0)) < 2, reason="helpers are forked on two cores only"
)
@pytest.mark.parametrize("death_signal", [True, False], ids=["death signal", "watched pipe"])
def test_a_killed_import_leaves_no_helper_and_the_next_command_no_scratch(
    tmp_path: Path, death_signal: bool
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = os.environ | {"TMPDIR": str(temporary)}
    db = str(tmp_path / "ledger.db")
    subprocess.run(
        ledger_command("--db", db, "init"), env=environment, check=True, capture_output=True
    )
    source = tmp_path / "large.jsonl"
    large_import(source)

    importing = subprocess.Popen(
        ledger_command("--db", db, "append", "--file", str(source), death_signal=death_signal),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        helpers: set[int] = set()

        def started() -> bool:
            helpers.update(children_of(importing.pid))
            return len(helpers) >= 2 and any(map(held, temporary.iterdir()))

        wait_for(started, "the import's two helpers and its spool")
        importing.send_signal(signal.SIGKILL)
        importing.wait()
    finally:
        if importing.poll() is None:
            importing.kill()
            importing.wait()

    wait_for(lambda: not any(running(pid) for pid in helpers), "the helpers to end")
    left = [p.name for p in temporary.iterdir()]
    assert [name.split("-")[2] for name in left] == ["import"], left  # the killed spool
    subprocess.run(ledger_command("--db", db, "sources"), env=environment, check=True)
    assert list(temporary.iterdir()) == []


def _leave_a_scratch_folder(folder: str) -> None:
    """In a process of its own: make a scratch folder and end without removing it."""
    tempfile.tempdir = folder
    scratch.Scratch("rebuild")
    os._exit(0)


def test_only_the_scratch_folders_of_ended_processes_are_removed(tmp_path: Path) -> None:
    folder = str(tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tempfile.tempdir", folder)
        alive = scratch.Scratch("import")  # this process holds its lock
        ended = multiprocessing.get_context("spawn").Process(
            target=_leave_a_scratch_folder, args=(folder,)
        )
        ended.start()
        ended.join()
        (ended_path,) = tmp_path.glob("incident-ledger-rebuild-*")
        young = tmp_path / "incident-ledger-demo-young"  # not locked yet: being made
        young.mkdir()
        old = tmp_path / "incident-ledger-serve-old"  # killed before it was locked
        old.mkdir()
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        other = tmp_path / "incident-ledger-something-else"
        other.mkdir()
        (other / scratch.LOCK).touch()
        assert sorted(scratch.remove_stale(folder)) == sorted([ended_path, old])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [alive.path.name, young.name, other.name]
        )
        alive.remove()
        assert not alive.path.exists()


def test_a_scratch_folder_being_made_is_never_taken_for_a_dead_process_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another command clears stale folders just as this one makes its own, before it
    # has locked it: the folder must not be taken for one whose process is gone.
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    real, removed, calls = scratch._try_lock, [], []

    def another_command_starts_now(descriptor: int) -> bool:
        calls.append(descriptor)
        if len(calls) == 1:  # the maker's own lock, about to be taken
            removed.extend(scratch.remove_stale(str(tmp_path)))
        return real(descriptor)

    monkeypatch.setattr(scratch, "_try_lock", another_command_starts_now)
    made = scratch.Scratch("import")
    monkeypatch.setattr(scratch, "_try_lock", real)
    assert removed == []
    assert made.path.is_dir() and scratch.remove_stale(str(tmp_path)) == []
    made.remove()
    assert not made.path.exists()


def test_a_scratch_folder_that_cannot_be_locked_leaves_no_folder_nor_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    before = sorted(os.listdir("/proc/self/fd"))

    def refused(self: Path, target: object) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "rename", refused)
    with pytest.raises(StoreError, match="No space left on device"):
        scratch.Scratch("import")
    assert list(tmp_path.iterdir()) == []
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_temporary_directory_that_cannot_take_a_scratch_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app

    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(app, ["--db", db, "init"]).exit_code == 0
    source = tmp_path / "waiting.jsonl"  # a claim before its report: it waits in the spool
    source.write_text(
        '{"type":"incident","id":"g","title":"G"}\n'
        '{"type":"claim","id":"c","incident":"g","fact":"f","value":1,"report":"r"}\n'
        '{"type":"source","id":"s","name":"S","kind":"outlet"}\n'
        '{"type":"report","id":"r","source":"s","published_at":"2022-01-21"}\n',
        encoding="utf-8",
    )
    gone = tmp_path / "gone"
    monkeypatch.setattr("tempfile.tempdir", str(gone))
    result = runner.invoke(app, ["--db", db, "append", "--file", str(source)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: cannot make a scratch folder in {gone}: No such file or directory\n",
    )
    assert runner.invoke(app, ["--db", db, "state", "g"]).stderr == (
        "error: no incident 'g' in the ledger\n"  # the import was refused whole
    )
