"""``ledger keygen``, ``ledger member add|remove`` and ``ledger members``: the desk."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from incident_ledger.cli import render
from incident_ledger.cli.failures import LedgerGroup, fail
from incident_ledger.cli.params import JsonFlag, RecordArg

member_app = typer.Typer(
    cls=LedgerGroup,
    help="Register or remove a desk member (admins only).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def keygen(
    ctx: typer.Context,
    out: Annotated[
        str,
        typer.Option("--out", metavar="FILE", help="The new key file (made readable by you only)."),
    ],
) -> None:
    """Make a desk member's signing key; print its public key for 'ledger member add'."""
    from incident_ledger.usecases import desk_admin

    public_key = desk_admin.keygen(out, ctx.obj)
    render.out.print(f"member key created at {out}; public key:")
    render.raw(public_key + "\n")


@member_app.command("add")
def member_add(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="ID", help="The member's id.")],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The member's name.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            metavar="[reporter|editor|admin]",
            help="reporter, editor (also reviews) or admin.",
        ),
    ],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            metavar="KEY",
            help="The member's public key (from 'ledger keygen'). Left out only to register "
            "a ledger's first admin with the key you hold.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a desk member; their key signs everything they write."""
    from incident_ledger.usecases import desk_admin

    shown = desk_admin.member_add(ctx.obj, member_id, name=name, role=role, public_key=public_key)
    if as_json:
        render.print_json(shown)
    elif shown["added"]:
        render.out.print(f"member {member_id} added ({shown['role']})")
    else:
        render.out.print(f"member {member_id} already present")


@member_app.command("remove")
def member_remove(
    ctx: typer.Context,
    member_id: Annotated[str, typer.Argument(metavar="ID", help="The member's id.")],
) -> None:
    """Remove a member: from now on their key writes nothing. What they wrote stays."""
    from incident_ledger.usecases import desk_admin

    desk_admin.member_remove(ctx.obj, member_id)
    render.out.print(f"member {member_id} removed")


def members(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The desk's members, removed ones marked."""
    from incident_ledger.usecases import desk_admin

    listed = desk_admin.members(ctx.obj)
    if as_json:
        render.print_json(listed)
    elif not listed:
        render.out.print("no desk members: the ledger was made before the desk")
    else:
        render.out.print(_members_table(listed))


def _members_table(listed: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE)
    for column in ("id", "name", "role", "status", "public key"):
        table.add_column(column)
    for member in listed:
        status = "removed" if member["removed"] else "active"
        table.add_row(
            render.terminal_text(member["id"]),
            render.terminal_text(member["name"]),
            member["role"],
            status,
            member["public_key"].split("+", 1)[0],
        )
    return table


def erratum(
    ctx: typer.Context,
    record: RecordArg,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", metavar="TEXT", help="What was entered wrong (needed for a new erratum)."
        ),
    ] = None,
    replaced_by: Annotated[
        str | None,
        typer.Option(
            "--replaced-by",
            metavar="RECORD",
            help="The right record, entered anew: given with the erratum, or later to link it.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record that the desk entered RECORD by mistake (a typo, the wrong report).

    From now on it counts no more, at any known time (as recorded before, it still does),
    and never against its source: an erratum is not a retraction. Records are never
    edited: to fix one, record an erratum, enter the right record, then link them
    (erratum RECORD --replaced-by NEW). An erratum of a retraction or correction frees
    its claim, to be ended by the right record."""
    from incident_ledger.usecases import desk_work

    shown = desk_work.erratum(ctx.obj, record, reason=reason, replaced_by=replaced_by)
    if as_json:
        render.print_json(shown)
    elif shown["linked"]:
        render.out.print(f"erratum of {shown['record']}: replaced by {shown['replaced_by']}")
    else:
        kind = shown["record"].split(":", 1)[0]
        render.out.print(f"erratum recorded: {shown['record']} no longer counts{_VOIDS[kind]}")


_VOIDS = {
    "claim": "",
    "retraction": "",
    "assessment": "",
    "report": ", nor any claim, retraction or correction it reports",
    "source": ", nor any claim, retraction or correction of its reports",
    "incident": ": it is not listed, and none of its claims count",
}
"""What else an erratum of each kind of record voids (``projections.desk_rules``)."""


def note(
    ctx: typer.Context,
    record: RecordArg,
    text: Annotated[str, typer.Option("--text", metavar="TEXT", help="The note.")],
) -> None:
    """Attach a desk note to RECORD (shown with it; never counted as a claim)."""
    from incident_ledger.usecases import desk_work

    shown = desk_work.note(ctx.obj, record, text=text)
    render.out.print(f"note attached to {shown['record']}")


def review(
    ctx: typer.Context,
    record: RecordArg,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the proposal.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it: it counts no more.")] = False,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why (shown with it).")
    ] = None,
) -> None:
    """Review a reporter's proposed record (editors; never your own proposal)."""
    from incident_ledger.usecases import desk_work

    if approve == reject:
        fail("give one of --approve or --reject", 2)
    shown = desk_work.review(ctx.obj, record, approve=approve, note=note)
    verb = "approved" if approve else "rejected"
    render.out.print(f"{shown['record']} {verb} by {shown['by']}")


def queue(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """What waits for review, oldest first."""
    from incident_ledger.usecases import desk_work

    waiting = desk_work.queue(ctx.obj)
    if as_json:
        render.print_json(waiting)
    elif not waiting:
        render.out.print("nothing waits for review")
    else:
        for item in waiting:
            render.out.print(
                f"{item['recorded_at']}  {render.terminal_text(item['record'])}  "
                f"(incident {render.terminal_text(str(item['incident']))}, "
                f"proposed by {render.terminal_text(', '.join(item['proposed_by']))})"
            )


def capture(
    ctx: typer.Context,
    report: Annotated[str, typer.Argument(metavar="REPORT", help="The report's id.")],
    file: Annotated[str, typer.Argument(metavar="FILE", help="The page as it was.")],
    media_type: Annotated[
        str | None,
        typer.Option(
            "--media-type",
            metavar="TYPE",
            help="text/html, application/pdf, image/png or application/warc "
            "(default: told from the file's first bytes, else its name).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Keep FILE (HTML, PDF, PNG or WARC) as REPORT's captured copy, by its SHA-256.

    The bytes are stored in the ledger's store, read and written a chunk at a time;
    'ledger verify' hashes them again. A report's sha256, when it has one, must match."""
    from incident_ledger.usecases import capturing

    shown = capturing.capture(ctx.obj, report, file, media_type)
    if as_json:
        render.print_json(shown)
    else:
        render.out.print(
            f"captured {shown['kind']} of report {render.terminal_text(shown['report'])}: "
            f"sha256 {shown['sha256']}, {shown['size']} bytes"
        )


def signing_key_said(key_path: str, verifier: str, created: bool, copied_from: str | None) -> None:
    """Say where a ledger's signing key is, as ``init`` and ``restore`` made or found it,
    and its verifier (public) key."""
    if copied_from:
        done = f"copied from {copied_from} to {key_path}"
    else:
        done = f"{'created' if created else 'kept'} at {key_path}"
    render.out.print(f"signing key {done}; verifier key:")
    render.raw(verifier + "\n")


def register(app: typer.Typer) -> None:
    """Add the desk's commands to the ``ledger`` command line."""
    app.command()(keygen)
    app.add_typer(member_app, name="member")
    app.command()(members)
    app.command()(erratum)
    app.command()(note)
    app.command()(review)
    app.command()(queue)
    app.command()(capture)
