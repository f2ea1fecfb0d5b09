"""The command line's shared options and arguments, each defined once.

A command names its parameters with these aliases (``as_json: JsonFlag = False``), so
an option reads the same, with the same help, wherever it appears. An option only one
command takes stays with that command.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

from incident_ledger.ledger.record_names import RECORD_TYPES, Reliability
from incident_ledger.ledger.values import Qualifier
from incident_ledger.usecases.choices import (
    ExportFormat,
    Policy,
    parse_format,
    parse_grade,
    parse_policy,
)

__all__ = ["ExportFormat", "Policy", "Qualifier", "Reliability"]  # the closed choices' Enums

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]

# --- what a reading command asks about -------------------------------------------------

IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="Incident id.")]
IncidentFilter = Annotated[
    str | None, typer.Option("--incident", metavar="INCIDENT", help="Only this incident.")
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="DATE",
        help="Known time: a date (the end of that day in the incident's time zone) "
        "or a date-time with an offset; default now.",
    ),
]
TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        metavar="ZONE",
        help="Show instants in this IANA time zone (default: the incident's own, else UTC).",
    ),
]
AsRecorded = Annotated[
    str | None,
    typer.Option(
        "--as-recorded",
        metavar="DATE",
        help="What the ledger showed at this time (date or date-time).",
    ),
]


def _choice(flag: str, help: str, choices: Iterable[str], parse: Callable[[str], Any]) -> Any:
    """A closed choice's option: the use case parses it (``parse``), so a bad value gets
    the ledger's message, and the help lists ``choices``."""
    return typer.Option(flag, help=help, parser=parse, metavar="[" + "|".join(choices) + "]")


PolicyOption = Annotated[
    Policy,
    _choice(
        "--policy",
        "How a fact's value is chosen from its claimants' positions.",
        Policy,
        parse_policy,
    ),
]
RecordTypeOption = Annotated[
    str | None,
    # The import checks the type (it names it in its messages): the option lists them.
    _choice(
        "--type",
        "A CSV file's record type, for rows without a type column or cell.",
        RECORD_TYPES,
        str,
    ),
]
RecordTypeArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[TYPE]",
        help="Only this record type's fields (no type column): one of "
        + ", ".join(RECORD_TYPES)
        + ".",
    ),
]
KnownBy = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="DATE",
        help="Only what was known by then (a date: its end in the incident's zone, in UTC "
        "without --incident); jsonl ignores it: a bundle holds every event, to check that "
        "none was left out.",
    ),
]
"""An export's ``--at``: a date ends in the incident's zone, as a reading command's does,
and in UTC for an export of every incident."""
FormatOption = Annotated[
    ExportFormat,
    _choice(
        "--format",
        "jsonl (verifiable bundle), csv, xlsx, prov, claimreview, html.",
        ExportFormat,
        parse_format,
    ),
]

# --- the fields of a record given as flags (append claim, correct, retract) -------------

Id = Annotated[str, typer.Option("--id", metavar="ID", help="Your id for this record.")]
IncidentOption = Annotated[str, typer.Option("--incident", metavar="INCIDENT", help="Incident id.")]
Fact = Annotated[
    str,
    typer.Option("--fact", metavar="FACT", help="Dotted fact key, e.g. killed.security_forces."),
]
Value = Annotated[
    str,
    typer.Option(
        "--value",
        metavar="VALUE",
        help=(
            "Read as the same value in an import line: a number (digits ASCII or "
            'Arabic-Indic, e.g. 20 or ٢٠), a range {"min":a,"max":b}, true/false, a JSON '
            "string in double quotes ('\"2022\"'), or else text, where text that starts "
            "with a digit, [, { or .. must be an EDTF date (2022-01-21). A count refuses -5 "
            "and 20.5 (a quantity takes decimals); refused with a hint: 1,000 (write 1000), "
            "about 20 (write 20 and --qualifier approx), 0000."
        ),
    ),
]
Report = Annotated[
    str, typer.Option("--report", metavar="REPORT", help="Report id the claim appeared in.")
]
QualifierOption = Annotated[
    str | None,
    typer.Option(
        "--qualifier",
        # The choices are the Enum's; a record made from flags is checked by the import's
        # rules, which name them too.
        metavar="[" + "|".join(Qualifier) + "]",
        help="How the number relates to the truth.",
    ),
]
GradeArg = Annotated[
    Reliability,
    typer.Argument(
        metavar="[" + "|".join(Reliability) + "]",
        help="Admiralty reliability grade, A (best) to F; a lower-case letter is read alike.",
        parser=parse_grade,
    ),
]
Unit = Annotated[str | None, typer.Option("--unit", metavar="UNIT", help="Unit, e.g. people.")]
ValidTime = Annotated[
    str | None, typer.Option("--valid-time", metavar="EDTF", help="EDTF: when it held.")
]
Claimant = Annotated[
    str | None,
    typer.Option(
        "--claimant", metavar="SOURCE", help="Source id of who asserted it (default: outlet)."
    ),
]
Via = Annotated[
    list[str] | None, typer.Option("--via", metavar="SOURCE", help="Relay source id (repeatable).")
]
Quote = Annotated[str | None, typer.Option("--quote", metavar="TEXT", help="The original words.")]
Translation = Annotated[
    str | None, typer.Option("--translation", metavar="TEXT", help="English translation.")
]
Credibility = Annotated[
    int | None, typer.Option("--credibility", metavar="1-6", help="Admiralty 1–6.")
]
Note = Annotated[str | None, typer.Option("--note", metavar="TEXT", help="Free-text note.")]


FIELD_OPTIONS: dict[str, tuple[str | None, str]] = {
    name: (typing.get_args(alias)[1].metavar, typing.get_args(alias)[1].help)
    for name, alias in {
        "id": Id, "incident": IncidentOption, "fact": Fact, "value": Value, "report": Report,
        "qualifier": QualifierOption, "unit": Unit, "valid_time": ValidTime, "claimant": Claimant,
        "via": Via, "quote": Quote, "translation": Translation, "credibility": Credibility,
        "note": Note,
    }.items()
} | {
    "change_fact": (None, "The correction moves the claim to another fact (refused without it)."),
    "cumulative": (None, "A total that can only grow, such as a toll (or not)."),
}  # fmt: skip
"""The flag (metavar, help) of a record field wherever a command takes it as a flag
(``add_commands``): the options above, and a few fields' own words."""


def show_version(value: bool) -> None:
    """``ledger --version``: print the installed version and stop."""
    if value:
        from importlib.metadata import version

        typer.echo(f"ledger {version('incident-ledger')}")
        raise typer.Exit()


VersionFlag = Annotated[
    bool,
    typer.Option(
        "--version", "-V", callback=show_version, is_eager=True, help="Show the version and exit."
    ),
]

# --- the desk ----------------------------------------------------------------------------

RecordArg = Annotated[
    str,
    typer.Argument(
        metavar="RECORD",
        help="The record: its id, or kind:id when two kinds share it (claim:c1, report:r1).",
    ),
]

ReviewedOnly = Annotated[
    bool,
    typer.Option(
        "--reviewed-only",
        help="Count a reporter's proposals only once an editor approved them.",
    ),
]
