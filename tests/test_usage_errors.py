"""A usage error — an unknown option, a missing argument, a bad value, an unknown
command — is one ``error: …`` line on stderr and exit code 2, for every command and
group; a global option given after the command says where it goes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state"], "Missing argument 'INCIDENT' (see ledger state --help)"),
        (["history", "g"], "Missing argument 'FACT' (see ledger history --help)"),
        (["state", "g", "--bogus"], "No such option: --bogus (see ledger state --help)"),
        (["--bogus", "state", "g"], "No such option: --bogus (see ledger --help)"),
        (
            ["state", "g", "--polcy", "range"],
            "No such option: --polcy (Possible options: --policy) (see ledger state --help)",
        ),
        (["member", "remove"], "Missing argument 'ID' (see ledger member remove --help)"),
        (["nosuch"], "No such command 'nosuch' (see ledger --help)"),
        (
            ["serve", "--port", "http"],
            "Invalid value for '--port': 'http' is not a valid int range (see ledger serve --help)",
        ),
        (
            ["erratum", "c1", "--reason", "typo", "--key", "k.key"],
            "--key is a global option, given before the command: ledger --key FILE erratum …",
        ),
        (
            ["member", "add", "bob", "--db", "x.db"],
            "--db is a global option, given before the command: ledger --db PATH|URL member add …",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["--db", "unused.db", *args])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_the_program_names_itself_ledger_and_help_still_shows() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "incident_ledger.cli", "retract", "--key", "k.key"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: --key is a global option, given before the command: ledger --key FILE retract …\n",
    )
    result = runner.invoke(app, [])
    assert "Usage:" in result.output and "error:" not in result.output
    assert runner.invoke(app, ["member"]).output.startswith("Usage:")
