"""Running the real ``ledger`` command in its own process, as one desk member."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


class Member:
    """A desk member at their own terminal: the ledger, and the key they hold (None:
    the ledger's own signing key, its first admin's)."""

    def __init__(self, db: str, key: Path | None = None) -> None:
        self.db = db
        self.key = key

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The command's outcome (exit code, stdout, stderr)."""
        env = dict(os.environ)
        if self.key is not None:
            env["LEDGER_KEY"] = str(self.key)
        return subprocess.run(
            [sys.executable, "-m", "incident_ledger.cli", "--db", self.db, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    def start(self, *args: str) -> Running:
        """Start a command in its own process without waiting for it."""
        env = dict(os.environ)
        if self.key is not None:
            env["LEDGER_KEY"] = str(self.key)
        process = subprocess.Popen(
            [sys.executable, "-m", "incident_ledger.cli", "--db", self.db, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        return Running(process)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """Run a command that must succeed; its standard output."""
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def json(self, *args: str) -> Any:
        """Run a command with ``--json``; its parsed output."""
        return json.loads(self.ok(*args, "--json"))

    def append(self, records: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
        """Append records given as JSON Lines on standard input."""
        lines = "".join(json.dumps(record) + "\n" for record in records)
        return self.run("append", "--file", "-", stdin=lines)


class Running:
    """A command running in its own process."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def wait(self) -> tuple[int, str, str]:
        """Its exit code, stdout and stderr, once it ends."""
        out, err = self.process.communicate(timeout=120)
        return self.process.returncode, out, err


def new_key(folder: Path, name: str) -> tuple[Path, str]:
    """A fresh member key file and its public key, made by ``ledger keygen``."""
    path = folder / f"{name}.key"
    done = subprocess.run(
        [sys.executable, "-m", "incident_ledger.cli", "keygen", "--out", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return path, done.stdout.strip().splitlines()[-1]


def review_desk(folder: Path) -> tuple[Member, Member, Member]:
    """A SQLite ledger in ``folder`` with review required: alice (admin, the ledger's own
    key), bob (reporter: proposes) and eve (editor), each at their own terminal."""
    alice = Member(str(folder / "ledger.db"))
    alice.ok("init", "--member", "alice", "--review", "required")
    members = []
    for name, role in (("bob", "reporter"), ("eve", "editor")):
        key, public = new_key(folder, name)
        alice.ok("member", "add", name, "--name", name, "--role", role, "--public-key", public)
        members.append(Member(alice.db, key))
    bob, eve = members
    return alice, bob, eve


SETUP: list[dict[str, Any]] = [
    {"type": "incident", "id": "g", "title": "Ghwayran"},
    {"type": "source", "id": "sohr", "name": "SOHR", "kind": "monitor"},
    {"type": "report", "id": "r1", "source": "sohr", "published_at": "2022-01-21"},
    {"type": "report", "id": "r2", "source": "sohr", "published_at": "2022-01-22"},
]


def claim(claim_id: str, fact: str, value: int, report: str = "r1") -> dict[str, Any]:
    return {"type": "claim", "id": claim_id, "incident": "g", "fact": fact, "value": value,
            "report": report}  # fmt: skip
