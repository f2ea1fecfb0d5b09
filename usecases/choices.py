"""The closed choices the use cases take (a policy, an export format, a grade), each with
the parser that reads one and names them all in its bad input, and the defaults a
command line shows (where ``serve`` listens).

Light to load: the command line declares its options with them before it knows which
command runs, so this module loads no use case, store or projection.
"""

from __future__ import annotations

from enum import StrEnum

from incident_ledger.ledger.errors import BadInputError, one_of
from incident_ledger.ledger.record_names import Reliability
from incident_ledger.projections.policies import Policy

__all__ = ["ExportFormat", "Policy", "Reliability", "parse_format", "parse_grade", "parse_policy"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
"""Where ``serve`` listens unless told."""


class ExportFormat(StrEnum):
    """The formats ``export`` writes."""

    JSONL = "jsonl"
    CSV = "csv"
    XLSX = "xlsx"
    PROV = "prov"
    CLAIMREVIEW = "claimreview"
    HTML = "html"


EXPORT_FORMATS = tuple(fmt.value for fmt in ExportFormat)


def parse_format(fmt: ExportFormat | str) -> ExportFormat:
    """An export format by its name; bad input naming the formats when there is none."""
    return one_of(ExportFormat, fmt, "fmt")


def parse_policy(policy: Policy | str) -> Policy:
    """A policy by its name; bad input naming the policies when there is none."""
    return one_of(Policy, policy, "policy")


def parse_grade(grade: Reliability | str) -> Reliability:
    """An Admiralty reliability grade, A to F, in either case; bad input otherwise."""
    try:
        return Reliability(str(grade).strip().upper())
    except ValueError:
        raise BadInputError("the grade must be an Admiralty letter A to F") from None
