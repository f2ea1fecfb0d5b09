"""A table printed without colour (to a file or a pipe) is written by ``long_table``
(``render._Console.print``): every command's output is then the text rich lays out, at
every width, whatever the cells hold (Arabic, wide characters, hostile text, dates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incident_ledger.cli import long_table
from incident_ledger.cli.main import app
from incident_ledger.usecases import writing
from tests.test_hostile_text import RECORDS as HOSTILE

runner = CliRunner()

SAMPLE_COMMANDS = [
    ("state", "ghwayran-2022", "--at", "2030-01-01"),
    ("state", "ghwayran-2022", "--at", "2022-01-21"),
    ("history", "ghwayran-2022", "killed.total"),
    ("diff", "ghwayran-2022", "--from", "2022-01-20", "--to", "2022-01-24"),
    ("incidents",),
    ("facts", "ghwayran-2022", "--at", "2030-01-01"),
    ("sources",),
    ("search", "سجن"),
    ("search", "prison"),
    ("timeline", "ghwayran-2022", "--at", "2030-01-01"),
    ("members",),
    ("queue",),
]
HOSTILE_COMMANDS = [
    ("state", "g", "--at", "2030-01-01"),
    ("facts", "g", "--at", "2030-01-01"),
    ("sources",),
    ("incidents",),
    ("history", "g", "killed"),
    ("search", "killed"),
]
WIDTHS = ["30", "52", "80", "133", "200"]


def _outputs(
    db: str, commands: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    said = []
    for width in WIDTHS:
        monkeypatch.setenv("COLUMNS", width)
        for command in commands:
            result = runner.invoke(app, ["--db", db, *command])
            assert result.exit_code == 0, (command, result.stderr)
            said.append(f"$ COLUMNS={width} ledger {' '.join(command)}\n{result.stdout}")
    return said


@pytest.mark.parametrize("which", ["sample", "hostile"])
def test_a_table_written_without_rich_is_the_text_rich_writes(
    which: str, sample_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if which == "sample":
        db, commands = sample_db, SAMPLE_COMMANDS
    else:
        db = str(tmp_path / "hostile.db")
        writing.init(db)
        source = tmp_path / "hostile.jsonl"
        source.write_text("\n".join(map(_json, HOSTILE)) + "\n", encoding="utf-8")
        writing.append_file(db, str(source))
        commands = HOSTILE_COMMANDS
    taken = []
    laid_out = long_table.plain_lines

    def counted(table: Any, width: int, shown: Any) -> list[str] | None:
        lines = laid_out(table, width, shown)
        taken.append(lines is not None)
        return lines

    monkeypatch.setattr(long_table, "plain_lines", counted)
    fast = _outputs(db, commands, monkeypatch)
    assert sum(taken) >= len(WIDTHS) * 3  # (the test compares something)
    monkeypatch.setattr(long_table, "plain_lines", lambda table, width, shown: None)
    assert fast == _outputs(db, commands, monkeypatch)


def _json(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record, ensure_ascii=False)
