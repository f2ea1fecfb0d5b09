"""``ledger history`` written as it is read: the JSON step by step, the table a page of
steps at a time (``usecases.history_stream``).

A hot fact's history is thousands of steps; holding them all before writing the first
took hundreds of megabytes and printed nothing until the end. The JSON is the text
``print_json`` writes of the whole result; a history of up to a hundred steps is the one
table rich lays out, a longer one is written a row at a time (``long_table``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from rich.table import Table
from rich.text import Text

from incident_ledger.cli import render
from incident_ledger.cli.answers import Question
from incident_ledger.projections.results import HistoryStep


def print_json_streamed(
    head: Mapping[str, Any],
    key: str,
    items: Iterable[Any],
    tail: Callable[[], Mapping[str, Any]],
) -> None:
    """``print_json`` of ``head``, then ``key`` with the list of ``items``, then the keys
    of ``tail()`` (called once every item was written): the same text, written an item
    at a time. ``head`` is not empty."""
    text = render._json_text
    sys.stdout.write(text(dict(head))[: -len("\n}")] + f",\n  {text(key)}: [")
    separator = "\n"
    for item in items:
        sys.stdout.write(separator + "    " + text(item).replace("\n", "\n    "))
        separator = ",\n"
    sys.stdout.write("\n  ]" if separator != "\n" else "]")
    rest = text(dict(tail()))
    sys.stdout.write(",\n" + rest[len("{\n") :] + "\n" if rest != "{}" else "\n}\n")


def stream_history(
    question: Question,
    fact: str,
    *,
    tz: str | None,
    as_json: bool,
    every: bool,
    table: Callable[[Mapping[str, Any], str | None], Table],
    row: Callable[[HistoryStep, str | None, Mapping[str, str]], Sequence[Text | str]],
    after: Callable[[Mapping[str, Any]], None],
) -> None:
    """The history without a chart, written as it is read: as JSON (``every``: with every
    position at every step), or as the rows (``row(step, zone, recorded_by)``) of
    ``table(head, zone)`` (``long_table.print_rows``: rich's table for a short history, a
    streamed one for a long one), then ``after(tail)``."""
    from incident_ledger.projections.history import changed_positions
    from incident_ledger.usecases.history_stream import history_pages

    opened = history_pages(
        question.db,
        question.incident,
        fact,
        as_recorded=question.as_recorded,
        reviewed_only=question.reviewed_only,
        by_page=not as_json,  # JSON gives who recorded what once, in its tail
    )
    with opened as read:
        zone = None if as_json else render.display_zone(read.head, tz)
        with render.working("reading the history", as_json=as_json):
            first = next(read.pages, None)  # the bar stops before the first line
        pages = chain([] if first is None else [first], read.pages)
        if as_json:
            steps = (step for page in pages for step in page)
            listed = steps if every else changed_positions(steps)
            print_json_streamed(read.head, "steps", listed, read.tail)
            return
        known = read.recorded_by  # learnt a page at a time, before the page is given
        rows = (row(step, zone, known) for page in pages for step in page)
        render.print_rows(table({**read.head, "steps": []}, zone), rows)
        after({"desk": read.desk()})  # who recorded what was shown page by page
