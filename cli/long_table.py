"""Tables written as fixed-width plain text: a long one a row at a time, a short one
without colour at once.

Rich lays a table out by measuring every cell of every row before it writes the first
line, and then renders each cell through its segments: about a millisecond and a half a
row, so a hot fact's history of 13,835 steps took 18 s and a ledger's 1,300 sources 1.5 s;
even a hot incident's ``state`` summary (30 rows) took 50 ms. A table of at most ``PAGE``
rows is still rich's (``render.print_rows``) on a terminal, where it has colour; written to
a file or a pipe, it is laid out here when ``plain_lines`` can give rich's very text. A
longer one is written here: its columns' widths are decided once, from the header and the
first ``PAGE`` rows, and every row is then a few formatted lines, written as it comes.

The rules that make a table fit the terminal are ``table_fit``'s, applied to those
first rows: a cell wraps between words and never inside a date; the
columns of a ``StackingTable`` go under one another, pair by pair, while the widest
words of all columns cannot sit side by side; the room left is shared out as
``share_widths`` shares it. Lines break where rich's own ``divide_line`` breaks them, a
word wider than its column folded. A later row wider than a column wraps inside it. The
box, padding, title and caption are the table's own, so a long table looks as a short one
does, but in plain text: no colour and no bold.
Widths are display widths (rich's ``cell_len``: an Arabic letter one column, its
diacritics none, a wide CJK character two), so Arabic names keep their columns straight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice, pairwise
from typing import Any

from rich import box as boxes
from rich._wrap import divide_line  # rich's own line breaking, so that lines break as its do
from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.table import Table
from rich.text import Text

from incident_ledger.cli.table_fit import (
    _JOIN,
    _SPLIT,
    StackingTable,
    joined,
    share_widths,
    stacked_header,
)

PAGE = 100
"""Rows measured to size a long table's columns; a table of at most this many rows is
laid out by rich."""

Cell = Text | str


def plain_lines(
    table: Any, width: int, shown: Callable[[str], str], *, ascii_only: bool = False
) -> list[str] | None:
    """The lines of a table of at most ``PAGE`` rows, complete, as rich lays it out without
    colour (``render._Console.print``), each cell, the title and the caption made ``shown``
    (``ascii_only``: in rich's ASCII box, for an output that cannot encode its lines); None
    for anything else, or a table using what ``_Layout`` does not lay out as rich does
    (widths set on a column, a footer, a hidden header, an expanded table, a cell that is
    not text or that ``shown`` would change, columns of unequal lengths). Rich measures
    every cell through its segments, 40 of the 60 ms of a hot incident's ``state`` table."""
    if not isinstance(table, Table) or not _laid_out_here(table):
        return None
    cells = [column._cells for column in table.columns]
    if len({len(column) for column in cells}) > 1:
        return None
    if any(not isinstance(cell, str | Text) for column in cells for cell in column):
        return None
    if any(shown(cell.plain) != cell.plain for c in cells for cell in c if isinstance(cell, Text)):
        return None  # rich shows a text cell as it is
    rows = [[_plain(cell, shown) for cell in row] for row in zip(*cells, strict=True)]
    texts = [str(table.title or ""), str(table.caption or ""), *chain.from_iterable(rows)]
    if any(_OTHER_SPACE.search(text) for text in texts):
        return None  # rich breaks a line at it, and measures it otherwise
    layout = _Layout(table, rows, width, shown, ascii_only=ascii_only)
    if layout.overflows:
        return None
    return [
        *layout.head(),
        *chain.from_iterable(layout.row(row, separated=n > 0) for n, row in enumerate(rows)),
        *layout.foot(),
    ]


_OTHER_SPACE = re.compile(r"[^\S \n]")
"""Whitespace other than the space and the line break: a tab (rich expands it), a
no-break space or U+2003 (rich breaks a line at them, a long table does not)."""


def _laid_out_here(table: Table) -> bool:
    """Whether ``_Layout`` lays this table out as rich does (``plain_lines``)."""
    columns = table.columns
    return (
        len(columns) > 0
        and table.row_count <= PAGE
        and table.show_header
        and not table.show_footer
        and not table.expand
        and table.width is None
        and table.min_width is None
        and not table.leading
        and not table.collapse_padding
        and table.pad_edge
        and table.box is not None
        and table.padding[0] == table.padding[2] == 0
        and not any(row.end_section or row.style for row in table.rows)
        and all(
            c.width is None and c.min_width is None and c.max_width is None and c.ratio is None
            for c in columns
        )
    )


def long_lines(
    table: Table,
    rows: Iterable[Sequence[Cell]],
    *,
    shown: Callable[[str], str],
    width: int,
    ascii_only: bool = False,
) -> Iterator[str]:
    """The lines of ``table`` with ``rows`` at ``width`` columns (see the module's words;
    ``ascii_only``: in rich's ASCII box)."""
    rows = iter(rows)
    first = [[_plain(cell, shown) for cell in row] for row in islice(rows, PAGE)]
    layout = _Layout(table, first, width, shown, ascii_only=ascii_only)
    yield from layout.head()
    for n, row in enumerate(chain(first, ([_plain(c, shown) for c in row] for row in rows))):
        yield from layout.row(row, separated=n > 0)
    yield from layout.foot()


def _plain(cell: Any, shown: Callable[[str], str]) -> str:
    return shown(cell.plain if isinstance(cell, Text) else str(cell))


_NARROW: set[str] = set()
"""The characters met so far that rich measures one column wide (``get_character_cell_size``)."""


def _width(text: str) -> int:
    """Display width: ``cell_len``, whose answer for ASCII text, or for text of characters
    each one column wide, is its length. Such text is known by its characters, each
    measured once: ``cell_len`` measures every character of each text it has not cached,
    and a long table's lines (``16 → 245``, ``0–∞``) are mostly new to it."""
    if text.isascii() or _NARROW.issuperset(text):
        return len(text)
    new = set(text) - _NARROW
    if all(get_character_cell_size(character) == 1 for character in new):
        _NARROW.update(new)
        return len(text)
    return cell_len(text)


def _lines_width(text: str) -> int:
    return max(map(_width, text.split("\n")), default=0)


def _words_width(text: str) -> int:
    """The widest word, as ``TokenText`` measures it (a cell of blanks: its widest line)."""
    words = [word for word in _SPLIT.split(joined(text)) if word]
    return max(map(_width, words)) if words else _lines_width(text)


class _Layout:
    """The widths, stacking and box of a long table, decided from its first rows."""

    def __init__(
        self,
        table: Table,
        first: list[list[str]],
        width: int,
        shown: Callable[[str], str],
        *,
        ascii_only: bool = False,
    ) -> None:
        headers = [str(column.header) for column in table.columns]
        justify = [column.justify for column in table.columns]
        stack = list(table.stack) if isinstance(table, StackingTable) else []
        present = list(range(len(headers)))  # the table's columns not stacked yet
        self.box = table.box or boxes.SIMPLE
        if ascii_only and not self.box.ascii:  # as rich's ``Box.substitute``
            self.box = boxes.ASCII
        self.edge = table.show_edge
        self.lines = table.show_lines
        self.title = shown(str(table.title)) if table.title else None
        self.caption = shown(str(table.caption)) if table.caption else None
        self.width = width
        _, right, _, left = table.padding
        self.left, self.right = " " * left, " " * right
        self.stacked: list[tuple[int, int]] = []  # the pairs stacked, in order
        extra = len(headers) - 1 + (2 if self.edge else 0)
        cells = [headers, *first]
        pad = left + right
        while True:  # (each measure with its padding at most the width, as rich's are)
            lows = [min(max(map(_words_width, c)) + pad, width) for c in zip(*cells, strict=True)]
            if not stack or sum(lows) + extra <= width:
                break
            move, under = (present.index(column) for column in stack.pop(0))
            present.pop(move)
            header = stacked_header(cells[0][under], cells[0][move])
            cells = [_stacked(row, move, under) for row in cells]
            cells[0][under if under < move else under - 1] = header
            justify.pop(move)
            self.stacked.append((move, under))
            extra -= 1
        self.headers, self.justify, self.extra = cells[0], justify, extra
        wanted = [min(max(map(_lines_width, c)) + pad, width) for c in zip(*cells, strict=True)]
        pads = [pad] * len(wanted)
        shared = share_widths(lows, wanted, pads, width - extra)
        self.widths = [max(w - pad, 1) for w in shared or wanted]
        outer = [w + left + right for w in self.widths]
        self.overflows = sum(outer) + extra > width
        """Whether the columns, each as narrow as ``share_widths`` makes one, are still
        wider than the output: rich then narrows them further in its own way."""
        self.rule = self.box.get_row(outer, "row", edge=self.edge)  # between rows

    def head(self) -> Iterator[str]:
        outer = [w + len(self.left) + len(self.right) for w in self.widths]
        if self.title:
            yield from _words(self.title, sum(outer) + self.extra)
        if self.edge:
            yield self.box.get_top(outer)
        yield from self._cells(self.headers, "head", bottom=True)
        yield self.box.get_row(outer, "head", edge=self.edge)

    def row(self, row: list[str], *, separated: bool) -> Iterator[str]:
        if separated and self.lines:
            yield self.rule
        for move, under in self.stacked:  # stacked as the first rows were
            row = _stacked(row, move, under)
        yield from self._cells(row, "mid")

    def foot(self) -> Iterator[str]:
        outer = [w + len(self.left) + len(self.right) for w in self.widths]
        if self.edge:
            yield self.box.get_bottom(outer)
        if self.caption:
            yield from _words(self.caption, sum(outer) + self.extra)

    def _cells(self, cells: list[str], part: str, *, bottom: bool = False) -> Iterator[str]:
        """A row's lines: each cell wrapped to its column, justified and padded."""
        box = self.box
        left, vertical, right = (
            (box.head_left, box.head_vertical, box.head_right)
            if part == "head"
            else (box.mid_left, box.mid_vertical, box.mid_right)
        )
        wrapped = [
            _wrap(cell, width, stripped=how in ("right", "center"))  # as ``Lines.justify``
            for cell, width, how in zip(cells, self.widths, self.justify, strict=True)
        ]
        height = max(map(len, wrapped))
        for lines in wrapped:  # a header's cells at the bottom, a row's at the top
            at = 0 if bottom else len(lines)
            lines[at:at] = [("", 0)] * (height - len(lines))
        columns = list(zip(wrapped, self.widths, self.justify, strict=True))
        before, after = left + self.left, self.right + right
        if not self.edge:
            before, after = self.left, self.right
        between = self.right + vertical + self.left
        for n in range(height):
            parts = [_justified(*lines[n], width, how) for lines, width, how in columns]
            yield before + between.join(parts) + after


def _stacked(row: list[str], move: int, under: int) -> list[str]:
    """A row with column ``move``'s cell put under column ``under``'s."""
    cells = list(row)
    cells[under] = f"{cells[under]}\n{cells[move]}"
    del cells[move]
    return cells


def _justified(text: str, size: int, width: int, how: str) -> str:
    gap = width - size
    if gap <= 0:
        return text
    if how == "right":
        return " " * gap + text
    if how == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _wrap(
    text: str, width: int, *, whole_dates: bool = True, stripped: bool = False
) -> list[tuple[str, int]]:
    """A cell's lines at ``width`` columns, each with its display width, broken where rich
    breaks them (its own ``divide_line``): its own lines, each wrapped between words
    (never inside a date, unless told: ``joined``), a word wider than the column folded,
    the whitespace after a break kept as rich keeps it (``_cropped``), or dropped from
    every line's end (``stripped``: a column justified right or centred)."""
    out: list[tuple[str, int]] = []
    for paragraph in text.split("\n"):
        size = _width(paragraph)
        if size <= width:  # most lines of a long table: as they are
            kept = paragraph
            if stripped or len(paragraph) > width:  # (zero-width characters: by length)
                kept = paragraph.rstrip() if stripped else _cropped(paragraph, width)
                size = _width(kept)
            out.append((kept, size))
            continue
        line = joined(paragraph) if whole_dates else paragraph
        breaks = [0, *divide_line(line, width, fold=True), len(line)]
        for start, end in pairwise(breaks):
            piece = _cropped(line[start:end], width)
            piece = (piece.rstrip() if stripped else piece).replace(_JOIN, " ")
            out.append((piece, _width(piece)))
    return out


def _cropped(line: str, width: int) -> str:
    """A wrapped line as rich's ``Text.wrap`` leaves it: the whitespace it ends with
    dropped as far as it goes past ``width`` (``rstrip_end``, in characters), then
    cut to ``width`` columns (``truncate``)."""
    excess = len(line) - width
    if excess > 0:
        trailing = len(line) - len(line.rstrip())
        line = line[: len(line) - min(trailing, excess)]
    return set_cell_size(line, width) if cell_len(line) > width else line


def _words(text: str, width: int) -> list[str]:
    """A title or caption wrapped as rich wraps it over a table (a date may break: they
    are not table cells)."""
    return [line for line, _ in _wrap(text, width, whole_dates=False)]
