"""The rule that a claim is ended once: by one retraction or one correction, never both.

A claim's ends are the ``Claim.Superseded`` and ``Claim.Retracted`` events on its
aggregate (``End``). An end the desk voided — its retraction or correction recorded as
an entry error, or a rejected proposal — ends nothing: the claim may be ended again.
An end still waiting for review blocks another end until an editor rejects it (a
rejection frees the claim; an approval keeps it ended). What ended a claim already in
the ledger when the writer began is bad input; one recorded while the writer waited for
the store (another member got there first) is a conflict naming the winner.

The aggregate knows its ends; whether one is voided, proposed or raced is the store's
to say (``Standing``, given by the import's checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from incident_ledger.ledger.errors import BadInputError, ConflictError
from incident_ledger.ledger.leaves import recorded_key

CORRECTED, RETRACTED = "corrected", "retracted"


@dataclass(frozen=True)
class End:
    """One end of a claim: how, by which record (its id), when, and the claim's version."""

    how: str
    by: str
    at: datetime
    version: int

    @property
    def record(self) -> str:
        """The aggregate id of the record that ended the claim."""
        return ("claim:" if self.how == CORRECTED else "retraction:") + self.by

    @property
    def noun(self) -> str:
        """``correction`` or ``retraction``."""
        return "correction" if self.how == CORRECTED else "retraction"


@dataclass(frozen=True)
class Standing:
    """What the store says of an end: voided ends nothing; proposed waits for review."""

    voided: bool = False
    proposed: bool = False
    member: str | None = None
    """Who recorded it (None: recorded before the desk)."""
    raced: bool = False
    """Recorded after the writer now ending the claim began: it lost a race."""


def refuse_second_end(
    claim_id: str,
    ends: Sequence[End],
    how: str,
    standing: Callable[[End], Standing],
) -> None:
    """Raise if a claim with these ends may not be ended ``how`` (``CORRECTED`` or
    ``RETRACTED``): bad input when what ended it was in the ledger when the writer
    began, a conflict when it was recorded since."""
    for end in reversed(ends):
        found = standing(end)
        if found.voided:
            continue
        when = f" (recorded {recorded_key(end.at)}" + (
            f" by {found.member})" if found.member else ")"
        )
        if found.proposed:
            said = (
                f"claim '{claim_id}' has a proposed {end.noun} '{end.by}'{when} waiting for "
                "review: it is ended again only if an editor rejects it"
            )
        elif end.how == CORRECTED:
            again = "already " if how == CORRECTED else ""
            verb = "correct" if how == CORRECTED else "retract"
            said = (
                f"claim '{claim_id}' was {again}corrected by '{end.by}'{when}; "
                f"{verb} '{end.by}' instead"
            )
        elif how == RETRACTED:
            said = f"claim '{claim_id}' was already retracted by '{end.by}'{when}"
        else:
            said = (
                f"claim '{claim_id}' was retracted by '{end.by}'{when}: a retracted claim is "
                "not corrected"
            )
        if found.raced:
            raise ConflictError(said)
        raise BadInputError(f"claim: {said}")
