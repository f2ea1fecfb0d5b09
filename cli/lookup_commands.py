"""``ledger search`` and ``ledger sources``: the read side's lookups, as tables or JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from incident_ledger.cli import render
from incident_ledger.cli.params import IncidentFilter, JsonFlag
from incident_ledger.cli.table_fit import StackingTable
from incident_ledger.projections.search import DEFAULT_LIMIT

WIDE = 120  # console columns from which names and kinds get their own columns


def search(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='Words and "quoted phrases"; Arabic with or without diacritics, any digits.',
        ),
    ],
    incident: IncidentFilter = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="At most this many hits (best first).")
    ] = DEFAULT_LIMIT,
    as_json: JsonFlag = False,
) -> None:
    """Full-text search of quotes, translations, notes and titles; exact phrases rank first."""
    from incident_ledger.usecases import searching

    result = searching.search(ctx.obj, query, incident=incident, limit=limit)
    if as_json:
        render.print_json(result)
    elif not result["hits"]:
        render.out.print(f"no matches for {query}")
    else:
        render.out.print(search_table(result))


def sources(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Sources with their Admiralty grade, rating history and track record."""
    from incident_ledger.usecases import reading

    with render.working("reading the sources", as_json=as_json):
        records = reading.sources(ctx.obj)
    if as_json:
        render.print_json(records)
    elif not records:
        render.out.print("no sources in the ledger")
    else:
        wide = render.out.width >= WIDE
        render.print_rows(sources_table([], wide=wide), source_rows(records, wide=wide))
        render.print_rows(ratings_table([]), rating_rows(records))


def register(app: typer.Typer) -> None:
    """Add ``search`` and ``sources`` to the ``ledger`` command line."""
    app.command("search")(search)
    app.command("sources")(sources)


def highlighted(original: str, spans: list[list[int]]) -> Text:
    """The original text as it may be shown (``render.terminal_text``), its matched spans
    in bold."""
    shown, moved = render.shown_spans(original, spans)
    text = Text(shown)
    for start, end in moved:
        text.stylize("bold", start, end)
    return text


def _where(hit: dict[str, Any]) -> str:
    lines = [f"{hit['kind']} {hit['ref']}", hit["field"]]
    if hit["kind"] == "claim":
        lines += [hit["fact"], f"{hit['claimant']} in {hit['report']}"]
        if stands := standing_words(hit):
            lines.append(stands)
    if hit["incident"] and hit["kind"] != "incident":
        lines.append(hit["incident"])
    return "\n".join(lines)


def standing_words(hit: dict[str, Any]) -> str:
    """How a claim found stands, in words: empty for one that counts as it was made."""
    if "voided" in hit:
        how = "rejected" if hit["voided"] == "rejected" else "entered in error"
        return f"{how}: counts nowhere"
    words = []
    if "ended" in hit:
        end = hit["ended"]
        said = f"{end['how']} by {end['by']}"
        if end.get("review"):  # a reporter's end an editor has not approved yet
            said += f" (proposed by {', '.join(end['proposed_by'])}, not yet reviewed)"
        words.append(said)
    if hit.get("review"):
        words.append(f"proposed by {', '.join(hit['proposed_by'])}, not yet reviewed")
    return "; ".join(words)


def search_table(result: dict[str, Any]) -> Table:
    """Search hits, best first: where each was found and its text, matches in bold."""
    hits = result["hits"]
    table = Table(
        title=f"{len(hits)} hit(s) for: {result['query']}",
        caption="exact phrase first, then by relevance (bm25)",
        show_lines=True,
    )
    table.add_column("#", justify="right")
    table.add_column("found in", no_wrap=True)
    table.add_column("text")
    phrased = len(result["terms"]) > 1
    for hit in hits:
        where = _where(hit) + ("\nexact phrase" if phrased and hit["exact_phrase"] else "")
        table.add_row(
            str(hit["rank"]),
            where,
            highlighted(hit["original"], hit["highlights"]),
        )
    return table


def sources_table(records: list[dict[str, Any]], *, wide: bool = True) -> Table:
    """One row per source: grade and track record; narrow tables fold names into one column."""
    table = StackingTable(
        title="sources and their track record",
        caption=(
            "retracted, corrected: of the claims a source made or relayed (a relay answers for "
            "its own corrections); contested, first: of facts taken"
        ),
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        stack=[] if wide else [(4, 3), (6, 5)],  # retracted / corrected, contested / first
    )
    table.add_column("source", no_wrap=wide, overflow="fold")
    if wide:
        table.add_column("name")
        table.add_column("kind")
    table.add_column("grade", justify="center")
    for name in ("claims", "retracted", "corrected", "contested", "first", "reports"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in source_rows(records, wide=wide):
        table.add_row(*row)
    return table


def source_rows(records: list[dict[str, Any]], *, wide: bool = True) -> Iterator[list[str]]:
    """The rows of ``sources_table``."""
    for record in records:
        names = [record["name"], record["name_ar"]]
        described = (
            [record["id"], "\n".join(n for n in names if n), record["kind"]]
            if wide
            else ["\n".join(n for n in (record["id"], *names, record["kind"]) if n)]
        )
        yield [
            *described,
            record["reliability"] or "—",
            str(record["claims_made"]),
            f"{record['retracted']}/{record['claims_made'] + record['relayed']}",
            f"{record['corrected']}/{record['claims_made'] + record['relayed']}",
            f"{record['contested']}/{record['positions']}",
            f"{record['first_to_report']}/{record['positions']}",
            str(record["reports_published"]),
        ]


def _date(key: str | None) -> str:
    if key is None:
        return "always"
    return key[:10] if key.endswith("T00:00:00Z") else key


def ratings_table(records: list[dict[str, Any]]) -> Table:
    """Every grade each source has had, in the order recorded."""
    table = Table(title="rating history", box=box.SIMPLE_HEAD)
    table.add_column("source", overflow="fold")
    table.add_column("grade", justify="center")
    table.add_column("in force from", no_wrap=True)
    table.add_column("recorded", no_wrap=True)
    table.add_column("reason")
    for row in rating_rows(records):
        table.add_row(*row)
    return table


def rating_rows(records: list[dict[str, Any]]) -> Iterator[list[str]]:
    """The rows of ``ratings_table``."""
    for record in records:
        for rating in record["ratings"]:
            yield [
                record["id"],
                rating["grade"],
                _date(rating["effective_from"]),
                rating["recorded_at"][:19] + "Z",
                rating["reason"],
            ]
