"""The distribution: one wheel whose one top-level package is ``incident_ledger``.

The repository keeps the layers as top-level folders (linked into
``incident_ledger/``); the wheel must not install them under their own generic
names. Building and installing take a minute and need the package index (or a
wheel cache): the test is slow, and is skipped only when no index answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = (
    "No matching distribution found",
    "Failed to establish a new connection",
    "Could not find a version that satisfies",
    "Temporary failure in name resolution",
)


def _pip(
    python: Path | str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _skip_if_offline(run: subprocess.CompletedProcess[str], what: str) -> None:
    if run.returncode != 0 and any(words in run.stderr for words in UNREACHABLE):
        pytest.skip(f"{what} needs the package index or a wheel cache, and neither answers")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_the_wheel_installs_one_package_and_its_command(tmp_path: Path) -> None:
    built = _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT))
    _skip_if_offline(built, "building the wheel")
    (wheel,) = tmp_path.glob("incident_ledger-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        tops = {name.split("/")[0] for name in names}
        info = next(top for top in tops if top.endswith(".dist-info"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert tops == {"incident_ledger", info}
    assert "incident_ledger/ledger/samples/ghwayran.jsonl" in names
    assert "ledger = incident_ledger.cli.entry:run" in entry_points.splitlines()

    # Only the wheel: nothing of the checkout may be importable in the fresh venv.
    alone = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    installed = _pip(python, "install", "--quiet", str(wheel), env=alone)
    _skip_if_offline(installed, "installing the wheel")
    for generic in ("cli", "ledger", "projections", "usecases"):
        imported = subprocess.run(
            [str(python), "-c", f"import {generic}"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=alone,
        )
        assert imported.returncode == 1, generic
        assert f"No module named '{generic}'" in imported.stderr
    shown = subprocess.run(
        [str(environment / "bin" / "ledger"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=alone,
    )
    assert shown.returncode == 0, shown.stderr
    assert "An event-sourced ledger of contradictory incident reports." in shown.stdout
