"""A claim nothing has ended yet, taken from its creation's fields, without its aggregate.

Ending a claim (``rules.Checks.correct`` and ``Checks.retract``) needs the claim's id,
incident, fact and report, and its ends. A claim whose only stored event is its creation
(most often one this import recorded a page earlier), or one this input creates that the
store does not hold yet, has no end: no end can refuse a first one
(``claim_ends.refuse_second_end`` of no ends), and the end is its version 2. Such a claim
is read from its creation's fields (``Unended``) instead of rebuilding its aggregate,
which validated its record again through its model for every claim an import ended; a
claim with more events is loaded as an aggregate, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent

from incident_ledger.ledger.claim_ends import CORRECTED, RETRACTED, End, Standing, refuse_second_end
from incident_ledger.ledger.domain import Claim

_CREATIONS = frozenset({Claim.Recorded.TOPIC, Claim.RecordedAsCorrection.TOPIC})


@dataclass(frozen=True)
class ClaimFields:
    """What ending a claim reads of its record."""

    id: str
    incident: str | None
    fact: str | None
    report: str | None


class Unended:
    """A claim with no end yet, as the rules of ending it see it (``Claim``'s ``id``,
    ``record``, ``ends``, ``supersede``, ``retract`` and ``collect_events``)."""

    def __init__(self, aggregate_id: str, fields: dict[str, Any]) -> None:
        self.id = aggregate_id
        self.record = ClaimFields(
            aggregate_id.split(":", 1)[1],
            fields.get("incident"),
            fields.get("fact"),
            fields.get("report"),
        )
        self.ends: list[End] = []
        self._pending: list[Any] = []

    def supersede(
        self, correction_id: str, timestamp: datetime, standing: Callable[[End], Standing]
    ) -> None:
        """``Claim.supersede`` of a claim with no end."""
        self._end(CORRECTED, Claim.Superseded, correction_id, timestamp, standing)

    def retract(
        self, retraction_id: str, timestamp: datetime, standing: Callable[[End], Standing]
    ) -> None:
        """``Claim.retract`` of a claim with no end."""
        self._end(RETRACTED, Claim.Retracted, retraction_id, timestamp, standing)

    def _end(
        self,
        how: str,
        event: type[Claim.Superseded | Claim.Retracted],
        by: str,
        timestamp: datetime,
        standing: Callable[[End], Standing],
    ) -> None:
        refuse_second_end(self.record.id, self.ends, how, standing)
        version = 2 + len(self.ends)
        self._pending.append(
            event(originator_id=self.id, originator_version=version, timestamp=timestamp, by=by)
        )
        self.ends.append(End(how, by, timestamp, version))

    def collect_events(self) -> list[Any]:
        """The end events made so far (once)."""
        pending, self._pending = self._pending, []
        return pending


def unended(
    aggregate_id: str, stored: Sequence[StoredEvent], plain: Callable[[bytes], bytes]
) -> Unended | None:
    """The claim these stored events make if its creation is all there is, else None."""
    if len(stored) != 1:
        return None
    creation = stored[0]
    if creation.originator_version != 1 or creation.topic not in _CREATIONS:
        return None
    data = orjson.loads(plain(creation.state))["data"]
    return Unended(aggregate_id, data)
