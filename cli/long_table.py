"""Long tables written a row at a time, as fixed-width plain text.

Rich lays a table out by measuring every cell of every row before it writes the first
line, and then renders each cell through its segments: about a millisecond and a half a
row, so a hot fact's history of 13,835 steps took 18 s and a ledger's 1,300 sources 1.5 s.
A table of at most ``PAGE`` rows is still rich's (:func:`print_rows`); a longer one is
written here: its columns' widths are decided once, from the header and the first
``PAGE`` rows, and every row is then a few formatted lines, written as it comes.

The rules that make a table fit the terminal are ``table_fit``'s, applied to those
first rows: a cell wraps between words at ASCII whitespace and never inside a date; the
columns of a ``StackingTable`` go under one another, pair by pair, while the widest
words of all columns cannot sit side by side; the room left is shared out as
``share_widths`` shares it. A later row wider than a column wraps inside it, and a word
wider than its column is folded. The box, padding, title and caption are the table's
own, so a long table looks as a short one does, but in plain text: no colour and no bold.
Widths are display widths (rich's ``cell_len``: an Arabic letter one column, its
diacritics none, a wide CJK character two), so Arabic names keep their columns straight.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any

from rich import box as boxes
from rich.cells import cell_len, get_character_cell_size
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import render
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


def print_rows(table: Table, rows: Iterable[Sequence[Cell]]) -> None:
    """``table`` (its columns, title, caption and box; no rows yet) with ``rows``: laid out
    by rich when there are at most ``PAGE`` of them, else written line by line
    (``long_lines``) at the output's width, each cell made ``terminal_text``."""
    rows = iter(rows)
    first = list(islice(rows, PAGE + 1))
    if len(first) <= PAGE:
        for row in first:
            table.add_row(*row)
        render.out.print(table)
        return
    write = sys.stdout.write
    lines = long_lines(
        table, chain(first, rows), shown=render.terminal_text, width=render.out.width
    )
    for line in lines:
        write(line + "\n")


def long_lines(
    table: Table, rows: Iterable[Sequence[Cell]], *, shown: Callable[[str], str], width: int
) -> Iterator[str]:
    """The lines of ``table`` with ``rows`` at ``width`` columns (see the module's words)."""
    rows = iter(rows)
    first = [[_plain(cell, shown) for cell in row] for row in islice(rows, PAGE)]
    layout = _Layout(table, first, width)
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
    return max(map(_width, _SPLIT.split(joined(text))), default=0)


class _Layout:
    """The widths, stacking and box of a long table, decided from its first rows."""

    def __init__(self, table: Table, first: list[list[str]], width: int) -> None:
        headers = [str(column.header) for column in table.columns]
        justify = [column.justify for column in table.columns]
        stack = list(table.stack) if isinstance(table, StackingTable) else []
        present = list(range(len(headers)))  # the table's columns not stacked yet
        self.box = table.box or boxes.SIMPLE
        self.edge = table.show_edge
        self.lines = table.show_lines
        self.title, self.caption, self.width = table.title, table.caption, width
        _, right, _, left = table.padding
        self.left, self.right = " " * left, " " * right
        self.stacked: list[tuple[int, int]] = []  # the pairs stacked, in order
        extra = len(headers) - 1 + (2 if self.edge else 0)
        cells = [headers, *first]
        while True:
            lows = [max(map(_words_width, column)) for column in zip(*cells, strict=True)]
            if not stack or sum(lows) + (left + right) * len(lows) + extra <= width:
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
        highs = [max(map(_lines_width, column)) for column in zip(*cells, strict=True)]
        pads = [left + right] * len(highs)
        room = width - extra
        wanted = [high + pad for high, pad in zip(highs, pads, strict=True)]
        shared = share_widths(
            [low + pad for low, pad in zip(lows, pads, strict=True)], wanted, pads, room
        )
        self.widths = [max(w - pad, 1) for w, pad in zip(shared or wanted, pads, strict=True)]
        outer = [w + left + right for w in self.widths]
        self.rule = self.box.get_row(outer, "row", edge=self.edge)  # between rows

    def head(self) -> Iterator[str]:
        outer = [w + len(self.left) + len(self.right) for w in self.widths]
        if self.title:
            yield from _words(str(self.title), sum(outer) + self.extra)
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
            yield from _words(str(self.caption), sum(outer) + self.extra)

    def _cells(self, cells: list[str], part: str, *, bottom: bool = False) -> Iterator[str]:
        """A row's lines: each cell wrapped to its column, justified and padded."""
        box = self.box
        left, vertical, right = (
            (box.head_left, box.head_vertical, box.head_right)
            if part == "head"
            else (box.mid_left, box.mid_vertical, box.mid_right)
        )
        wrapped = [_wrap(cell, width) for cell, width in zip(cells, self.widths, strict=True)]
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


def _wrap(text: str, width: int) -> list[tuple[str, int]]:
    """A cell's lines at ``width`` columns, each with its display width: its own lines,
    each wrapped between words at ASCII whitespace (never inside a date), a word wider
    than the column folded."""
    out: list[tuple[str, int]] = []
    for paragraph in text.split("\n"):
        size = _width(paragraph)
        if size <= width:  # most lines of a long table: as they are
            out.append((paragraph, size))
            continue
        line, used = "", 0
        for word in _SPLIT.split(joined(paragraph)):
            size = _width(word)
            if not word:
                continue
            if line and used + 1 + size <= width:
                line, used = f"{line} {word}", used + 1 + size
                continue
            if line:
                out.append((line.replace(_JOIN, " "), used))
            line, used = word, size
            if size > width:
                *folded, line = _folded(word, width)
                out.extend((piece.replace(_JOIN, " "), _width(piece)) for piece in folded)
                used = _width(line)
        out.append((line.replace(_JOIN, " "), used))
    return out


def _words(text: str, width: int) -> list[str]:
    """A title or caption wrapped as rich wraps it over a table: a broken line keeps the
    space it was broken at, where it fits."""
    lines = _wrap(text, width)
    return [
        f"{line} " if n < len(lines) - 1 and size < width else line
        for n, (line, size) in enumerate(lines)
    ]


def _folded(word: str, width: int) -> list[str]:
    """A word cut into pieces at most ``width`` columns wide (one character at least)."""
    pieces, start, used = [], 0, 0
    for n, character in enumerate(word):
        size = cell_len(character)
        if used + size > width and n > start:
            pieces.append(word[start:n])
            start, used = n, 0
        used += size
    pieces.append(word[start:])
    return pieces
