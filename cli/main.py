"""The ``ledger`` command line: parse arguments, call one service, render the result.

A command loads its use case when it runs (``from incident_ledger.usecases import …`` in
its body), never as the command line loads: every command's start-up would otherwise pay
for the stores, projections and event classes of all the others. ``tests/test_read_start``
holds the command line to that.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar

import typer

from incident_ledger.cli import render, state_view
from incident_ledger.cli.add_commands import claim_command, correct_command
from incident_ledger.cli.add_commands import register as register_add
from incident_ledger.cli.answers import Question, answer
from incident_ledger.cli.audit_commands import register as register_audit
from incident_ledger.cli.catalogue_commands import register as register_catalogue
from incident_ledger.cli.desk_commands import register as register_desk
from incident_ledger.cli.desk_commands import signing_key_said
from incident_ledger.cli.export_commands import register as register_exports
from incident_ledger.cli.failures import LedgerGroup, made_when_asked, use_plain_usage
from incident_ledger.cli.json_parts import print_json_parts
from incident_ledger.cli.lookup_commands import register as register_lookup
from incident_ledger.cli.params import (
    AsRecorded,
    AtOption,
    GradeArg,
    Id,
    IncidentArg,
    JsonFlag,
    Policy,
    PolicyOption,
    RecordTypeOption,
    ReviewedOnly,
    TzOption,
    VersionFlag,
)
from incident_ledger.cli.serve_command import register as register_web
from incident_ledger.cli.time_commands import register as register_time
from incident_ledger.ledger.scratch import remove_stale
from incident_ledger.ledger.stores.location import DEFAULT_DB, KEY_VARIABLE


class _Ledger(LedgerGroup):
    """``ledger``: ``correct`` is made when asked for (its flags come from the models)."""

    lazy: ClassVar[Mapping[str, Callable[[], Any]]] = {"correct": correct_command}


class _Append(LedgerGroup):
    """``ledger append``: ``claim`` likewise."""

    lazy: ClassVar[Mapping[str, Callable[[], Any]]] = {"claim": claim_command}


app = typer.Typer(
    cls=_Ledger,
    help="An event-sourced ledger of contradictory incident reports.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
append_app = typer.Typer(
    cls=_Append,
    help="Import records from JSON Lines or CSV (--file), or append one claim from flags.",
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(append_app, name="append")
register_add(app)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            metavar="PATH|URL",
            envvar="LEDGER_DB",
            help="Ledger store: a SQLite file path or a postgresql:// URL.",
        ),
    ] = DEFAULT_DB,
    version: VersionFlag = False,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar=KEY_VARIABLE,
            metavar="FILE",
            help="Your desk member key file (from 'ledger keygen'): what you write is signed "
            "with it. Default: the ledger's own signing key.",
        ),
    ] = None,
) -> None:
    """An event-sourced ledger of contradictory incident reports."""
    ctx.obj = db
    if key is not None:  # given (a blank one names none): the use cases read it from there
        os.environ[KEY_VARIABLE] = key
    # Scratch folders of a command killed with SIGKILL (an import's spool, a rebuild's
    # shard) are removed by the next one; those of running commands are kept.
    remove_stale()


@app.command()
def init(
    ctx: typer.Context,
    member: Annotated[
        str | None,
        typer.Option(
            "--member",
            metavar="ID",
            help="The id of the desk's first admin, who holds the signing key "
            "(default: your user name).",
        ),
    ] = None,
    review: Annotated[
        str | None,
        typer.Option(
            "--review",
            metavar="MODE",
            help="required: a reporter's claims, corrections, retractions and assessments "
            "wait for another editor's review; off (the default): every record counts once "
            "entered. Chosen once.",
        ),
    ] = None,
) -> None:
    """Create the store, its read model and a signing key; register the first admin.

    With --key FILE (or LEDGER_KEY), FILE is the first admin's key and the ledger's own:
    it must exist ('ledger keygen --out FILE' makes one); a SQLite store keeps a copy of it
    beside it, as the key init would make. Without it, init makes the key (beside a SQLite
    store; ./ledger.key for PostgreSQL), or keeps the one there."""
    from incident_ledger.usecases import writing

    result = writing.init(ctx.obj, member, review)
    render.out.print(f"ledger ready at {result.store} (read model {result.views})")
    signing_key_said(result.key_path, result.verifier_key, result.created_key, result.copied_from)
    if result.member is not None:
        render.out.print(f"desk member {result.member} registered as admin with that key")


@append_app.callback()
def append(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="JSON Lines file to import, or - for stdin; a FILE.csv is read as CSV "
            "(a header row of field names; 'ledger template csv'), and so is stdin whose "
            "first line is such a header.",
        ),
    ] = None,
    as_json: JsonFlag = False,
    project: Annotated[
        bool,
        typer.Option(
            "--project/--defer-projection",
            help="Bring the read model up to date now (default), or leave it to the next "
            "read: quicker when loading several large files in a row.",
        ),
    ] = True,
    record_type: RecordTypeOption = None,
) -> None:
    """Import records from a JSON Lines or CSV file (atomically), or use 'append claim'."""
    from incident_ledger.usecases import writing

    if ctx.invoked_subcommand is not None:
        if file is not None:
            raise typer.BadParameter("use either --file or a subcommand, not both")
        return
    if file is None:
        raise typer.BadParameter("give --file PATH (or -) or the 'claim' subcommand")
    with render.phase_bars(as_json=as_json) as progress:
        outcome = writing.append_file(
            ctx.obj, file, progress=progress, project=project, record_type=record_type
        )
    render.report_outcome(outcome, as_json)


@app.command()
def retract(
    ctx: typer.Context,
    id: Id,
    claim: Annotated[
        str, typer.Option("--claim", metavar="CLAIM", help="Id of the claim withdrawn.")
    ],
    report: Annotated[
        str, typer.Option("--report", metavar="REPORT", help="Report that withdraws it.")
    ],
    reason: Annotated[str | None, typer.Option("--reason", metavar="TEXT", help="Why.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record that a report withdrew a claim."""
    from incident_ledger.usecases import writing

    fields = {"type": "retraction", "id": id, "claim": claim, "report": report, "reason": reason}
    render.report_outcome(writing.append_one(ctx.obj, fields), as_json)


@app.command()
def rate(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source id.")],
    grade: GradeArg,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why the grade changes (required).")
    ],
    effective_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="In force for known times from this date (default: always).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-grade a source; the change is an event with its reason."""
    from incident_ledger.usecases import writing

    result = writing.rate(ctx.obj, source, grade, reason=reason, effective_from=effective_from)
    if as_json:
        render.print_json(result)
    else:
        render.out.print(f"{result['source']} is now rated {result['reliability']}")


@app.command()
def replay(
    ctx: typer.Context,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Only events recorded by then (needs --out)."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", metavar="PATH", help="Build into this file instead of the live model."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild the read model from the events."""
    from incident_ledger.usecases import rebuilding

    with render.progress_bar("replaying", as_json=as_json) as progress:
        result = rebuilding.replay(ctx.obj, until=until, out=out, progress=progress)
    if as_json:
        render.print_json(result)
        return
    render.out.print(f"replayed {result['events']} events into {result['views']}", markup=False)
    for event in result["unprojectable"]:
        render.out.print(
            f"event {event['seq']} ({event['event']}) could not be projected: {event['error']}",
            markup=False,
        )


@app.command()
def state(
    ctx: typer.Context,
    incident: IncidentArg,
    at: AtOption = None,
    as_recorded: AsRecorded = None,
    policy: PolicyOption = Policy.RANGE,
    tz: TzOption = None,
    reviewed_only: ReviewedOnly = False,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help=f"List every position of every fact (the table sums up facts held by over "
            f"{render.LISTED_POSITIONS} claimants).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """What was understood about an incident at a point in time, and why."""
    from incident_ledger.usecases import reading

    question = Question(ctx.obj, incident, as_recorded, reviewed_only)
    answer(
        question.put(reading.current_state, at=at, policy=policy, summed=not (every or as_json)),
        as_json=as_json,
        tz=tz,
        show=lambda result, zone: render.out.print(
            state_view.state_table(result, zone)
            if result["facts"]
            else state_view.no_claims_words(result, zone)
        ),
        json=print_json_parts,
    )


# checkpoint, verify and prove, in the order the help lists them.
register_audit(app)


@app.command()
def demo(
    tz: TzOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Load the Ghwayran sample into a temporary ledger and walk through its evolution."""
    from incident_ledger.cli.demo_view import show_walkthrough
    from incident_ledger.usecases.demo import walkthrough

    zone = render.display_zone({}, tz)  # a bad --tz is reported before the sample loads
    result = walkthrough()
    if as_json:
        render.print_json(result)
    else:
        show_walkthrough(result, zone)


# Commands that live in their own modules (the reading side and the web front).
register_time(app)
register_lookup(app)
register_catalogue(app)
register_web(app)
register_exports(app)
register_desk(app)
use_plain_usage(app)
made_when_asked(app)

if __name__ == "__main__":
    app()
