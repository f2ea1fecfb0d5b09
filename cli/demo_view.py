"""Renders the Ghwayran walkthrough for a reader at a terminal.

Each step says when it stands (the end of that day in the incident's time zone), which
reports came out, the contested facts with the reason and who said what, the other
facts, and every change since the previous step — values always with their
qualifiers ("at least 20", never "20").
"""

from __future__ import annotations

from typing import Any

from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from incident_ledger.cli.render import (
    describe_claim_value,
    describe_value,
    instant_words,
    known_words,
    out,
    shown,
    status_text,
)
from incident_ledger.cli.table_fit import StackingTable
from incident_ledger.projections.timewords import describe


def show_walkthrough(walk: dict[str, Any], zone: str | None = None) -> None:
    """Print the walkthrough: one section per date, contested facts first, with quotes."""
    walk = shown(walk)
    zone = zone or walk["timezone"]
    out.print(
        Panel.fit(
            Text.assemble(
                (walk["title"], "bold"),
                f"\n{walk['title_ar'] or ''}\n{walk['place'] or ''}\n\n"
                f"The sample ledger holds {sum(walk['records'].values())} records from "
                f"{len(walk['reports'])} Arabic articles. Every answer below is a point-in-time "
                "query, `ledger state ghwayran-2022 --at DATE`: a date means the end of that "
                f"day in the incident's time zone ({walk['timezone'] or 'UTC'}).\n\n"
                f"The sample file: {walk['sample']}",
            ),
            title="incident-ledger demo",
        ),
        soft_wrap=False,  # the panel's text wraps inside its frame
    )
    for step in walk["steps"]:
        _show_step(step, zone)
    related = walk["related"]
    out.print(Rule(f"Related incident: {related['incident']} (simultaneous)"))
    for fact, detail in related["facts"].items():
        out.print(
            f"  {fact}: {detail['status']}, {describe_value(detail, related['timezone'])} — "
            + "; ".join(
                f"{p['claimant']} says {describe_claim_value(p)}" for p in detail["positions"]
            )
        )
    out.print()
    out.print(
        "Try it yourself: ledger init; ledger append --file <sample>; "
        "ledger state ghwayran-2022 --at 2022-01-23 --json"
    )


def _show_step(step: dict[str, Any], zone: str | None) -> None:
    out.print()
    out.print(Rule(Text(f"What was known {known_words(step['known_at'], zone)}", style="bold")))
    if step["new_reports"]:
        out.print("New reports:")
        for r in step["new_reports"]:
            name = r["source_name"] + (f" ({r['source_name_ar']})" if r["source_name_ar"] else "")
            title = r["title"] or "(untitled)"
            out.print(f"  • {instant_words(r['published_at'], zone)} {name}: {title}")
    else:
        out.print("No new report since the previous date.", style="dim")
    facts = step["state"]["facts"]
    contested = {f: d for f, d in facts.items() if d["status"] == "contested"}
    if contested:
        out.print(
            Text.assemble(
                "\n", (f"Contested ({len(contested)})", "bold red"), " — why, and who said what:"
            )
        )
        for fact, detail in contested.items():
            out.print(
                Text.assemble("  ", (fact, "bold"), f"  range {describe_value(detail, zone)}")
            )
            out.print(Text(f"    {detail['why']['summary']}", style="italic"))
            for p in detail["positions"]:
                _show_position(p, zone)
    table = StackingTable(title="Other facts", header_style="bold", stack=[(2, 0)])
    table.add_column("fact", no_wrap=True)
    table.add_column("status")
    table.add_column("value")
    table.add_column("who says what")
    for fact, detail in facts.items():
        if detail["status"] == "contested":
            continue
        table.add_row(
            fact,
            status_text(detail["status"]),
            describe_value(detail, zone),
            "\n".join(f"{p['claimant']}: {describe_claim_value(p)}" for p in detail["positions"])
            or "—",
        )
    if table.row_count:
        out.print(table)
    _show_in_force(step["in_force"])
    _show_changes(step["changes"], zone)


def _show_position(p: dict[str, Any], zone: str | None) -> None:
    via = f" via {', '.join(p['via'])}" if p.get("via") else ""
    as_of = f", as of {instant_words(p['as_of'], zone)}" if p.get("as_of") else ""
    if not as_of and p.get("valid_time") and p["valid_time"] != p.get("value"):
        as_of = f", said of {describe(p['valid_time'])}"  # when, in the world, it held
    out.print(f"    {p['claimant']}{via}: {describe_claim_value(p)}  ({p['report']}{as_of})")
    if p.get("quote"):
        out.print(Text(f"      «{_clip(p['quote'])}»", style="cyan"))
    if p.get("translation"):
        out.print(Text(f"      “{_clip(p['translation'])}”", style="dim"))


def _show_in_force(in_force: list[dict[str, Any]]) -> None:
    if not in_force:
        return
    out.print("Taking effect this day, as reported before it:")
    for item in in_force:
        position = item["position"]
        out.print(
            f"  • {item['fact']}: {describe_claim_value(position)} "
            f"({item['claimant']}, {position['report']}; {describe(position['valid_time'])})"
        )


def _show_changes(changes: list[dict[str, Any]], zone: str | None) -> None:
    from incident_ledger.projections.changes import change_words

    if not changes:
        out.print("Nothing changed since the previous date.", style="dim")
        return
    out.print("What changed since the previous date:")
    for change in changes:
        line = f"  • {change['fact']}: {change_words(change, zone, short=False)}"
        if change["change"] == "status" and change.get("why"):
            line += f": {change['why']}"
        out.print(Text(line))


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
