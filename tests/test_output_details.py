"""Details of the exports a new user meets: the PROV namespace, the commands the
outputs guide prints, and what ``--json`` and the usage lines say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incident_ledger.cli.main import app
from incident_ledger.ledger import samples

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("details") / "ledger.db")
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    appended = runner.invoke(app, ["--db", path, "append", "--file", str(samples.GHWAYRAN)])
    assert appended.exit_code == 0, appended.output
    yield path


def _prov(db: str, out: Path, namespace: str) -> tuple[int, str, str]:
    args = ["--db", db, "export", "--format", "prov", "--namespace", namespace]
    result = runner.invoke(app, [*args, "--out", str(out)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("namespace", ["not a uri", "desk.example/ledger", "https:///ledger"])
def test_prov_refuses_a_namespace_that_is_not_a_uri(
    db: str, tmp_path: Path, namespace: str
) -> None:
    out = tmp_path / "prov.json"
    code, stdout, stderr = _prov(db, out, namespace)
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"error: not a namespace URI: {namespace!r} "
        "(an absolute URI, e.g. https://desk.example/ledger/)\n"
    )
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("namespace", "prefix"),
    [
        ("https://desk.example/ledger", "https://desk.example/ledger/"),
        ("https://desk.example/ledger/", "https://desk.example/ledger/"),
        ("https://desk.example/ledger#", "https://desk.example/ledger#"),
        ("urn:desk:ledger", "urn:desk:ledger:"),
    ],
)
def test_prov_namespace_ends_with_a_separator(
    db: str, tmp_path: Path, namespace: str, prefix: str
) -> None:
    out = tmp_path / "prov.json"
    code, _, stderr = _prov(db, out, namespace)
    assert code == 0, stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["prefix"]["ledger"] == prefix


DOCS = Path(__file__).resolve().parent.parent / "docs" / "outputs.md"
PLACEHOLDERS = {
    "FORMAT": "jsonl", "INCIDENT": "ghwayran-2022", "DATE": "2022-01-24", "DIR": "bundle",
    "PATH": "out", "KEY": "key.txt", "NEW": "restored.db", "POLICY": "range",
}  # fmt: skip


def _documented_commands() -> list[str]:
    """Every ``ledger …`` command line in the guide's code (inline or fenced)."""
    import re

    text = DOCS.read_text(encoding="utf-8")
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    inline = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]
    lines = [line.strip() for span in fenced + inline for line in span.splitlines()]
    return [line for line in lines if line.startswith("ledger ")]


def _parse(line: str) -> tuple[int, str]:
    """Parse a command line as the command line would and stop at ``--help``: a wrong
    option, or one in the wrong place, fails the parse; nothing runs."""
    import shlex

    words = [PLACEHOLDERS.get(w, w) for w in shlex.split(line.replace("[", "").replace("]", ""))]
    # (a global --key sets LEDGER_KEY in this process: given here, it is undone after)
    result = runner.invoke(app, [*words[1:], "--help"], env={"COLUMNS": "200", "LEDGER_KEY": ""})
    return result.exit_code, result.output


def test_the_guide_has_commands_to_check() -> None:
    commands = _documented_commands()
    assert "ledger --db NEW restore DIR" in commands
    assert len(commands) >= 8


@pytest.mark.parametrize("line", _documented_commands())
def test_every_command_in_the_guide_parses(line: str) -> None:
    code, output = _parse(line)
    assert code == 0 and output.startswith(("Usage: ", "ledger ")), output


def test_a_misplaced_global_option_is_caught() -> None:
    code, output = _parse("ledger restore DIR --db NEW")
    assert (code, output) == (
        2,
        "error: --db is a global option, given before the command: ledger --db PATH|URL "
        "restore …\n",
    )


def test_appending_a_bundles_leaves_points_to_restore(db: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    exported = runner.invoke(app, ["--db", db, "export", "--format", "jsonl", "--out", str(bundle)])
    assert exported.exit_code == 0, exported.output
    target = str(tmp_path / "new.db")
    assert runner.invoke(app, ["--db", target, "init"]).exit_code == 0
    args = ["--db", target, "append", "--file", str(bundle / "leaves.jsonl")]
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: line 1: an event of an exported bundle, not a record: "
        "rebuild a ledger from the bundle with 'ledger restore BUNDLE'\n"
    )


@pytest.mark.parametrize("fmt", ["html", "csv", "prov", "claimreview"])
def test_json_without_out_is_refused_in_one_line(db: str, fmt: str) -> None:
    result = runner.invoke(app, ["--db", db, "export", "--format", fmt, "--json"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --json prints what was written: give --out PATH (without it, the export "
        "itself is printed)\n"
    )
