"""Names the records use that a command line needs before any record is read: the record
types and the Admiralty grades. Kept apart from ``records``, whose pydantic models cost
a read command a fifth of its start-up to import (``records`` gives them on)."""

from __future__ import annotations

from enum import StrEnum


class Reliability(StrEnum):
    """The Admiralty (NATO) source-reliability grade."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


RECORD_TYPES: tuple[str, ...] = (
    "incident",
    "source",
    "fact",
    "report",
    "claim",
    "correction",
    "retraction",
    "assessment",
)
"""Every record type an import reads, by the name its ``type`` gives."""
