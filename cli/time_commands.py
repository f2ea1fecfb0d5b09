"""The incident over time: ``ledger timeline``, ``ledger history`` and ``ledger diff``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import history_view, render, timeline_view
from incident_ledger.cli.answers import Question, answer
from incident_ledger.cli.failures import fail
from incident_ledger.cli.json_parts import print_json_parts
from incident_ledger.cli.params import (
    AsRecorded,
    AtOption,
    IncidentArg,
    JsonFlag,
    ReviewedOnly,
    TzOption,
)
from incident_ledger.cli.table_fit import StackingTable
from incident_ledger.projections.results import position_claims


def register(app: typer.Typer) -> None:
    """Add ``timeline``, ``history`` and ``diff`` to the ``ledger`` command line."""
    app.command("timeline")(timeline)
    app.command("history")(history)
    app.command("diff")(diff)


def timeline(
    ctx: typer.Context,
    incident: IncidentArg,
    at: AtOption = None,
    reviewed_only: ReviewedOnly = False,
    tz: TzOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Dated facts and claims in world-time order, as known at a point in time."""
    from incident_ledger.usecases.timeline_stream import (
        timeline_stream,  # loaded by the commands that read: a faster start for the rest
    )

    # Written as it is read: a hot incident's timeline is tens of thousands of entries.
    with timeline_stream(ctx.obj, incident, at=at, reviewed_only=reviewed_only) as read:
        if as_json:
            history_view.print_json_streamed(read.head, "entries", read.entries, read.tail)
        else:
            zone = render.display_zone(read.head, tz)
            timeline_view.show_timeline(read.head, zone, read.entries, read.tail)


def history(
    ctx: typer.Context,
    incident: IncidentArg,
    fact: Annotated[
        str, typer.Argument(metavar="FACT", help="Fact key, e.g. killed.security_forces.")
    ],
    as_recorded: AsRecorded = None,
    chart: Annotated[
        str | None,
        typer.Option(
            "--chart",
            metavar="FILE",
            help="Also draw the history (numbers only) to FILE.svg or FILE.png.",
        ),
    ] = None,
    reviewed_only: ReviewedOnly = False,
    tz: TzOption = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all-positions",
            help="With --json, list every position in force at every step, not only those "
            "that changed.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """How the understanding of one fact changed over known time, step by step."""
    from incident_ledger.usecases import reading

    if every and not as_json:  # the table lists a step's positions as it always has
        fail("--all-positions is for --json: the table lists each step's positions", 2)

    question = Question(ctx.obj, incident, as_recorded, reviewed_only)
    if chart is None:  # written as it is read
        history_view.stream_history(
            question,
            fact,
            tz=tz,
            as_json=as_json,
            every=every,
            table=lambda head, zone: history_table(head, zone, rows=False),
            row=history_row,
            after=_desk_words,
        )
        return
    with render.working("reading the history", as_json=as_json):
        result = question.put(reading.fact_history, fact, chart=chart)
    answer(
        result,
        as_json=as_json,
        tz=tz,
        show=show_history,
        json=lambda result: print_history(result, every=every),
    )


def diff(
    ctx: typer.Context,
    incident: IncidentArg,
    from_at: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="DATE",
            help="Earlier known time T1 (a date means its end in the incident's time zone).",
        ),
    ],
    to_at: Annotated[str, typer.Option("--to", metavar="DATE", help="Later known time T2.")],
    as_recorded: AsRecorded = None,
    reviewed_only: ReviewedOnly = False,
    tz: TzOption = None,
    as_json: JsonFlag = False,
) -> None:
    """What changed in the understanding between two known times, and what caused it."""
    from incident_ledger.usecases import reading

    question = Question(ctx.obj, incident, as_recorded, reviewed_only)
    result = question.put(reading.belief_diff, from_at=from_at, to_at=to_at)
    answer(result, as_json=as_json, tz=tz, show=show_diff, json=print_json_parts)


# --- rendering ----------------------------------------------------------------------


def when(iso: str | None, zone: str | None = None) -> str:
    """An instant in the zone's local time: ``21 Jan 2022`` (a date, or the end of a local
    day), ``31 Jan 2022 10:00 +03:00``."""
    return render.instant_words(iso, zone)


def _fact_value(fact: Mapping[str, Any] | None, zone: str | None) -> str:
    from incident_ledger.projections.words import interval_words

    if fact is None:
        return "—"
    if fact.get("range") is not None:
        return interval_words(fact["range"], zone, fact.get("kind"))
    value = fact.get("value")
    if isinstance(value, list):
        return " | ".join(_text(v) for v in value)
    return _text(value)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _positions(fact: Mapping[str, Any] | None, recorded_by: Mapping[str, str] | None = None) -> str:
    from incident_ledger.projections.words import position_words

    if fact is None or not fact["positions"]:
        return "no active claim"
    if render.summed_up(fact):  # a hot fact: hundreds a step
        return f"{len(fact['positions'])} positions (history --json lists them)"
    lines = []
    for p in fact["positions"]:
        by = by_words(position_claims(p), recorded_by, ", ") if recorded_by else ""
        lines.append(
            f"{p['claimant']}: {position_words(p)} ({p['report']}{by}{render.review_mark(p)})"
        )
    return "\n".join(lines)


def print_history(result: Mapping[str, Any], *, every: bool) -> None:
    """The history as JSON: each step's positions that changed, or with ``every`` all."""
    from incident_ledger.projections.history import changed_positions

    steps = result["steps"] if every else list(changed_positions(result["steps"]))
    render.print_json({**result, "steps": steps})


def show_history(result: Mapping[str, Any], zone: str | None) -> None:
    """The history's table, then the desk's words on its records and where its chart went."""
    render.out.print(history_table(result, zone))
    _desk_words(result)


def _desk_words(result: Mapping[str, Any]) -> None:
    """The desk's words on the history's records, and where its chart went."""
    for entry in result.get("desk", []):
        render.out.print(f"{entry['record']}: {render.terminal_text(entry['words'])}")
    if "chart" in result:
        render.out.print(f"chart written to {result['chart']['path']}")


def by_words(records: Iterable[str], recorded_by: Mapping[str, str], before: str) -> str:
    """``, by bob``: who recorded these records (``before`` leads), or ``""`` for records
    from before the desk had members (every record then, which a table need not say)."""
    from incident_ledger.projections.desk_projection import BEFORE_THE_DESK

    members = sorted({recorded_by.get(record, BEFORE_THE_DESK) for record in records})
    members = [member for member in members if member != BEFORE_THE_DESK]
    return f"{before}by {render.terminal_text(', '.join(members))}" if members else ""


def history_table(
    result: Mapping[str, Any], zone: str | None = None, *, rows: bool = True
) -> Table:
    """One row per step: when, which reports, status, range, positions and what changed
    (``rows``: with the result's steps; else the columns and title alone)."""
    title = f"{result['fact']} in {result['incident']} — history by known time"
    if result["recorded_at"]:
        title += f", as recorded {render.known_words(result['recorded_at'], zone)}"
    table = StackingTable(title=title, show_lines=True, stack=[(1, 0), (3, 2), (5, 4)])
    for name in ("known at", "reports", "status", "range", "who says what", "what changed"):
        table.add_column(name)
    for step in result["steps"] if rows else ():
        table.add_row(*history_row(step, zone, result.get("recorded_by", {})))
    return table


def history_row(
    step: Mapping[str, Any], zone: str | None, recorded_by: Mapping[str, str]
) -> list[Text | str]:
    """A step's cells in ``history_table``."""
    from incident_ledger.projections.changes import change_words
    from incident_ledger.projections.proposal_ends import ended_lines

    return [
        when(step["at"], zone),
        "\n".join(f"{r['id']} ({r['outlet']})" for r in step["reports"]),
        render.marked_status(step),
        _fact_value(step, zone),
        "\n".join([_positions(step, recorded_by), *ended_lines(step, render.summed_up(step))]),
        "\n".join(change_words(c, zone) for c in step["changes"]),
    ]


def show_diff(result: Mapping[str, Any], zone: str | None = None) -> None:
    """The changed facts, then the claims, retractions and corrections that came out."""
    from incident_ledger.projections.changes import change_words

    span = (
        f"{render.moment_words(result['from'], zone)} and {render.moment_words(result['to'], zone)}"
    )
    if result["recorded_at"]:
        span += f" (as recorded {render.known_words(result['recorded_at'], zone)})"
    if not result["facts"]:
        render.out.print(f"no fact of {result['incident']} changed between {span}")
    else:
        title = f"{result['incident']} — what changed between {span}"
        table = StackingTable(title=title, show_lines=True, stack=[(2, 1), (4, 3)])
        for name in ("fact", "before", "after", "what changed", "reports"):
            table.add_column(name, no_wrap=name == "fact")
        for fact in result["facts"]:
            changes, reports = fact["changes"], fact["reports"]
            table.add_row(
                fact["fact"],
                _summary(fact["before"], zone),
                _summary(fact["after"], zone),
                _first(
                    [change_words(c, zone) for c in changes[:LISTED_ROWS]], len(changes), "change"
                ),
                _first([_report(r, zone) for r in reports[:LISTED_ROWS]], len(reports), "report"),
            )
        render.out.print(table)
    by = result["recorded_by"]
    _published_table("new claims", result["new_claims"], zone, by, corrections=False)
    _published_table("corrections", result["corrections"], zone, by, corrections=True)
    _retractions_table(result["retractions"], zone)


LISTED_ROWS = 12
"""A cell lists up to this many changes or reports; beyond, it counts the rest."""
LONG_LIST = 100
"""A list of more claims or retractions than this is printed a line each, not as a table:
laying out a table measures every cell before the first line shows (15 s for the ten
thousand new claims of a month of a hot incident)."""


def _first(lines: list[str], total: int, what: str) -> str:
    """The lines, and how many more there are (``diff --json`` lists them all)."""
    if total > len(lines):
        more = total - len(lines)
        lines = [*lines, f"… {more} more {what}{'s' if more > 1 else ''} (--json lists them)"]
    return "\n".join(lines)


def _long_list(title: str, count: int, rows: Iterable[list[str]]) -> None:
    """A list of ``count`` rows too long for a table, a line each, written as it goes."""
    render.out.print(f"{title} ({count}):")
    render.lines("  " + " · ".join(cell.replace("\n", " ") for cell in row) for row in rows)


def _summary(fact: dict[str, Any] | None, zone: str | None) -> Text:
    if fact is None:
        return Text("not yet claimed", style="dim")
    text = render.marked_status(fact)
    text.append(f"\n{render.terminal_text(_fact_value(fact, zone))}", style="")
    return text


def _report(report: dict[str, Any], zone: str | None) -> str:
    return f"{report['id']} ({report['outlet']}, {when(report['published_at'], zone)})"


def _published_table(
    title: str,
    items: list[dict[str, Any]],
    zone: str | None,
    recorded_by: Mapping[str, str],
    *,
    corrections: bool,
) -> None:
    if not items:
        return
    reports: dict[str, str] = {}  # each report's words, made once (a hot month: 100,000 claims)
    members: dict[str, str] = {}  # each member's words, the same
    rows = (
        [
            reports.get(item["report"]["id"])
            or reports.setdefault(item["report"]["id"], _report(item["report"], zone)),
            item["fact"],
            item["claimant"],
            item["value_words"],
            item["claim"]
            + (f"\n(corrects {item['corrects']})" if corrections else "")
            + _member_words(recorded_by.get(item["claim"]), members)
            + render.review_mark(item),
        ]
        for item in items
    )
    if len(items) > LONG_LIST:  # made a line at a time as it is written
        _long_list(title, len(items), rows)
        return
    table = StackingTable(title=title, stack=[(4, 0), (2, 1), (3, 1)])
    for name in ("report", "fact", "claimant", "value", "claim"):
        table.add_column(name, no_wrap=name in ("fact", "claim"))  # ids stay whole
    for row in rows:
        table.add_row(*row)
    render.out.print(table)


def _member_words(member: str | None, said: dict[str, str]) -> str:
    """``by_words`` of one claim recorded by ``member``, made once per member in ``said``."""
    if member is None:  # not asked: as ``by_words`` says of a record it does not find
        return ""
    words = said.get(member)
    if words is None:
        words = said[member] = by_words(["claim"], {"claim": member}, "\n")
    return words


def _retractions_table(items: list[dict[str, Any]], zone: str | None) -> None:
    if not items:
        return
    rows = [
        [
            _report(item["report"], zone),
            item["claim"]
            + by_words([item["id"]], {item["id"]: item["recorded_by"]}, "\n")
            + render.review_mark(item),
            item["fact"],
            item["claimant"] + (f"\n(withdrawn by {item['by']})" if "by" in item else ""),
            item["reason"] or "",
        ]
        for item in items
    ]
    if len(rows) > LONG_LIST:
        _long_list("retractions", len(rows), rows)
        return
    table = StackingTable(title="retractions", stack=[(1, 0), (3, 2)])
    for name in ("report", "claim", "fact", "claimant", "reason"):
        table.add_column(name, no_wrap=name in ("fact", "claim"))  # ids stay whole
    for row in rows:
        table.add_row(*row)
    render.out.print(table)
