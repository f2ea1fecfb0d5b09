"""What the reading commands share: the question they put and the way they answer.

``state``, ``history`` and ``diff`` ask one incident of one ledger, as the ledger stood
at a recorded time (``--as-recorded``), counting a reporter's proposals before or only
after approval (``--reviewed-only``); each adds its own terms (``--at``, a fact, two
known times). ``Question`` carries the shared part once and puts it to the use case.
Those commands and ``timeline`` answer in JSON (``--json``) or in words and tables in
a time zone (``--tz``, else the incident's own): ``answer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from incident_ledger.cli import render

R = TypeVar("R", bound=Mapping[str, Any])
P = ParamSpec("P")


@dataclass(frozen=True)
class Question:
    """The ledger (``db``), the incident, and how the ledger is read: as recorded by
    ``as_recorded`` (None: as it stands), proposals counted only once approved or not."""

    db: str | None
    incident: str
    as_recorded: str | None = None
    reviewed_only: bool = False

    def put(
        self,
        use_case: Callable[Concatenate[str | None, str, P], R],
        /,
        *terms: P.args,
        **options: P.kwargs,
    ) -> R:
        """``use_case(db, incident, *terms, **options)`` read as this question says: the
        caller's terms are checked against the use case's own parameters."""
        call: Callable[..., R] = use_case  # the shared keywords are added to the caller's
        return call(
            self.db,
            self.incident,
            *terms,
            as_recorded=self.as_recorded,
            reviewed_only=self.reviewed_only,
            **options,
        )


def answer(
    result: R,
    *,
    as_json: bool,
    tz: str | None,
    show: Callable[[R, str | None], None],
    json: Callable[[R], None] = render.print_json,
) -> None:
    """``json(result)`` for machines, else ``show(result, zone)`` for people, in ``--tz``
    (checked) or else the incident's own zone."""
    if as_json:
        json(result)
    else:
        show(result, render.display_zone(result, tz))
