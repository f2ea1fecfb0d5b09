"""One record from flags: ``ledger add incident | source | report | fact | assessment``,
``ledger append claim`` and ``ledger correct``; and ``ledger template csv``.

The flags are made from the record models (``text_fields.field_forms``): a field added to
a record type is a flag of its command by itself, named as the import names it
(``published_at`` is ``--published-at``). These commands are made only when asked for
(``LedgerGroup.lazy``), since the models take a while to load and no other command
needs them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer

from incident_ledger.cli import render
from incident_ledger.cli.failures import LedgerCommand, LedgerGroup
from incident_ledger.cli.params import FIELD_OPTIONS, JsonFlag, RecordTypeArg

if TYPE_CHECKING:
    from incident_ledger.ledger.imports.text_fields import FieldForm

ADD_TYPES = ("incident", "source", "report", "fact", "assessment")
"""The record types ``add`` takes; claims, corrections and retractions have their own
commands (``append claim``, ``correct``, ``retract``)."""

FIXING = (
    "A record is never edited: to fix one, record an erratum ('ledger erratum RECORD "
    "--reason …'), add the right record under a new id, then link them ('ledger erratum "
    "RECORD --replaced-by NEW'). A fact is fixed by declaring it again."
)

_METAVARS = {"published_at": "DATE|DATETIME", "by": "NAME", "language": "LANG", "timezone": "ZONE"}
"""A flag's placeholder where the field's name does not say its format."""

_FORM_HELP = {
    "whole": ", a whole number",
    "ids": ": an id (repeat the flag for several)",
    "json": ", in JSON as in an import line",
    "value": ", read as --value of 'append claim' reads it",
    "text": "",
}


def record_command(kind: str, name: str, help: str, short_help: str) -> Any:
    """The command that records one ``kind`` record from flags, a flag per field."""
    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.command(name, cls=LedgerCommand, help=help, short_help=short_help)(_command(kind))
    return typer.main.get_command(single)


def add_command(kind: str) -> Any:
    """``ledger add KIND``."""
    return record_command(
        kind,
        kind,
        f"Add one {kind} record given as flags, one per field of the import format "
        "(docs/import-format.md), checked as an import line is. " + FIXING,
        f"Add one {kind} record.",
    )


class AddGroup(LedgerGroup):
    """The ``add`` group: one command per record type, made when asked for."""

    lazy: ClassVar[Mapping[str, Callable[[], Any]]] = {
        kind: partial(add_command, kind) for kind in ADD_TYPES
    }


def claim_command() -> Any:
    """``ledger append claim``."""
    return record_command(
        "claim",
        "claim",
        "Append one claim given as flags. " + FIXING,
        "Append one claim given as flags.",
    )


def correct_command() -> Any:
    """``ledger correct``."""
    return record_command(
        "correction",
        "correct",
        "Record a correction: a new claim that replaces an earlier one (the source revised "
        "it; a claim entered wrong is fixed by an erratum). " + FIXING,
        "Record a correction: a new claim that replaces an earlier one.",
    )


add_app = typer.Typer(
    cls=AddGroup,
    help="Add one incident, source, report, fact or assessment from flags. " + FIXING,
    no_args_is_help=True,
    rich_markup_mode=None,
)


def template(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="csv: a spreadsheet's header.")],
    record_type: RecordTypeArg = None,
) -> None:
    """Print an empty import template: the header row of a CSV file for 'append --file'."""
    import csv
    import io

    from incident_ledger.usecases.writing import csv_template

    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(csv_template(fmt, record_type))
    render.raw(text.getvalue())


def register(app: typer.Typer) -> None:
    """Add ``add`` and ``template`` to the ``ledger`` command line."""
    app.add_typer(add_app, name="add")
    app.command()(template)


def _command(kind: str) -> Any:
    """The function typer makes the command of a record type from: a flag per field."""
    from incident_ledger.ledger.imports.text_fields import field_forms

    forms = field_forms(kind)

    def add(ctx: typer.Context, **flags: Any) -> None:
        from incident_ledger.usecases.writing import add_record

        as_json = flags.pop("as_json")
        texts = {form.name: flags[form.name] for form in forms}
        render.report_outcome(add_record(ctx.obj, kind, texts), as_json)

    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    parameters += [
        inspect.Parameter(
            form.name, inspect.Parameter.KEYWORD_ONLY, annotation=_option(kind, form), default=None
        )
        for form in forms
    ]
    parameters.append(
        inspect.Parameter(
            "as_json", inspect.Parameter.KEYWORD_ONLY, annotation=JsonFlag, default=False
        )
    )
    add.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    add.__annotations__ = {p.name: p.annotation for p in parameters}
    return add


def _option(kind: str, form: FieldForm) -> Any:
    """A field's flag: optional for typer, so that a missing required field is named by
    the import's own check, with any other problem of the record. A field with a shared
    option (``params.FIELD_OPTIONS``) takes its flag and help; any other is described by
    its form. A yes-or-no field is a flag and its ``--no-`` form."""
    flag = "--" + form.name.replace("_", "-")
    metavar, shared = FIELD_OPTIONS.get(form.name, (None, None))
    required = "Required. " if form.required else ""
    if form.form == "yes-no":
        help_text = shared or form.description or f"The {kind}'s {form.name} (or not)."
        return Annotated[bool | None, typer.Option(f"{flag}/--no-{flag[2:]}", help=help_text)]
    if metavar is None and form.choices:
        metavar = "[" + "|".join(form.choices) + "]"
    elif metavar is None:
        metavar = "JSON" if form.form == "json" else _METAVARS.get(form.name, form.name.upper())
    described = " ".join(form.description.split()) if form.description else None
    if described and form.form == "ids":
        described += " Repeat the flag for several."
    help_text = required + (
        shared or described or f"The {kind}'s {form.name}{_FORM_HELP[form.form]}."
    )
    given: Any = list[str] | None if form.form == "ids" else str | None
    return Annotated[given, typer.Option(flag, metavar=metavar, help=help_text)]
