"""``tasks.py``: the demo installs the program alone, the tests their tools too."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import tasks


def test_demo_installs_only_the_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    monkeypatch.setattr(tasks, "BIN", venv / "bin")
    monkeypatch.setattr(tasks, "STAMP", venv / ".installed")
    installed: list[str] = []

    def run(command: list[str], **_: Any) -> None:
        installed.append(command[-1].removeprefix(str(tasks.ROOT)))

    monkeypatch.setattr(subprocess, "run", run)  # the module tasks.py runs commands with
    tasks.ensure_environment("")
    tasks.ensure_environment("")
    assert installed == [""]  # the program alone, once
    tasks.ensure_environment("dev")
    tasks.ensure_environment("")
    tasks.ensure_environment("dev")
    assert installed == ["", "[dev]"]  # the test tools when the tests need them


def test_the_demo_says_where_the_sample_file_is() -> None:
    from typer.testing import CliRunner

    from incident_ledger.cli.main import app
    from incident_ledger.ledger import samples

    result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert f"The sample file: {samples.GHWAYRAN}" in result.stdout
    assert samples.GHWAYRAN.exists()


def test_the_program_is_compiled_before_each_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every layer linked into the package is compiled (compileall follows no link), so
    that no command compiles the program at its start where bytecode is not written."""
    ran: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(tasks, "ensure_environment", lambda extras: None)
    monkeypatch.setattr(subprocess, "run", run)
    assert tasks.main(["demo"]) == 0
    compiled, job = ran
    assert compiled[1:4] == ["-m", "compileall", "-qq"]
    package = tasks.ROOT / "incident_ledger"
    layers = {"ledger", "projections", "usecases", "cli"}
    assert set(compiled[4:]) == {str(package), *(str(tasks.ROOT / name) for name in layers)}
    assert job[-1] == "demo"
