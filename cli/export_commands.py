"""``ledger export`` and ``ledger restore``: the audit exports, and a ledger rebuilt from
its JSONL bundle."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from incident_ledger.cli import render
from incident_ledger.cli.desk_commands import signing_key_said
from incident_ledger.cli.failures import fail, flag_words
from incident_ledger.cli.params import FormatOption, IncidentFilter, JsonFlag, KnownBy

WithEvidence = Annotated[
    bool,
    typer.Option(
        "--with-evidence",
        help="jsonl: put the captured files in the bundle (evidence/<sha256>).",
    ),
]
ReviewedOnlyFlag = Annotated[
    bool,
    typer.Option(
        "--reviewed-only",
        help="Count a reporter's proposals only once approved (the default when the "
        "ledger requires review). Not for jsonl.",
    ),
]
WithProposals = Annotated[
    bool,
    typer.Option("--with-proposals", help="Show a reporter's proposals too. Not for jsonl."),
]


# Over 60 lines: typer reads the command's options from its signature, half of it.
def export(
    ctx: typer.Context,
    fmt: FormatOption,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", metavar="PATH", help="Output file (a folder for jsonl); default stdout."
        ),
    ] = None,
    incident: IncidentFilter = None,
    at: KnownBy = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Fail (exit 1) when any item would be rejected by its platform."
        ),
    ] = False,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            metavar="URI",
            help="PROV: the records' namespace (default urn:incident-ledger:<store id>:).",
        ),
    ] = None,
    with_evidence: WithEvidence = False,
    reviewed_only: ReviewedOnlyFlag = False,
    with_proposals: WithProposals = False,
    as_json: JsonFlag = False,
) -> None:
    """Audit exports; each carries a fresh checkpoint, signed with the ledger's own key."""
    from incident_ledger.usecases import auditing

    if as_json and out is None:  # the export itself goes to stdout: no room for a summary
        fail("--json prints what was written: give --out PATH (without it, the export "
             "itself is printed)", 2)  # fmt: skip
    with render.working(f"exporting {fmt}", as_json=as_json or out is None):
        result = auditing.export(
            ctx.obj,
            fmt,
            out=out,
            incident=incident,
            at=at,
            strict=strict,
            namespace=namespace,
            to=render.raw,
            with_evidence=with_evidence,
            reviewed_only=_reviewed(reviewed_only, with_proposals),
        )
    _print_notes(result)
    if "document" in result:
        render.raw(result["document"])
    elif "path" not in result:
        pass  # written to stdout as it was read (``to``)
    elif as_json:
        render.print_json(result)
    elif fmt == "jsonl":
        files = f" and {result['evidence']} captured file(s)" if "evidence" in result else ""
        render.out.print(f"wrote {result['entries']} entries{files} to {result['path']}/")
    else:
        render.out.print(f"wrote {result['bytes']} bytes to {result['path']}")


def restore(
    ctx: typer.Context,
    bundle: Annotated[
        str,
        typer.Argument(metavar="BUNDLE", help="A folder written by export --format jsonl."),
    ],
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="KEY", help="Verifier key (text or file) to check it with."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild a ledger from a verified JSONL bundle, every event as it was recorded.

    The new ledger's signing key is chosen as init's (--key FILE before the command, or
    LEDGER_KEY, else the one at the ledger's place, else a new one); restore signs its
    first checkpoint with it."""
    from incident_ledger.ledger.evidence import CaptureCount
    from incident_ledger.usecases.restoring import restore as restore_bundle

    with render.progress_bar("restoring", as_json=as_json) as progress:
        result = restore_bundle(bundle, ctx.obj, key, progress)
    if as_json:
        render.print_json(result)
    else:
        render.out.print(
            f"restored {result['events']} events into {result['ledger']}"
            + (f"; {CaptureCount.from_json(result).words()}" if result["captures"] else "")
        )
        signing_key_said(
            result["key_path"], result["verifier_key"], result["created_key"], result["copied_from"]
        )
        signed = result["checkpoint"]
        render.out.print(
            f"checkpoint signed: {signed['size']} entries, root {signed['root']} "
            f"({signed['origin']})"
        )


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``restore`` to the ``ledger`` command line."""
    app.command("export")(export)
    app.command("restore")(restore)


def _reviewed(reviewed_only: bool, with_proposals: bool) -> bool | None:
    """The choice of view the flags make (None: the ledger's default); both: bad input."""
    if reviewed_only and with_proposals:
        fail("give one of --reviewed-only or --with-proposals", 2)
    return True if reviewed_only else False if with_proposals else None


def _print_notes(result: dict[str, Any]) -> None:
    """Print the export's notes on stderr, each suggested flag named as the errors name
    theirs (``{argument}``, ``cli.failures``); the result keeps them so worded."""
    result["notes"] = [flag_words(line) for line in result.get("notes", [])]
    for line in result["notes"]:
        render.err.print(f"note: {line}", soft_wrap=True)
