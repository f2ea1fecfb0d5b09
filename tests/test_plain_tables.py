"""A table printed without colour (to a file or a pipe) is written by ``long_table``
(``render._Console.print``): every command's output is then the text rich lays out, at
every width, whatever the cells hold (Arabic, wide characters, hostile text, dates)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box
from rich.table import Table
from typer.testing import CliRunner

from incident_ledger.cli import long_table, render
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
    ("search", "\x07prison\u202e"),  # a query in the title, shown inert
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
WIDTHS = ["30", "52", "67", "80", "99", "133", "200"]


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

    def counted(table: Any, width: int, shown: Any, **named: Any) -> list[str] | None:
        lines = laid_out(table, width, shown, **named)
        taken.append(lines is not None)
        return lines

    monkeypatch.setattr(long_table, "plain_lines", counted)
    fast = _outputs(db, commands, monkeypatch)
    assert sum(taken) >= len(WIDTHS) * 3  # (the test compares something)
    monkeypatch.setattr(long_table, "plain_lines", lambda *given, **named: None)
    assert fast == _outputs(db, commands, monkeypatch)
    shown = [text.split("\n", 1)[1] for text in fast]  # (below the command's line)
    assert not any(control in text for text in shown for control in ("\x07", "\x1b", "\u202e"))


def _json(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record, ensure_ascii=False)


# --- any table, as rich lays it out --------------------------------------------------------

WORDS = st.sampled_from(
    [
        "a",
        "killed",
        "kurdish-authorities",
        "21 Jan 2022",
        "(21 Jan 2022 10:00 UTC,",
        "سجن",
        "غويران",
        "الحَسَكة",
        "中文",
        "🇸🇾",
        "\u200b",
        "x" * 30,
        "",
        " ",
        "  ",
        "—",
    ]
)
CELLS = st.lists(WORDS, max_size=12).map(" ".join) | st.lists(WORDS, max_size=3).map("\n".join)


def _printed(table: Table, width: int, encoding: str = "utf-8") -> str:
    file = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", newline="")
    console = render._Console(file=file, width=width, highlight=False, markup=False)
    console.print(table)
    file.flush()
    return file.buffer.getvalue().decode(encoding)


def _both(table: Any, width: int, monkeypatch: pytest.MonkeyPatch, encoding: str = "utf-8") -> None:
    with monkeypatch.context() as patch:
        patch.setattr(long_table, "plain_lines", lambda *given, **named: None)
        expected = _printed(table(), width, encoding)
    assert _printed(table(), width, encoding) == expected


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(CELLS, CELLS, CELLS), min_size=1, max_size=4),
    width=st.integers(min_value=12, max_value=120),
    justify=st.sampled_from(["left", "right", "center"]),
    title=st.none() | CELLS,
)
def test_any_table_is_written_as_rich_writes_it(
    rows: list[tuple[str, str, str]], width: int, justify: Any, title: str | None
) -> None:
    def table() -> Table:
        made = Table(title=title, caption=title, show_lines=True)
        made.add_column("what")
        made.add_column("who says", justify=justify)
        made.add_column("when")
        for row in rows:
            made.add_row(*row)
        return made

    with pytest.MonkeyPatch.context() as patch:
        _both(table, width, patch)


def test_two_columns_wider_than_the_output_share_it_as_rich_shares_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def table() -> Table:
        made = Table()
        made.add_column("a")
        made.add_column("b")
        made.add_row("word " * 14, "longer " * 14)
        return made

    _both(table, 20, monkeypatch)


def test_an_output_that_cannot_encode_the_box_gets_rich_s_ascii_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def table() -> Table:
        made = Table(title="incidents", box=box.SIMPLE_HEAD)
        made.add_column("incident")
        made.add_column("claims", justify="right")
        made.add_row("ghwayran-2022", "80")
        return made

    _both(table, 80, monkeypatch, encoding="ascii")
    printed = _printed(table(), 80, "ascii")
    assert "-" in printed
    # a long table, written a row at a time, takes the same box
    columns = table()
    rows = list(zip(*(column._cells for column in columns.columns), strict=True))
    for column in columns.columns:
        column._cells = []
    lines = long_table.long_lines(
        columns, rows, shown=render.terminal_text, width=80, ascii_only=True
    )
    assert "".join(line + "\n" for line in lines) == printed
