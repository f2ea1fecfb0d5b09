#!/usr/bin/env python3
"""Set-up and the two everyday jobs, on a machine that has only python3.

    python3 tasks.py demo     # the main job: `ledger demo` on an embedded SQLite
    python3 tasks.py test     # the whole test suite

Each creates (or reuses) the virtual environment ``.venv`` and installs the
project into it when ``pyproject.toml`` has changed since the last install.
Anything after the job name is passed on (``python3 tasks.py test -k state``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"


def ensure_environment() -> None:
    """Create .venv if missing; (re)install the project when pyproject.toml changed."""
    if not (BIN / "python").exists():
        print("creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing incident-ledger and its test tools into .venv …", file=sys.stderr)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[dev]",
        ],
        check=True,
    )
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    jobs = {
        "demo": [str(BIN / "ledger"), "demo"],
        "test": [str(BIN / "python"), "-m", "pytest"],
    }
    if not argv or argv[0] not in jobs:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    return subprocess.run([*jobs[argv[0]], *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
