"""``ledger history`` written as it is read: the JSON step by step, the table a page of
steps at a time (``usecases.history_stream``).

A hot fact's history is thousands of steps; holding them all before writing the first
took hundreds of megabytes and printed nothing until the end. The JSON is the text
``print_json`` writes of the whole result; a history of one page is the one table it
always was, a longer one a table per page (the first with the title and the header),
each laid out on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from rich.table import Table

from incident_ledger.cli import render
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


def history_pages(
    head: Mapping[str, Any],
    pages: Iterator[list[HistoryStep]],
    recorded_by: Mapping[str, str],
    table: Callable[[Mapping[str, Any], bool], Table],
) -> Iterator[Table]:
    """The history's table a page at a time: ``table(result, first)`` of each page, the
    result being ``head`` with the page's steps and ``recorded_by`` as far as read (one
    empty table when there are no steps)."""
    shown = 0
    for page in pages:
        yield table({**head, "steps": page, "recorded_by": recorded_by}, shown == 0)
        shown += 1
    if not shown:
        yield table({**head, "steps": [], "recorded_by": recorded_by}, True)
