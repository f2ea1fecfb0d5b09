"""Renders the Ghwayran walkthrough for a reader at a terminal."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from incident_ledger.cli.render import describe_claim_value, describe_value, out, shown

_STATUS_STYLE = {
    "contested": "bold red",
    "corroborated": "green",
    "single": "yellow",
    "withdrawn": "dim",
}


def _day(iso: str) -> str:
    parsed = date.fromisoformat(iso[:10])
    return f"{parsed.day} {parsed.strftime('%b %Y')}"


def show_walkthrough(walk: dict[str, Any]) -> None:
    """Print the walkthrough: one section per date, contested facts first, with quotes."""
    walk = shown(walk)
    out.print(
        Panel.fit(
            Text.assemble(
                (walk["title"], "bold"),
                f"\n{walk['title_ar'] or ''}\n{walk['place'] or ''}\n\n"
                f"The sample ledger holds {sum(walk['records'].values())} records from "
                f"{len(walk['reports'])} Arabic articles. Every answer below is a point-in-time "
                "query: `ledger state ghwayran-2022 --at DATE`.",
            ),
            title="incident-ledger demo",
        ),
        soft_wrap=False,  # the panel's text wraps inside its frame
    )
    for step in walk["steps"]:
        _show_step(step)
    related = walk["related"]
    out.print(Rule(f"Related incident: {related['incident']} (simultaneous)"))
    for fact, detail in related["facts"].items():
        out.print(
            f"  {fact}: {detail['status']}, {describe_value(detail)} — "
            + "; ".join(
                f"{p['claimant']} says {describe_claim_value(p)}" for p in detail["positions"]
            )
        )
    out.print()
    out.print(
        "Try it yourself: ledger init; ledger append --file <sample>; "
        "ledger state ghwayran-2022 --at 2022-01-23 --json"
    )


def _show_step(step: dict[str, Any]) -> None:
    out.print()
    out.print(Rule(Text(f"What was known by the end of {_day(step['date'])}", style="bold")))
    if step["new_reports"]:
        out.print("New reports:")
        for r in step["new_reports"]:
            name = r["source_name"] + (f" ({r['source_name_ar']})" if r["source_name_ar"] else "")
            out.print(f"  • {r['published_at']} {name}: {r['title'] or '(untitled)'}")
    else:
        out.print("No new report since the previous date: the picture is unchanged.", style="dim")
    facts = step["state"]["facts"]
    contested = {f: d for f, d in facts.items() if d["status"] == "contested"}
    if contested:
        out.print(
            Text.assemble("\n", (f"Contested ({len(contested)})", "bold red"), " — who said what:")
        )
        for fact, detail in contested.items():
            out.print(Text.assemble("  ", (fact, "bold"), f"  range {describe_value(detail)}"))
            for p in detail["positions"]:
                via = f" via {', '.join(p['via'])}" if p.get("via") else ""
                out.print(
                    f"    {p['claimant']}{via}: {describe_claim_value(p)}"
                    f"  ({p['report']}, {p['published_at'][:10]})"
                )
                if p.get("quote"):
                    out.print(Text(f"      «{_clip(p['quote'])}»", style="cyan"))
                if p.get("translation"):
                    out.print(Text(f"      “{_clip(p['translation'])}”", style="dim"))
    table = Table(title="Other facts", show_header=True, header_style="bold")
    table.add_column("fact", no_wrap=True)
    table.add_column("status")
    table.add_column("value")
    table.add_column("claimants")
    for fact, detail in facts.items():
        if detail["status"] == "contested":
            continue
        table.add_row(
            fact,
            Text(detail["status"], style=_STATUS_STYLE[detail["status"]]),
            describe_value(detail),
            ", ".join(p["claimant"] for p in detail["positions"]) or "—",
        )
    if table.row_count:
        out.print(table)
    _show_changes(step["changes"])


def _show_changes(changes: list[dict[str, Any]]) -> None:
    notable = [c for c in changes if c["change"] in ("status", "revised", "withdrawn")]
    if not notable:
        return
    out.print("What changed since the previous date:")
    for c in notable:
        if c["change"] == "status":
            out.print(f"  • {c['fact']}: {c['from']} → {c['to']}")
        elif c["change"] == "revised":
            old, new = describe_claim_value(c["from"]), describe_claim_value(c["to"])
            if old == new:
                out.print(f"  • {c['fact']}: {c['claimant']} restated {new} ({c['to']['report']})")
            else:
                out.print(
                    f"  • {c['fact']}: {c['claimant']}'s {old} ({c['from']['report']}) was "
                    f"superseded by its {new} ({c['to']['report']}): history, not disagreement"
                )
        else:
            out.print(
                f"  • {c['fact']}: {c['claimant']}'s claim {c['position']['claim']} was "
                "withdrawn (retracted or corrected)"
            )


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
