"""The desk on the write side: its members, and the signed batches they append.

A ``member`` record registers a desk member (``Member.Registered``); an admin's
removal adds ``Member.Removed``. Every write transaction ends with one
``Batch.Signed`` event: the batch's first and last leaf index, the RFC 9162
root of its leaves' hashes, and the acting member's Ed25519 signature over
them (a C2SP signed note whose text is ``batch_text``). The signature event
is the leaf right after the batch, so the signed batches and the events they
sign tile the log from the desk's first batch on; events before it were
recorded before the desk.

These event classes live here rather than in ``domain`` (which holds the
records' events) because they say who wrote, not what was reported.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incident_ledger.ledger.domain import TOPIC_PREFIX, LedgerAggregate, LedgerCreated
from incident_ledger.ledger.leaves import ENVELOPE

BATCH_TEXT_HEADER = "incident-ledger/batch"


class Member(LedgerAggregate):
    """A desk member, from registration to removal."""

    TOPIC = TOPIC_PREFIX + "Member"
    kind = "member"
    if TYPE_CHECKING:
        member: Any  # the ``MemberRecord`` it was registered with
        removed: bool
        removed_at: datetime | None

    class Registered(LedgerAggregate.Event, LedgerCreated):
        TOPIC = TOPIC_PREFIX + "Member.Registered"
        name: str
        role: str
        public_key: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.member = self.to_record()
            aggregate.removed = False
            aggregate.removed_at = None

        def to_record(self) -> Any:
            """The member record this event registered."""
            from incident_ledger.ledger.member_record import MemberRecord

            fields = {k: v for k, v in vars(self).items() if k not in ENVELOPE}
            member_id = self.originator_id.split(":", 1)[1]
            return MemberRecord.model_validate({"id": member_id, **fields})

    class Removed(LedgerAggregate.Event):
        TOPIC = TOPIC_PREFIX + "Member.Removed"

        def apply(self, aggregate: Any) -> None:
            aggregate.removed = True
            aggregate.removed_at = self.timestamp

    def remove(self, at: datetime) -> None:
        """Remove the member from the desk: from now on their key writes nothing."""
        self.trigger_event(self.Removed, timestamp=at)


class Batch(LedgerAggregate):
    """One write transaction's events, signed by the member who wrote them."""

    TOPIC = TOPIC_PREFIX + "Batch"
    kind = "batch"

    class Signed(LedgerAggregate.Event, LedgerCreated):
        TOPIC = TOPIC_PREFIX + "Batch.Signed"
        member: str
        first: int
        last: int
        root: str
        signature: str
        proposed: bool | None
        """True when review is required and the member is a reporter: the batch's claims,
        corrections, retractions and assessments wait for an editor's review."""


class Setting(LedgerAggregate):
    """A setting of the ledger, such as whether a reporter's records need review."""

    TOPIC = TOPIC_PREFIX + "Setting"
    kind = "setting"

    class Chosen(LedgerAggregate.Event, LedgerCreated):
        """The setting's value (chosen once, when the ledger is created)."""

        TOPIC = TOPIC_PREFIX + "Setting.Chosen"
        value: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.value = self.value


REVIEW_SETTING = "review"
"""The setting that turns on the two-person rule: ``required`` or ``off``."""


class DeskEntry(LedgerCreated):
    """What the desk says about a record (``record``: its aggregate id, such as
    ``claim:c1``): ``claim`` names the claim it concerns (the record itself, or the claim
    a retraction or assessment is about), so that it joins that claim's incident."""

    record: str
    claim: str | None
    incident: str | None

    def apply(self, aggregate: Any) -> None:
        """The entry's aggregate holds no record of the user's; it keeps the fields its
        kind of entry adds (an erratum's ``reason`` and ``replaced_by``, a review's
        ``verdict`` …) as its own."""
        super().apply(aggregate)
        shared = {field.name for field in fields(DeskEntry)}
        for field in fields(self):
            if field.name not in shared:
                setattr(aggregate, field.name, getattr(self, field.name))


class Erratum(LedgerAggregate):
    """The desk's statement that it entered a record by mistake."""

    TOPIC = TOPIC_PREFIX + "Erratum"
    kind = "erratum"

    class Recorded(LedgerAggregate.Event, DeskEntry):
        TOPIC = TOPIC_PREFIX + "Erratum.Recorded"
        reason: str
        replaced_by: str | None

    class Linked(LedgerAggregate.Event):
        """The right record, entered after the erratum, linked to it (once): a claim
        ended by a record entered in error is ended again only once that erratum is
        recorded, so its right record cannot come first."""

        TOPIC = TOPIC_PREFIX + "Erratum.Linked"
        replaced_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.replaced_by = self.replaced_by

    def link(self, replaced_by: str, at: datetime) -> None:
        """Link the right record to this erratum."""
        self.trigger_event(self.Linked, replaced_by=replaced_by, timestamp=at)


class Review(LedgerAggregate):
    """An editor's approval or rejection of a reporter's proposed record."""

    TOPIC = TOPIC_PREFIX + "Review"
    kind = "review"

    class Recorded(LedgerAggregate.Event, DeskEntry):
        TOPIC = TOPIC_PREFIX + "Review.Recorded"
        verdict: str
        note: str | None


class Note(LedgerAggregate):
    """A desk note on any record: never a claim."""

    TOPIC = TOPIC_PREFIX + "Note"
    kind = "note"

    class Recorded(LedgerAggregate.Event, DeskEntry):
        TOPIC = TOPIC_PREFIX + "Note.Recorded"
        text: str
