"""The ``state`` command's table: an incident's understanding, one row per fact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from incident_ledger.cli import render
from incident_ledger.cli.table_fit import StackingTable


def _known_as_recorded(result: Mapping[str, Any], zone: str | None) -> str:
    """``by the end of 21 Jan 2022 (UTC)``, and ``, as recorded …`` when it was asked."""
    words = render.known_words(result["known_at"], zone)
    recorded = result["recorded_at"]
    return f"{words}, as recorded {render.known_words(recorded, zone)}" if recorded else words


def no_claims_words(result: Mapping[str, Any], zone: str | None = None) -> str:
    """What ``state`` says of an incident of which no claim was known."""
    return f"no claims of {result['incident']} known {_known_as_recorded(result, zone)}"


def state_table(result: Mapping[str, Any], zone: str | None = None) -> Table:
    """The understanding of an incident as a table: one row per fact, its status with the
    short form of why, and instants in ``zone``'s local time; a fact the use case summed
    up (``state_summaries.summed``) in its one line."""
    title = f"{result['incident']} — known {_known_as_recorded(result, zone)}"
    caption = f"policy: {result['policy']}"
    table = StackingTable(title=title, caption=caption, show_lines=True, stack=[(2, 0)])
    table.add_column("fact", no_wrap=True)
    table.add_column("status")
    table.add_column("value", no_wrap=True)
    table.add_column("who says what")
    from incident_ledger.projections.lowered import lowered_lines
    from incident_ledger.projections.proposal_ends import ended_lines

    summed = False
    for name, fact in result["facts"].items():
        if "summed" in fact:  # the use case sums up a fact of many positions
            lines = [fact["summed"]]
            summed = True
        else:
            lines = [
                f"{p['claimant']}: {render.describe_claim_value(p)} "
                f"({render.instant_words(p['published_at'], zone)}, "
                f"{p['report']}{render.review_mark(p)})"
                for p in fact["positions"]
            ]
        lines += ended_lines(fact, "summed" in fact) + lowered_lines(fact, "summed" in fact)
        cell = render.marked_status(fact)
        if "why" in fact:
            cell.append(f"\n{fact['why']['short']}", style="")
        table.add_row(
            name,
            cell,
            render.describe_value(fact, zone, result["policy"]),
            "\n".join(lines) or "no active claim",
        )
    if summed:
        table.caption = f"{caption}; facts with over {render.LISTED_POSITIONS} positions summed up"
    return table
