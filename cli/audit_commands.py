"""The audit trail: ``ledger checkpoint``, ``ledger verify`` and ``ledger prove``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from incident_ledger.cli import render
from incident_ledger.cli.failures import LedgerGroup
from incident_ledger.cli.params import JsonFlag


def register(app: typer.Typer) -> None:
    """Add ``checkpoint``, ``verify`` and ``prove`` to the ``ledger`` command line."""
    app.command("checkpoint")(checkpoint)
    app.command("verify")(verify)
    prove_app = typer.Typer(
        cls=LedgerGroup, help="Print proofs a third party can check.", rich_markup_mode=None
    )
    prove_app.command("inclusion")(prove_inclusion)
    prove_app.command("consistency")(prove_consistency)
    app.add_typer(prove_app, name="prove")


def checkpoint(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Sign the log's current size and root as a C2SP checkpoint, with the ledger's own key."""
    from incident_ledger.usecases import auditing

    result = auditing.checkpoint(ctx.obj)
    if as_json:
        render.print_json(result)
    else:
        render.raw(result["note"])


def verify(
    ctx: typer.Context,
    export: Annotated[
        str | None,
        typer.Option(
            "--export", metavar="BUNDLE", help="Verify this exported bundle folder offline."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            help="Verifier (public) key, text or file, to check checkpoints against; default: "
            "the bundle's, or the ledger's own signing key (as its log records it, when the "
            "key at hand is another).",
        ),
    ] = None,
    prev: Annotated[
        str | None,
        typer.Option(
            "--prev", metavar="FILE", help="An earlier checkpoint file the export must extend."
        ),
    ] = None,
    read_model: Annotated[
        bool,
        typer.Option(
            "--read-model/--no-read-model",
            help="Also compare the read model with the log (default), or check the log alone.",
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Recompute every leaf, the root and every checkpoint, and compare the read model with
    the log; exit 1 at the first bad entry or row."""
    from incident_ledger.usecases import auditing

    if export is None and prev:
        raise typer.BadParameter("--prev goes with --export")
    with render.working("verifying", as_json=as_json):
        if export is not None:
            result = auditing.verify_export(export, key, prev)
        else:
            result = auditing.verify(ctx.obj, key, read_model=read_model)
    if as_json:
        render.print_json(result)
    elif export is not None:
        _show_export_verified(result)
    else:
        _show_verified(result)


def _show_export_verified(result: dict[str, Any]) -> None:
    from incident_ledger.ledger.evidence import CaptureCount

    extends = f"; extends checkpoint {result['extends']}" if "extends" in result else ""
    incident = result.get("incident")
    if incident is not None:
        extends += f"; complete: all {incident['events']} events of incident {incident['id']}"
    left_out = result.get("captured_files_left_out")
    if "captures" in result and not left_out:
        extends += f"; {CaptureCount.from_json(result).words()}, each file hashed again"
    render.out.print(
        f"ok: {result['entries']} entries verified against checkpoint "
        f"{result['checkpoint']['size']} (key {result['key']}){extends}"
    )
    if left_out:
        render.err.print(
            f"note: {left_out} captured file(s) are not in the bundle "
            f"({CaptureCount.from_json(result).words()}): it was exported without them; "
            "its log verifies, and restoring it needs them",
            soft_wrap=True,
        )


def _show_verified(result: dict[str, Any]) -> None:
    unchecked = result["checkpoints_unchecked"]
    signed = f"{result['checkpoints']} checkpoint(s) verified"
    if unchecked:
        signed += f", {unchecked} not checked (no verifier key: give --key)"
    render.out.print(f"ok: {result['events']} events, root {result['root']}, {signed}")
    if result.get("captures"):
        from incident_ledger.ledger.evidence import CaptureCount

        words = CaptureCount.from_json(result).words()
        render.out.print(f"captured: {words}, each file hashed again")
    model = result["read_model"]
    status = model["status"]
    if status == "agrees":
        behind = model["events"] < result["events"]
        upto = (
            f"its {model['events']} of the log's events" if behind else f"{model['events']} events"
        )
        render.out.print(f"read model: agrees ({upto}, {model['rows']} rows)")
    elif status == "absent":
        render.out.print(f"read model: absent (none at {model['path']})")
    elif status == "outdated":
        render.out.print("read model: of an earlier layout, rebuilt by the next read")
    else:
        render.out.print("read model: not checked")


def prove_inclusion(
    ctx: typer.Context,
    record: Annotated[
        str, typer.Argument(metavar="RECORD", help="Record id, or kind:id (claim:c1).")
    ],
    version: Annotated[
        int, typer.Option("--version", metavar="N", help="Event version (1 = created).")
    ] = 1,
) -> None:
    """Inclusion proof of a record's event in the signed log (JSON)."""
    from incident_ledger.usecases import auditing

    render.print_json(auditing.prove_inclusion(ctx.obj, record, version))


def prove_consistency(
    ctx: typer.Context,
    size1: Annotated[int, typer.Argument(metavar="M", help="Earlier tree size M.")],
    size2: Annotated[
        int | None, typer.Argument(metavar="N", help="Later tree size N (default: now).")
    ] = None,
) -> None:
    """Consistency proof between tree sizes M and N (JSON)."""
    from incident_ledger.usecases import auditing

    render.print_json(auditing.prove_consistency(ctx.obj, size1, size2))
