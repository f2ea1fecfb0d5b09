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


def _say(shown: Any = "", **options: Any) -> None:
    """Print prose wrapped between words to the terminal's width (80 columns when the
    output is piped and no COLUMNS says otherwise), not as one long line: an indented
    line's continuation keeps its indent, and no line ends in spaces."""
    if not isinstance(shown, str | Text):
        out.print(shown, **options)
        return
    style = options.pop("style", "")
    text = out.render_str(shown, style=style) if isinstance(shown, str) else shown
    for paragraph in text.split("\n", allow_blank=True):
        depth = len(paragraph.plain) - len(paragraph.plain.lstrip(" "))
        for line in paragraph[depth:].wrap(out, max(20, out.width - depth)):
            line.rstrip()
            out.print(Text(" " * depth) + line, soft_wrap=True, **options)


def show_walkthrough(walk: dict[str, Any], zone: str | None = None) -> None:
    """Print the walkthrough: one section per date, contested facts first, with quotes."""
    walk = shown(walk)
    zone = zone or walk["timezone"]
    _say(
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
    _say(Rule(f"Related incident: {related['incident']} (simultaneous)"))
    for fact, detail in related["facts"].items():
        _say(
            f"  {fact}: {detail['status']}, {describe_value(detail, related['timezone'])} — "
            + "; ".join(
                f"{p['claimant']} says {describe_claim_value(p)}" for p in detail["positions"]
            )
        )
    _say()
    _say(
        "Try it yourself: ledger init; ledger append --file <sample>; "
        "ledger state ghwayran-2022 --at 2022-01-23 --json"
    )


def _show_step(step: dict[str, Any], zone: str | None) -> None:
    _say()
    _say(Rule(Text(f"What was known {known_words(step['known_at'], zone)}", style="bold")))
    if step["new_reports"]:
        _say("New reports:")
        for r in step["new_reports"]:
            name = r["source_name"] + (f" ({r['source_name_ar']})" if r["source_name_ar"] else "")
            title = r["title"] or "(untitled)"
            _say(f"  • {instant_words(r['published_at'], zone)} {name}: {title}")
    else:
        _say("No new report since the previous date.", style="dim")
    facts = step["state"]["facts"]
    contested = {f: d for f, d in facts.items() if d["status"] == "contested"}
    if contested:
        _say(
            Text.assemble(
                "\n", (f"Contested ({len(contested)})", "bold red"), " — why, and who said what:"
            )
        )
        for fact, detail in contested.items():
            _say(Text.assemble("  ", (fact, "bold"), f"  range {describe_value(detail, zone)}"))
            _say(Text(f"    {detail['why']['summary']}", style="italic"))
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
        _say(table)
    _show_in_force(step["in_force"])
    _show_changes(step["changes"], zone)


def _show_position(p: dict[str, Any], zone: str | None) -> None:
    via = f" via {', '.join(p['via'])}" if p.get("via") else ""
    as_of = f", as of {instant_words(p['as_of'], zone)}" if p.get("as_of") else ""
    if not as_of and p.get("valid_time") and p["valid_time"] != p.get("value"):
        as_of = f", said of {describe(p['valid_time'])}"  # when, in the world, it held
    _say(f"    {p['claimant']}{via}: {describe_claim_value(p)}  ({p['report']}{as_of})")
    if p.get("quote"):
        _say(Text(f"      «{_clip(p['quote'])}»", style="cyan"))
    if p.get("translation"):
        _say(Text(f"      “{_clip(p['translation'])}”", style="dim"))


def _show_in_force(in_force: list[dict[str, Any]]) -> None:
    if not in_force:
        return
    _say("Taking effect this day, as reported before it:")
    for item in in_force:
        position = item["position"]
        _say(
            f"  • {item['fact']}: {describe_claim_value(position)} "
            f"({item['claimant']}, {position['report']}; {describe(position['valid_time'])})"
        )


def _show_changes(changes: list[dict[str, Any]], zone: str | None) -> None:
    from incident_ledger.projections.changes import change_words

    if not changes:
        _say("Nothing changed since the previous date.", style="dim")
        return
    _say("What changed since the previous date:")
    for change in changes:
        line = f"  • {change['fact']}: {change_words(change, zone, short=False)}"
        if change["change"] == "status" and change.get("why"):
            line += f": {change['why']}"
        _say(Text(line))


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
