"""The timeline as a table: a heading row per local day, a row per claim, printed in
pages of whole days (``ledger timeline``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import render
from incident_ledger.cli.table_fit import StackingTable

PAGE = 100
"""A timeline is printed in tables of whole days of about this many rows each, each as
soon as it is laid out: one table of a hot incident's thousands took seconds to lay out
before its first line showed."""

_Row = list[Text | str]


def timeline_pages(
    result: Mapping[str, Any], zone: str | None = None, entries: Iterable[dict[str, Any]] = ()
) -> Iterator[Table]:
    """``timeline_table`` of ``entries`` (read as they come) in pages of whole days, the
    first with the title and header, the columns of every page as wide as the widest
    cell of all of them where that fits in a line.

    Widths only grow as rows are read: once the widest cells seen so far overflow the
    line, every page is fitted on its own and each is written as soon as it is whole.
    Until then pages are held (a timeline that fits in a line is a narrow one)."""
    rows = _timeline_rows(entries, zone)
    held: list[_Row] = []  # the pages not written yet, each starting at a day's heading
    starts = [0]  # where each held page starts in ``held``
    widths = [0, 0, 0, 0]
    overflow = False
    pages = 0
    for row in rows:
        if len(row) == 1 and len(held) - starts[-1] >= PAGE:  # a day's heading: a page may start
            starts.append(len(held))
        held.append(row)
        if not overflow:
            for c, cell in enumerate(row):
                widths[c] = max(widths[c], _width(cell))
            overflow = sum(widths) + 3 * len(widths) > render.out.width
        if overflow and len(starts) > 1:  # every page before the last started is whole
            for n in range(len(starts) - 1):
                yield timeline_table(
                    result, zone, held[starts[n] : starts[n + 1]], first=pages == 0
                )
                pages += 1
            held, starts = held[starts[-1] :], [0]
    if pages == 0 and len(starts) > 1 and not overflow:
        fitted: list[int] | None = widths
    else:
        fitted = None
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(held)
        yield timeline_table(result, zone, held[start:end], first=pages == 0, widths=fitted)
        pages += 1


def _width(cell: Text | str) -> int:
    from rich.cells import cell_len

    text = cell.plain if isinstance(cell, Text) else render.terminal_text(cell)
    return max(cell_len(line) for line in text.split("\n"))


def timeline_table(
    result: Mapping[str, Any],
    zone: str | None = None,
    rows: list[_Row] | None = None,
    *,
    first: bool = True,
    widths: list[int] | None = None,
) -> Table:
    """The timeline grouped by local day: a heading row per day, then one row per claim
    (``rows``: a page of them, all by default; ``first``: the page with the title and the
    header; ``widths``: the columns' least widths, the same on every page).

    A time-valued claim's value is its ``when``; its ``claimed`` cell shows the
    fact's status instead, so a disputed date reads as contested.
    """
    title = (
        f"{result['incident']} — timeline as known {render.known_words(result['known_at'], zone)}"
    )
    table = StackingTable(
        title=title if first else None,
        show_header=first,
        show_edge=first,  # a page that continues a table: no blank lines around it
        box=box.SIMPLE_HEAD,
        pad_edge=not first,  # its edge's space, as padding
        stack=[(2, 1)],
    )
    for n, name in enumerate(("when", "fact", "claimed", "who, where")):
        table.add_column(name, no_wrap=name == "fact", min_width=widths[n] if widths else None)
    for row in _timeline_rows(result["entries"], zone) if rows is None else rows:
        table.add_row(*row)
    return table


def _timeline_rows(entries: Iterable[dict[str, Any]], zone: str | None) -> Iterator[_Row]:
    """A heading row (one cell) per day, then a row per claim of that day."""
    day = None
    for entry in entries:
        if entry["when"]["day"] != day:
            day = entry["when"]["day"]
            yield [
                Text(
                    f"{date.fromisoformat(day):%a} {render.instant_words(day, None)}",
                    style="bold",
                )
            ]
        via = f" via {', '.join(entry['via'])}" if entry["via"] else ""
        mark = "" if entry["position"] else " *"
        if "status" in entry:
            claimed = render.status_text(entry["status"])
            claimed.append(f" date{mark}", style="")
        else:
            claimed = Text(render.terminal_text(entry["value_words"]) + mark)
        yield [
            entry["when"]["words"],
            entry["fact"],
            claimed,
            f"{entry['claimant']}{via}\n{entry['report']}, "
            f"{_short(entry['published_at'], zone)}"
            f"\nrecorded by {render.terminal_text(entry['recorded_by'])}"
            f"{render.review_mark(entry)}",
        ]


def _short(iso: str, zone: str | None) -> str:
    """An instant's local day, short: ``21 Jan``."""
    from incident_ledger.ledger.times import local_time, zone_or_none

    day = local_time(iso, zone_or_none(zone))
    return f"{day.day} {day:%b}"


def timeline_note(result: Mapping[str, Any], not_positions: bool) -> str:
    """What the table leaves out (``result``: the timeline's ``tail``), and the mark of
    entries that are not their claimant's position (``not_positions``: some are)."""
    excluded = result["excluded_inactive"]
    undated = result["undated"]
    notes = [f"{undated['count']} undated claim(s) left out"]
    if undated.get("proposed"):
        notes[0] += f" ({len(undated['proposed'])} proposed)"
    proposed = sum(1 for end in excluded if "end_review" in end)
    notes.append(
        f"{len(excluded)} claim(s) excluded as retracted or corrected"
        + (f" ({proposed} by a proposal not yet reviewed)" if proposed else "")
    )
    if not_positions:
        notes.append("* not the claimant's current position")
    return "; ".join(notes)


def show_timeline(
    head: Mapping[str, Any],
    zone: str | None,
    entries: Iterable[dict[str, Any]],
    tail: Callable[[], Mapping[str, Any]],
) -> None:
    """The timeline's table, a page at a time as its entries are read, or the sentence
    that it is empty; then its note (``tail()``: the claims left out)."""
    shown = {"pages": 0, "entries": 0, "not_positions": 0}

    def counted() -> Iterator[dict[str, Any]]:
        for entry in entries:
            shown["entries"] += 1
            shown["not_positions"] += not entry["position"]
            yield entry

    for page in timeline_pages(head, zone, counted()):
        if not shown["entries"]:
            break  # no entry: the one empty page is not shown
        render.out.print(page)
        shown["pages"] += 1
    if not shown["entries"]:
        known = render.known_words(head["known_at"], zone)
        render.out.print(f"no dated claims of {head['incident']} known {known}")
    elif shown["pages"] > 1:
        render.out.print("")  # the edge the continued table leaves out
    note = timeline_note(tail(), bool(shown["not_positions"]))
    render.out.print(note, soft_wrap=False)
