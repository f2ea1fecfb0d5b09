"""Long tables written a row at a time (``cli.long_table``) look as rich lays them out."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich import box
from rich.table import Table

from incident_ledger.cli import long_table, render
from incident_ledger.cli.long_table import PAGE, long_lines
from incident_ledger.cli.render import print_rows
from incident_ledger.cli.table_fit import StackingTable

_VALUES = [
    ["21 Jan 2022 10:00 +03:00", "r1 (outlet)\nr2 (sohr)", "contested", "سجن غويران: 7 or more"],
    ["22 Jan 2022", "r3 (kurdistan-24)", "single", "sdf-press-office: at least 20 (r3)"],
    ["1 Feb 2022 07:00 UTC", "r4 (x)", "corroborated", "قوات سوريا الديمقراطية قالت ١٢٠"],
    ["3 Feb 2022", "r-very-long-report-identifier-9", "withdrawn", "no active claim"],
]


def _rows(count: int) -> list[list[str]]:
    return [_VALUES[n % len(_VALUES)] for n in range(count)]


def _history_like(stack: bool = True) -> Table:
    table = StackingTable(
        title="killed in g — history by known time",
        caption="a caption long enough to wrap at a narrow width, as rich wraps it",
        show_lines=True,
        stack=[(1, 0), (3, 2)] if stack else [],
    )
    for name in ("known at", "reports", "status", "who says what"):
        table.add_column(name)
    return table


def _sources_like(stack: bool = True) -> Table:
    table = StackingTable(
        title="sources",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        stack=[(2, 1)] if stack else [],
    )
    table.add_column("when")
    table.add_column("report")
    table.add_column("grade", justify="center")
    table.add_column("says", justify="right")
    return table


def _rich(table: Table, rows: list[list[str]], width: int) -> str:
    console = render._Console(
        width=width, file=io.StringIO(), highlight=False, soft_wrap=True, markup=False
    )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


@pytest.mark.parametrize("width", [160, 80, 60, 40])
@pytest.mark.parametrize("make", [_history_like, _sources_like])
def test_a_long_table_is_laid_out_as_rich_lays_it_out(make: type[Table], width: int) -> None:
    """Every row as wide as one of the first page's: the same text as rich's, line for
    line — wrapped between words, dates whole, Arabic at its display width, columns
    stacked when the widest words cannot sit side by side."""
    rows = _rows(PAGE + 30)
    lines = long_lines(make(), rows, shown=render.terminal_text, width=width)
    assert "".join(line + "\n" for line in lines) == _rich(make(), rows, width)


def test_a_later_row_wider_than_its_column_wraps_inside_it() -> None:
    """The widths come from the first page: a wider row after it wraps, nothing is cut."""
    long = "a much longer text " * 6 + "end"
    rows = [*_rows(PAGE), ["4 Feb 2022", "r5", "single", long]]
    lines = list(long_lines(_history_like(), rows, shown=render.terminal_text, width=160))
    assert len({len(line) for line in lines[1:-1]}) == 1  # the box stays straight
    after = lines[max(n for n, line in enumerate(lines) if line.startswith("├")) :]
    last = [line.split("│")[4].strip() for line in after if line.startswith("│")]
    assert " ".join(part for part in last if part) == long


def test_control_characters_never_reach_the_output() -> None:
    rows = [["21 Jan 2022", "r1\x1b[2J", "single", "x\u202ey"], *_rows(PAGE)]
    text = "\n".join(long_lines(_history_like(), rows, shown=render.terminal_text, width=120))
    assert "\x1b" not in text and "\u202e" not in text
    assert "x<U+202E>y" in text


def test_a_short_table_is_rich_s_and_a_long_one_is_written_before_its_rows_are_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render.out, "_width", 100)
    print_rows(_history_like(), _rows(PAGE))
    short = capsys.readouterr().out
    assert short == _rich(_history_like(), _rows(PAGE), 100)

    seen: list[str] = []

    def rows() -> Iterator[list[str]]:
        yield from _rows(PAGE + 1)
        seen.append(capsys.readouterr().out)  # what was written before the rest was read
        yield from _rows(PAGE)

    print_rows(_history_like(), rows())
    written = seen[0] + capsys.readouterr().out
    assert seen[0].startswith("killed in g — history by known time\n┏")
    assert written == _rich(_history_like(), _rows(PAGE + 1) + _rows(PAGE), 100)
    assert long_table.PAGE == PAGE


def test_text_of_one_column_characters_is_measured_by_its_characters_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines new to rich's cache, of characters each one column wide (``→``, ``–``,
    ``∞``), are not measured again character by character; Arabic with its diacritics
    still is, and every width is rich's."""
    from rich.cells import cell_len

    measured: list[str] = []

    def counted(text: str) -> int:
        measured.append(text)
        return cell_len(text)

    monkeypatch.setattr(long_table, "cell_len", counted)
    texts = [f"s{n} revised: {n} → {n + 7}, range {n}–∞" for n in range(300)]
    assert [long_table._width(text) for text in texts] == [cell_len(text) for text in texts]
    assert len(measured) <= 1
    arabic = "قوات سوريا الديمقراطية قالت ١٢٠ شَخْصًا"
    assert long_table._width(arabic) == cell_len(arabic) < len(arabic)
    assert measured[-1] == arabic


def _stacking_sources() -> Table:
    table = StackingTable(
        title="sources", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), stack=[(3, 2), (5, 4)]
    )
    for name in ("source", "claims", "retracted", "corrected", "contested", "first", "reports"):
        table.add_column(name, justify="left" if name == "source" else "right")
    return table


def _header_words(text: str) -> list[list[str]]:
    """The words of each line of a table's header: between its title and its rule."""
    lines = text.splitlines()[1:]
    header = lines[: next(n for n, line in enumerate(lines) if "──" in line)]
    return [line.split() for line in header if line.strip()]


@pytest.mark.parametrize("count", [3, PAGE + 3])  # laid out by rich; written a row at a time
def test_stacked_headers_read_as_their_cells_do(count: int) -> None:
    """A stacked column's header is its two headers, one above the other as its cells
    are: at 80 columns the tops share a line and the bottoms the next, never a ``/`` of
    one column beside a word of another; at 120 nothing is stacked."""
    row = ["outlet-with-a-long-identifier-0042", "24", "0/24", "1/24", "3/17", "13/17", "0"]
    for width, words in (
        (80, [["retracted", "contested"], ["source", "claims", "corrected", "first", "reports"]]),
        (120, [["source", "claims", "retracted", "corrected", "contested", "first", "reports"]]),
    ):
        if count <= PAGE:
            shown = _rich(_stacking_sources(), [row] * count, width)
        else:
            lines = long_lines(_stacking_sources(), [row] * count, shown=str, width=width)
            shown = "".join(line + "\n" for line in lines)
        assert _header_words(shown) == words, shown
