#!/usr/bin/env python3
"""Set-up and the two everyday jobs, on a machine that has only python3.

    python3 tasks.py demo     # the main job: `ledger demo` on an embedded SQLite
    python3 tasks.py test     # the whole test suite

Each creates (or reuses) the virtual environment ``.venv`` and installs into it
what the job needs when ``pyproject.toml`` has changed since the last install:
the program alone for ``demo``, the program and its test tools for ``test``.
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


def ensure_environment(extras: str) -> None:
    """Create .venv if missing; (re)install the project with ``extras`` (``""`` for the
    program alone, ``"dev"`` for the test tools too) when pyproject.toml changed or the
    install lacks them."""
    if not (BIN / "python").exists():
        print("creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    have = STAMP.read_text().split() if STAMP.exists() else []
    if have[:1] == [digest] and (not extras or extras in have[1:]):
        return
    what = "incident-ledger and its test tools" if extras else "incident-ledger"
    print(f"installing {what} into .venv …", file=sys.stderr)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
        check=True,
    )
    STAMP.write_text(" ".join([digest, *([extras] if extras else [])]))


def compile_program() -> None:
    """Compile the program's modules to bytecode, as installing a package does: an
    editable install leaves that to their first import, and where writing bytecode is
    off (``PYTHONDONTWRITEBYTECODE``, common in containers) to every start of every
    command (0.14 of 0.39 s for ``ledger state`` on the sample). Quick when they are
    compiled already; a tree that cannot be written is left as it is. The folders are
    the package's own and the layers linked into it (compileall follows no link)."""
    package = ROOT / "incident_ledger"
    folders = [package, *(p.resolve() for p in sorted(package.iterdir()) if p.is_symlink())]
    command = [str(BIN / "python"), "-m", "compileall", "-qq", *map(str, folders)]
    subprocess.run(command, check=False)


def main(argv: list[str]) -> int:
    jobs = {
        "demo": [str(BIN / "ledger"), "demo"],
        "test": [str(BIN / "python"), "-m", "pytest"],
    }
    if not argv or argv[0] not in jobs:
        print(__doc__, file=sys.stderr)
        return 2
    # The demo needs the program only; the tests need their tools (the dev extra).
    ensure_environment("dev" if argv[0] == "test" else "")
    compile_program()
    return subprocess.run([*jobs[argv[0]], *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
