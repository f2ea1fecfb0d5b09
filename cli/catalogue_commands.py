"""``ledger incidents`` and ``ledger facts INCIDENT``: what the ledger follows."""

from __future__ import annotations

from typing import Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import render
from incident_ledger.cli.params import AtOption, IncidentArg, JsonFlag, ReviewedOnly, TzOption
from incident_ledger.cli.table_fit import StackingTable


def incidents(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The incidents in the ledger, with their time zones and how much is known of each."""
    from incident_ledger.usecases import reading

    listed = reading.incidents(ctx.obj)
    if as_json:
        render.print_json(listed)
    elif not listed:
        render.out.print("no incidents in the ledger")
    else:
        render.out.print(incidents_table(render.shown(listed)))


def facts(
    ctx: typer.Context,
    incident: IncidentArg,
    at: AtOption = None,
    tz: TzOption = None,
    reviewed_only: ReviewedOnly = False,
    as_json: JsonFlag = False,
) -> None:
    """An incident's facts: kind, unit, cumulative, claims and status."""
    from incident_ledger.usecases import reading

    listed = reading.facts(ctx.obj, incident, at=at, reviewed_only=reviewed_only)
    if as_json:
        render.print_json(listed)
    elif not listed["facts"]:  # none declared, nor claimed by then
        known = render.known_words(listed["known_at"], render.display_zone(listed, tz))
        render.out.print(f"no facts of {incident} known {known}")
    else:
        render.out.print(facts_table(render.shown(listed), render.display_zone(listed, tz)))


def register(app: typer.Typer) -> None:
    """Add ``incidents`` and ``facts`` to the ``ledger`` command line."""
    app.command("incidents")(incidents)
    app.command("facts")(facts)


def incidents_table(listed: list[dict[str, Any]]) -> Table:
    """One row per incident."""
    table = Table(title="incidents", box=box.SIMPLE_HEAD)
    for name in ("incident", "title", "time zone", "facts", "claims", "reports from"):
        table.add_column(name, justify="right" if name in ("facts", "claims") else "left")
    for item in listed:
        zone = item["timezone"]
        first, last = item["first_known"], item["last_known"]
        span = (
            "—"
            if first is None
            else f"{render.instant_words(first, zone)} to {render.instant_words(last, zone)}"
        )
        title = "\n".join(t for t in (item["title"], item["title_ar"]) if t)
        table.add_row(
            item["id"], Text(title), zone or "UTC", str(item["facts"]), str(item["claims"]), span
        )
    return table


def facts_table(listed: dict[str, Any], zone: str | None) -> Table:
    """One row per fact, its instants in ``zone`` (None: UTC)."""
    known = render.known_words(listed["known_at"], zone)
    title = f"facts of {listed['incident']} — status {known}"
    table = StackingTable(title=title, box=box.SIMPLE_HEAD, stack=[(2, 1), (4, 3), (5, 0)])
    for name in ("fact", "kind", "unit", "cumulative", "claims", "status"):
        table.add_column(name, justify="right" if name == "claims" else "left")
    for item in listed["facts"]:
        kind = item["kind"] or "—"
        if not item["declared"]:
            kind += " (inferred)"
        status = render.marked_status(item) if item["status"] else Text("not yet known")
        if item.get("why"):
            status.append(f"\n{item['why']}", style="dim")
        table.add_row(
            item["key"],
            kind,
            item["unit"] or "—",
            "yes" if item["cumulative"] else "no",
            str(item["claims"]),
            status,
        )
    return table
