"""Terminal rendering: tables for people, JSON for machines, progress bars on a terminal.

Text from the ledger — names, titles, quotes, ids typed by whoever wrote an import
file — reaches a terminal only through ``terminal_text``: escape sequences and
other control characters are dropped (a quote must not clear the screen, retitle
the window or hide the rest of a row), and the characters that reorder text
(bidi overrides and isolates) are shown as ``<U+202E>`` instead of reversing what
follows them. Rich's markup and emoji codes are off, so ``[bold]`` or ``:warning:``
in a source's name is shown as typed. JSON keeps every value exact.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain, islice
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import long_table
from incident_ledger.cli.table_fit import fit_widths, stacked
from incident_ledger.ledger.times import local_time, local_words, offset_words, time_zone
from incident_ledger.projections.words import LISTED_POSITIONS as LISTED_POSITIONS
from incident_ledger.projections.words import positions_summary as positions_summary

# Written out here rather than taken from rich, whose Text strips only five C0
# controls (BEL, BS, VT, FF, CR) and whose ANSI decoder turns SGR sequences into
# styles. An escape sequence is dropped whole only when it is complete; a lone
# ESC, or one whose sequence never ends, loses the ESC alone, and the rest shows.
_CONTROLS = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, erase screen
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, ended by BEL or ST: titles, links
    r"|[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC, ended by ST
    r"|[ -/]*[0-~]"  # any other escape
    r")?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # the other C0 controls (not tab, newline), DEL, C1
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI)."""
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Every character either of those can start a match at: text without one is safe as it is."""
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What JSON leaves unescaped (``ensure_ascii=False``) that a terminal would act on."""


def terminal_text(text: str) -> str:
    """Text as it may reach a terminal: control characters out, bidi controls visible.
    Most text has neither, and is known by one search (a long list writes thousands of
    cells)."""
    if _UNSAFE.search(text) is None:
        return text
    return _BIDI.sub(_visible, _CONTROLS.sub("", text))


def _visible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def shown(data: Any) -> Any:
    """A result with every string in it (keys too) made ``terminal_text``."""
    if isinstance(data, str):
        return terminal_text(data)
    if isinstance(data, dict):
        return {shown(key): shown(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [shown(item) for item in data]
    return data


def shown_spans(text: str, spans: list[list[int]]) -> tuple[str, list[tuple[int, int]]]:
    """``terminal_text(text)``, and the (start, end) spans of ``text`` moved to match it."""
    dropped = {i for match in _CONTROLS.finditer(text) for i in range(*match.span())}
    pieces: list[str] = []
    moved = [0] * (len(text) + 1)  # where each offset of text lands in what is shown
    length = 0
    for index, character in enumerate(text):
        moved[index] = length
        if index not in dropped:
            piece = _BIDI.sub(_visible, character)
            pieces.append(piece)
            length += len(piece)
    moved[len(text)] = length
    return "".join(pieces), [(moved[start], moved[end]) for start, end in spans]


class _Console(Console):
    """A console that passes every string it renders — printed, in a table cell, a title —
    through ``terminal_text`` before laying it out, so widths are those of what is shown."""

    def render_str(self, text: str, **options: Any) -> Text:
        """Rich's ``render_str`` of the text as it may be shown."""
        return super().render_str(terminal_text(text), **options)

    def print(self, *objects: Any, **options: Any) -> None:
        """Rich's ``print``, with every table made to fit the terminal (``fitted``), its
        title and caption wrapped too. A table printed alone without colour (to a file or a
        pipe) is written by ``long_table`` instead: the same text, a tenth of rich's time."""
        plain = len(objects) == 1 and not options and self.color_system is None
        plain = plain and not self.legacy_windows
        ascii_only = self.options.ascii_only  # (an output that cannot encode the box)
        lines = (
            long_table.plain_lines(objects[0], self.width, terminal_text, ascii_only=ascii_only)
            if plain
            else None
        )
        if lines is not None:
            self.file.write("".join(line + "\n" for line in lines))
            return
        if any(isinstance(o, Table) for o in objects):
            options.setdefault("soft_wrap", False)
        shown = (fitted(o, self) if isinstance(o, Table) else o for o in objects)
        super().print(*shown, **options)


def fitted(table: Table, console: Console) -> Table:
    """A table that fits the console's width by wrapping between words: ids and dates
    are never split (``table_fit``), and a word is folded rather than cut short with an
    ellipsis only when the widest tokens cannot all fit, so nothing shown is lost."""
    fit_widths(stacked(table, console, terminal_text), console)
    # Titles and captions start at the margin, unpadded, as plain lines do.
    table.title_justify = table.caption_justify = "default"
    return table


out = _Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = _Console(stderr=True, highlight=False, markup=False, emoji=False)


def print_rows(table: Table, rows: Iterable[Sequence[long_table.Cell]]) -> None:
    """``table`` (its columns, title, caption and box; no rows yet) with ``rows``: laid out
    by rich when there are at most ``long_table.PAGE`` of them (``out``), else written line
    by line (``long_table.long_lines``) at the output's width, each cell made
    ``terminal_text``."""
    rows = iter(rows)
    first = list(islice(rows, long_table.PAGE + 1))
    if len(first) <= long_table.PAGE:
        for row in first:
            table.add_row(*row)
        out.print(table)
        return
    write = sys.stdout.write
    lines = long_table.long_lines(
        table,
        chain(first, rows),
        shown=terminal_text,
        width=out.width,
        ascii_only=out.options.ascii_only,
    )
    for line in lines:
        write(line + "\n")


def table_text(table: Table, width: int = 80) -> str:
    """A table as ``out`` writes it to a file or a pipe ``width`` columns wide."""
    buffer = io.StringIO()
    console = _Console(file=buffer, width=width, highlight=False, markup=False, emoji=False)
    console.print(table)
    return buffer.getvalue()


def raw(text: str) -> None:
    """Text that must reach stdout byte for byte (keys, signed notes, exported documents):
    never wrapped; on a terminal, made ``terminal_text`` (an export read on screen must
    not drive the terminal), and exact when written to a file or a pipe."""
    sys.stdout.write(terminal_text(text) if sys.stdout.isatty() else text)


def lines(texts: Iterable[str]) -> None:
    """Plain lines, each as it comes, made ``terminal_text`` (for lists too long for a
    table: no layout, so the first shows at once)."""
    write = sys.stdout.write
    for text in texts:
        write(terminal_text(text) + "\n")


def print_json(data: Any) -> None:
    """Machine output: UTF-8 JSON, Arabic as characters; DEL, C1 controls and bidi
    controls written as ``\\u`` escapes, which leave every value exactly as it is."""
    sys.stdout.write(_json_text(data) + "\n")


def _json_text(data: Any) -> str:
    """``data`` as ``print_json`` writes it, without the final newline."""
    try:  # orjson writes the same text as json.dumps(indent=2) several times faster
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    except TypeError:  # a type orjson does not know (a Decimal): the standard library's
        text = json.dumps(data, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def shows_bars(*, as_json: bool = False) -> bool:
    """Progress is drawn only for a person at a terminal: never with ``--json``, never
    when the output or the error stream is piped or redirected."""
    return not as_json and err.is_terminal and out.is_terminal


@contextmanager
def phase_bars(*, as_json: bool = False) -> Iterator[Callable[[str, int, int], None] | None]:
    """A callback drawing one bar per phase on stderr (``shows_bars``), else None."""
    if not shows_bars(as_json=as_json):
        yield None
        return
    # Imported here: a command whose output is not a terminal never draws a bar.
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield advance


@contextmanager
def progress_bar(
    description: str, *, as_json: bool = False
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing one bar on stderr (``shows_bars``), else None."""
    with phase_bars(as_json=as_json) as phases:
        if phases is None:
            yield None
        else:
            yield lambda done, total: phases(description, done, total)


@contextmanager
def working(description: str, *, as_json: bool = False) -> Iterator[None]:
    """A bar that pulses on stderr (``shows_bars``) while a step whose length is not
    known in advance runs: an export, a history, a verification."""
    if not shows_bars(as_json=as_json):
        yield
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        bar.add_task(description, total=None)
        yield


def display_zone(result: Mapping[str, Any], tz: str | None) -> str | None:
    """The zone to show a result's instants in: ``--tz`` if given (checked), else the
    incident's (None: UTC)."""
    if tz is not None:
        time_zone(tz)
        return tz
    zone = result.get("timezone")
    return None if zone is None else str(zone)


def instant_words(instant: str | None, zone: str | None) -> str:
    """An instant (ISO UTC, or a date as a report gave it) in the zone's local time:
    ``21 Jan 2022`` for a date or the end of a local day, else ``21 Jan 2022 10:00
    +03:00``."""
    from incident_ledger.ledger.times import zone_or_none

    if instant is None:
        return "—"
    if len(instant) == 10:
        day = date.fromisoformat(instant)
        return f"{day.day} {day:%b %Y}"
    return local_words(instant, zone_or_none(zone))


def moment_words(instant: str, zone: str | None) -> str:
    """A query's instant: ``the end of 21 Jan 2022 (Asia/Damascus)``, or ``21 Jan 2022
    10:00 +03:00``."""
    from incident_ledger.ledger.times import zone_or_none

    moment = local_time(instant, zone_or_none(zone))
    clock = (moment.hour, moment.minute, moment.second, moment.microsecond)
    if clock == (23, 59, 59, 999_999):
        return f"the end of {moment.day} {moment:%b %Y} ({zone or 'UTC'})"
    seconds = f":{moment:%S}" if moment.second or moment.microsecond else ""
    return f"{moment.day} {moment:%b %Y} {moment:%H:%M}{seconds} {offset_words(moment)}"


def known_words(instant: str, zone: str | None) -> str:
    """``by the end of 21 Jan 2022 (Asia/Damascus)``, or ``at 21 Jan 2022 10:00 +03:00``."""
    words = moment_words(instant, zone)
    return f"by {words}" if words.startswith("the end") else f"at {words}"


def describe_claim_value(position: dict[str, Any]) -> str:
    """A claimed value in words: ``at least 20``, ``11000–12000``, ``20 or 21 Jan 2022``."""
    from incident_ledger.projections.words import position_words

    return position_words(position)


def describe_value(fact: dict[str, Any], zone: str | None = None, policy: str | None = None) -> str:
    """The policy value of a fact, in words (``fact_value_words``)."""
    from incident_ledger.projections.words import fact_value_words

    return fact_value_words(fact, zone, policy)


STATUS_STYLE = {
    "contested": "bold red",
    "corroborated": "green",
    "single": "yellow",
    "withdrawn": "dim",
}
"""How a fact's status is shown, in every table that shows one."""


def status_text(status: str | None) -> Text:
    """A status as a styled cell."""
    return Text(status or "", style=STATUS_STYLE.get(status or "", ""))


def summed_up(fact: Mapping[str, Any]) -> bool:
    """Whether a table sums up a step's positions, and those proposals ended, in a line
    each (``words.sums_up``)."""
    from incident_ledger.projections.words import sums_up

    return sums_up(fact["positions"])


def marked_status(fact: Mapping[str, Any]) -> Text:
    """A fact's status as a styled cell, with what only proposals give it said beside it
    (``single (proposed by bob; reviewed: contested)``): ``state``, ``history`` and
    ``diff`` alike."""
    from incident_ledger.projections.proposal_ends import status_words

    cell = status_text(fact["status"])
    if words := status_words(fact):
        cell.append(f" ({words})", style="")
    return cell


def review_mark(item: Mapping[str, Any]) -> str:
    """``, proposed`` after a position or entry that is a proposal no editor approved."""
    return f", {item['review']}" if "review" in item else ""


def report_outcome(outcome: Any, as_json: bool) -> None:
    """What an append did: records added by type, and those already present."""
    if as_json:
        print_json(
            {"added": outcome.added, "unchanged": outcome.unchanged, "events": outcome.events}
            | ({"proposed": True} if outcome.proposed else {})
        )
        return
    parts = ", ".join(f"{count} {kind}" for kind, count in sorted(outcome.added.items()))
    out.print(
        f"added {outcome.added_total} record(s)"
        + (f" ({parts})" if parts else "")
        + f"; {outcome.unchanged} already present"
        + (_proposed_words(outcome.added_total) if outcome.proposed else "")
    )


def _proposed_words(added: int) -> str:
    return _PROPOSED_ONE if added == 1 else _PROPOSED_MANY


_PROPOSED_ONE = "; proposed: it counts for reviewed views once an editor approves it (ledger queue)"
_PROPOSED_MANY = (
    "; proposed: its claims, ends and assessments count for reviewed views once an editor "
    "approves them (ledger queue)"
)
