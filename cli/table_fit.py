"""Tables that fit the terminal by wrapping between words, never inside an id or a date.

Rich wraps a cell at any whitespace (the no-break space included) and, when a word
is wider than its column, folds it in the middle. So a table at 80 columns showed
``kurdish-authori│ties`` and ``20`` / ``Jan 2022``. Here every cell becomes a
``TokenText``: the spaces inside a date (``21 Jan 2022``, ``21 Jan 2022 10:00
+03:00``) are held as a blank that is not whitespace while the cell is measured and
wrapped, then shown as spaces; and the columns are sized so that each one's widest
token (an id, a date with its brackets and comma) fits, the rest of the width shared
fairly among the columns that have more to show. Only a table whose widest tokens cannot
all fit side by side folds a token, the widest first.
"""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, OverflowMethod
from rich.containers import Lines
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

_JOIN = "\u2800"
"""A blank that is not whitespace (``str.isspace`` is false), one cell wide: rich and
``str.split`` do not break at it. Never shown: it becomes a space once wrapped."""

_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DATE = re.compile(
    rf"(?:\b\d{{1,2}} )?\b{_MONTH} \d{{4}}\b"  # 21 Jan 2022, Jan 2022
    r"(?: \d{2}:\d{2}(?::\d{2})?(?: [+-]\d{2}:\d{2}| UTC)?)?"  # 10:00 +03:00
)
_SPLIT = re.compile(r"[ \t\n\r\f\v]+")
"""Where a cell may wrap: ASCII whitespace only."""


def joined(text: str) -> str:
    """The text with the spaces inside each date made unbreakable."""
    return _DATE.sub(lambda m: m.group().replace(" ", _JOIN), text)


class TokenText(Text):
    """A cell that wraps only at ASCII whitespace and shows its joined dates with spaces."""

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """Rich's measure, with words split at ASCII whitespace only."""
        lines = self.plain.splitlines()
        widest = max(map(cell_len, lines), default=0)
        words = [w for w in _SPLIT.split(self.plain) if w]
        return Measurement(max(map(cell_len, words), default=widest), widest)

    def wrap(
        self,
        console: Console,
        width: int,
        *,
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        tab_size: int = 8,
        no_wrap: bool | None = None,
    ) -> Lines:
        """Rich's wrap, then the joined dates' blanks made spaces again."""
        lines = super().wrap(
            console, width, justify=justify, overflow=overflow, tab_size=tab_size, no_wrap=no_wrap
        )
        for line in lines:
            line.plain = line.plain.replace(_JOIN, " ")
        return lines


def token_cell(cell: Any, shown: Any) -> Any:
    """A cell as a ``TokenText`` (``shown`` makes a string safe for the terminal);
    anything that is not text is left as it is."""
    if isinstance(cell, Text):
        token = TokenText(joined(cell.plain), style=cell.style, end=cell.end)
        token._spans = list(cell.spans)  # same length: the styles stay where they were
        return token
    if isinstance(cell, str):
        return TokenText(joined(shown(cell)))
    return cell


def tokenized(table: Table, shown: Any) -> Table:
    """The table with every cell a ``TokenText``, wrapping only between words."""
    for column in table.columns:
        column.no_wrap = False
        column.overflow = "fold"
        column._cells = [token_cell(cell, shown) for cell in column._cells]
    return table


def tokens_fit(table: Table, console: Console) -> bool:
    """Whether the widest token of every column (a tokenized table) fits side by side."""
    ranges = [table._measure_column(console, console.options, c) for c in table.columns]
    return sum(r.minimum for r in ranges) <= console.width - table._extra_width


def fit_widths(table: Table, console: Console) -> None:
    """Give each column of a table too wide for the console a fixed width (``share_widths``)."""
    options = console.options
    ranges = [table._measure_column(console, options, c) for c in table.columns]
    padding = [table._get_padding_width(i) for i in range(len(table.columns))]
    room = console.width - table._extra_width
    lows, highs = [r.minimum for r in ranges], [r.maximum for r in ranges]
    widths = share_widths(lows, highs, padding, room)
    if widths is None:
        return
    for column, width, pad in zip(table.columns, widths, padding, strict=True):
        column.width = max(width - pad, 1)


def share_widths(
    lows: list[int], highs: list[int], padding: list[int], room: int
) -> list[int] | None:
    """Columns' widths (padding included) in ``room``, from each one's widest token
    (``lows``) and widest line (``highs``), or None when every line fits: each column its
    widest token at least; the space left shared fairly, a column that needs less than
    its share taking only what it needs (so short cells stay on one line)."""
    if sum(highs) <= room:
        return None
    widths = [max(low, pad + 1) for low, pad in zip(lows, padding, strict=True)]
    while sum(widths) > room and max(w - p for w, p in zip(widths, padding, strict=True)) > 4:
        widest = max(range(len(widths)), key=lambda i: widths[i] - padding[i])
        widths[widest] -= 1  # too many wide tokens: the widest folds
    spare = room - sum(widths)
    short = sorted(
        (max(w - have, 0), i) for i, (w, have) in enumerate(zip(highs, widths, strict=True))
    )
    for k, (gap, i) in enumerate(short):  # the least wanting first, each its fair share
        given = min(gap, max(spare, 0) // (len(short) - k))
        widths[i] += given
        spare -= given
    return widths


class StackingTable(Table):
    """A table some of whose columns go under others, cell by cell, when the widest
    tokens of all its columns cannot sit side by side: ``stack`` pairs (moved, under)
    by column index, stacked in order until the table fits. At 80 columns a fact's
    value goes under its name rather than an id being split."""

    def __init__(self, *args: Any, stack: list[tuple[int, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stack = stack


def stacked(table: Table, console: Console, shown: Any) -> Table:
    """A table tokenized as it fits: its columns stacked (``StackingTable``) if need be."""
    tokenized(table, shown)
    if not isinstance(table, StackingTable):
        return table
    pairs = [(table.columns[move], table.columns[under]) for move, under in table.stack]
    for move, under in pairs:
        if tokens_fit(table, console):
            break
        under.header = stacked_header(str(under.header), str(move.header))
        under._cells = [
            Text.assemble(_as_text(top), "\n", _as_text(bottom))
            for top, bottom in zip(under._cells, move._cells, strict=True)
        ]
        table.columns.remove(move)
        for index, column in enumerate(table.columns):
            column._index = index
        tokenized(table, shown)
    return table


def stacked_header(top: str, bottom: str) -> str:
    """The header of a column stacked under another: the two headers one above the other,
    as its cells are. Joined on one line (``top / bottom``), a narrow column wrapped it
    at the slash, and the slash and words of neighbouring stacked headers stood side by
    side on a line, so a reader could not tell which words made which header."""
    return f"{top}\n{bottom}"


def _as_text(cell: Any) -> Text | str:
    return cell if isinstance(cell, Text) else str(cell)
