"""The command line at a terminal 80 columns wide, and its conventions: ``-h``,
``--version``, completion, the order of the commands."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from incident_ledger.cli.failures import COMMAND_ORDER
from incident_ledger.cli.main import app
from incident_ledger.ledger import samples

runner = CliRunner()
NARROW = {"COLUMNS": "80"}
# Ids and ISO dates, which must never be broken; dates in words may wrap at their spaces.
IDS_AND_DATES = re.compile(
    r"(?<![\w.-])(?:c-[0-9]{3}-[a-z0-9-]*[a-z0-9]|report-[0-9]{3}|[a-z]+\.[a-z_.]*[a-z]|"
    r"20[0-9]{2}-[0-9]{2}-[0-9]{2})(?![\w-])"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("narrow") / "ledger.db")
    assert runner.invoke(app, ["--db", path, "init"]).exit_code == 0
    assert (
        runner.invoke(app, ["--db", path, "append", "--file", str(samples.GHWAYRAN)]).exit_code == 0
    )
    yield path


def _sample_ids() -> set[str]:
    """Every id in the sample: incidents, sources, reports, claims, fact names."""
    import json

    ids: set[str] = set()
    for line in samples.GHWAYRAN.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        ids.update(str(record[key]) for key in ("id", "name") if " " not in record.get(key, " "))
    return ids


SAMPLE_IDS = _sample_ids()
WORDED_DATE = re.compile(
    r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
    r"(?: \d{2}:\d{2}(?::\d{2})? [+-]\d{2}:\d{2})?"
)
BORDER = "┃│┓┐┤┫┩┨┘┛"


def _whole(text: str) -> Counter[str]:
    """How often each sample id, ISO date and date in words is shown whole on a line."""
    found: Counter[str] = Counter(IDS_AND_DATES.findall(text) + WORDED_DATE.findall(text))
    for name in SAMPLE_IDS:
        found[name] = len(re.findall(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text))
    return +found


def _tables(text: str) -> str:
    """The demo's tables (its prose is left to the terminal), or the whole output."""
    if "incident-ledger demo" not in text:
        return text
    return "\n".join(line for line in text.splitlines() if line and line[0] in "┏┃┡│├└┗┣")


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["state", "ghwayran-2022", "--at", "2022-01-24"],
        ["state", "ghwayran-2022", "--at", "2022-01-25"],
        ["timeline", "ghwayran-2022", "--at", "2022-02-01"],
        ["history", "ghwayran-2022", "escaped"],
        ["history", "ghwayran-2022", "attack.started"],
        ["diff", "ghwayran-2022", "--from", "2022-01-21", "--to", "2022-01-25"],
        ["facts", "ghwayran-2022", "--at", "2022-02-01"],
        ["sources"],
        ["incidents"],
        ["search", "prison"],
        ["demo"],
    ],
)
def test_tables_fit_80_columns_without_cutting(db: str, command: list[str]) -> None:
    args = command if command == ["demo"] else ["--db", db, *command]
    result = runner.invoke(app, args, env=NARROW)
    assert result.exit_code == 0, result.output
    lines = _tables(result.stdout).splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    assert "…" not in _tables(result.stdout)  # nothing cut short
    for line in lines:  # every row and border of a table ends with its right border
        if line[:1] in "┏┃┡│├└┗┣":
            assert line[-1] in BORDER + "┓┫", line
    wide = runner.invoke(app, args, env={"COLUMNS": "400"}).stdout
    # Every id and date, ISO or in words, shown at 400 columns is shown whole at 80.
    assert _whole(_tables(result.stdout)) == _whole(_tables(wide))


def test_help_version_and_order() -> None:
    short = runner.invoke(app, ["-h"])
    assert short.exit_code == 0 and short.stdout == runner.invoke(app, ["--help"]).stdout
    assert runner.invoke(app, ["state", "-h"]).exit_code == 0
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"ledger \d+\.\d+\.\d+\S*\n", version.stdout)
    listed = re.findall(r"^  ([a-z]+) ", short.stdout.split("Commands:")[1], flags=re.M)
    assert listed == list(COMMAND_ORDER)
    assert "--install-completion" in short.stdout


def test_metavars_say_what_is_expected() -> None:
    state = runner.invoke(app, ["state", "-h"], env={"COLUMNS": "200"}).stdout
    assert "state [OPTIONS] INCIDENT\n" in state and "{" not in state
    assert "--at DATE" in state and "--as-recorded DATE" in state and "--tz ZONE" in state
    export = runner.invoke(app, ["export", "-h"], env={"COLUMNS": "200"}).stdout
    assert "--incident INCIDENT" in export
    assert "--format [jsonl|csv|xlsx|prov|claimreview|html]" in export  # an Enum: its values
    history = runner.invoke(app, ["history", "-h"], env={"COLUMNS": "200"}).stdout
    assert "history [OPTIONS] INCIDENT FACT\n" in history
    assert "<str>" not in state + export + history


def test_completion_completes_command_names(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [],
        prog_name="ledger",
        env={"_LEDGER_COMPLETE": "complete_bash", "COMP_WORDS": "ledger rest", "COMP_CWORD": "1"},
    )
    assert result.stdout.split() == ["restore"]


def test_the_import_bar_reaches_its_end(tmp_path: Path) -> None:
    from incident_ledger.usecases import writing

    db = str(tmp_path / "ledger.db")
    writing.init(db)
    seen: list[tuple[str, int, int]] = []
    writing.append_file(db, str(samples.GHWAYRAN), progress=lambda *step: seen.append(step))
    importing = [(done, total) for phase, done, total in seen if phase == "importing"]
    assert importing[-1] == (samples.GHWAYRAN.stat().st_size,) * 2  # bytes, Arabic included
    assert [done for done, _ in importing] == sorted(done for done, _ in importing)


@pytest.mark.slow
def test_bars_only_for_a_person_at_a_terminal(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    from incident_ledger.cli import render

    drawn = io.StringIO()
    monkeypatch.setattr(render, "err", Console(file=drawn, force_terminal=True))
    monkeypatch.setattr(render, "out", Console(file=io.StringIO(), force_terminal=True))
    for command in (["export", "--format", "csv", "--out", str(tmp_path / "x.csv")],
                    ["sources"], ["verify"], ["history", "ghwayran-2022", "escaped"]):  # fmt: skip
        drawn.truncate(0)
        assert runner.invoke(app, ["--db", db, *command]).exit_code == 0
        assert drawn.getvalue(), command  # a bar was drawn (and cleared)
        drawn.truncate(0)
        drawn.seek(0)
        assert runner.invoke(app, ["--db", db, *command, "--json"]).exit_code == 0
        assert drawn.getvalue() == "", command
    monkeypatch.setattr(render, "out", Console(file=io.StringIO()))  # piped
    assert runner.invoke(app, ["--db", db, "sources"]).exit_code == 0
    assert drawn.getvalue() == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["state", "ghwayran-2022", "--json"],
        ["history", "ghwayran-2022", "killed.total", "--json", "--all-positions"],
    ],
)
def test_a_reader_that_stops_reading_is_no_error(db: str, command: list[str]) -> None:
    """``ledger … --json | head``: the reader closes the pipe long before the output ends
    (both outputs are larger than a pipe holds); the command ends quietly, exit 0."""
    import subprocess
    import sys

    code = "from incident_ledger.cli.main import app; app()"
    run = subprocess.Popen(
        [sys.executable, "-c", code, "--db", db, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None and run.stderr is not None
    assert run.stdout.read(100)
    run.stdout.close()  # as head does once it has its lines
    error = run.stderr.read()
    assert (run.wait(), error) == (0, b"")
