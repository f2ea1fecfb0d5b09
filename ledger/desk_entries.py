"""What the desk says about records: errata, reviews and notes, as events.

Each names its target by aggregate id (``claim:c1``, ``retraction:x1`` …) and,
when the target concerns a claim, that claim (``claim``) — so that the event
concerns the claim's incident by the one rule of ``incident_chains.concerned``
— or, for an incident, the incident itself (``incident``).

An erratum's id is its target's: a record is entered in error once, and two
members fixing the same record at once collide in the event store.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from incident_ledger.ledger.desk_domain import Erratum, Note, Review
from incident_ledger.ledger.errors import BadInputError, NotFoundError, not_permitted
from incident_ledger.ledger.evidence import Capture, FileDigest
from incident_ledger.ledger.stores.recorder import LogView

TARGET_KINDS = ("claim", "retraction", "assessment", "report", "source", "incident")
"""The kinds of record the desk can fix, review or annotate (a correction is a claim)."""


@dataclass(frozen=True)
class Target:
    """A record the desk speaks about."""

    aggregate_id: str
    claim: str | None
    """The claim it concerns: itself, or the claim a retraction or assessment names."""
    incident: str | None

    @property
    def kind(self) -> str:
        """Its kind: claim (corrections too), retraction, assessment, report …"""
        return self.aggregate_id.split(":", 1)[0]

    @property
    def record_id(self) -> str:
        """The user's id of the record."""
        return self.aggregate_id.split(":", 1)[1]


def find_target(ledger: Any, view: LogView, text: str) -> Target:
    """The record ``text`` names: ``kind:id``, or an id that one kind of record has."""
    kind, _, record_id = text.partition(":")
    if record_id and kind in TARGET_KINDS:
        candidates = [text]
    else:
        candidates = [f"{kind}:{text}" for kind in TARGET_KINDS]
    found = sorted(view.existing(candidates), key=candidates.index)
    if not found:
        raise NotFoundError(f"no record '{text}' in the ledger")
    if len(found) > 1:
        named = " and ".join(f"'{name}'" for name in found)
        raise BadInputError(f"'{text}' names {named}: say which, as kind:id")
    aggregate_id = found[0]
    kind = aggregate_id.split(":", 1)[0]
    if kind == "incident":
        return Target(aggregate_id, None, aggregate_id.split(":", 1)[1])
    if kind == "claim":
        return Target(aggregate_id, aggregate_id.split(":", 1)[1], None)
    if kind in ("retraction", "assessment"):
        record = ledger.load(view, aggregate_id).record
        return Target(aggregate_id, record.claim, None)
    return Target(aggregate_id, None, None)


def erratum_event(ledger: Any, target: Target, reason: str, replaced_by: str | None) -> Any:
    """The event that records ``target`` as entered in error (once per record)."""
    if not reason.strip():
        raise BadInputError("reason: say what was entered wrong")
    return _entry(
        ledger, Erratum, target.aggregate_id, target, reason=reason.strip(), replaced_by=replaced_by
    )


def check_erratum_author(ledger: Any, view: LogView, actor: Any, target: Target) -> None:
    """The two-person rule for errata: with review required, a reporter's erratum voids
    only the reporter's own proposal still waiting for review (a typo they caught before
    an editor did). Anything else it would void — a record an editor approved, one
    someone else entered, a report, source or incident with all it holds — is refused:
    an editor records that erratum."""
    from incident_ledger.ledger.batch_check import batch_of
    from incident_ledger.ledger.batch_signing import require_member, review_required, with_article
    from incident_ledger.ledger.desk_domain import Member
    from incident_ledger.ledger.desk_roles import Role

    if not review_required(ledger, view):
        return
    action = f"record an erratum of '{target.aggregate_id}'"
    member_id = require_member(ledger, view, actor, Role.REPORTER, action)
    if ledger.load(view, Member.aggregate_id(member_id)).member.role != Role.REPORTER:
        return
    then = "ask an editor of the desk to record it"
    if target.kind not in REVIEWED_KINDS:
        why = f"it is {with_article(target.kind)}, whose erratum voids every record it holds"
    else:
        batch = batch_of(ledger, view, view.leaf_index(target.aggregate_id, 1))
        reviewed = ledger.load(view, Review.aggregate_id(target.aggregate_id))
        if batch is None or batch.member != member_id or not batch.proposed:
            by = "before the desk" if batch is None else f"by {batch.member}"
            why = f"it was entered {by}, not proposed by {member_id}"
        elif reviewed is not None:  # approved, or rejected: no longer waiting
            verdict = "approved" if reviewed.verdict == "approve" else "rejected"
            review = batch_of(ledger, view, view.leaf_index(reviewed.id, 1))
            why = f"it was {verdict}" + ("" if review is None else f" by {review.member}")
            if verdict == "rejected":  # already voided: an erratum would only relabel it
                then = "nothing to fix: a rejected record already counts nowhere"
        else:
            return
    raise not_permitted(
        f"member '{member_id}'",
        action,
        f"{why}, and with review required a reporter's erratum voids only their own "
        "proposal waiting for review",
        then,
    )


def note_event(ledger: Any, target: Target, text: str) -> Any:
    """The event that attaches a desk note to ``target``."""
    if not text.strip():
        raise BadInputError("text: a note needs text")
    entry_id = f"{target.aggregate_id}:{secrets.token_hex(6)}"
    return _entry(ledger, Note, entry_id, target, text=text.strip())


def review_event(ledger: Any, target: Target, verdict: str, note: str | None) -> Any:
    """The event that approves or rejects ``target`` (once per record)."""
    return _entry(ledger, Review, target.aggregate_id, target, verdict=verdict, note=note)


def capture_event(ledger: Any, target: Target, found: FileDigest, name: str) -> Any:
    """The event that records a captured copy of the report ``target`` (its bytes are
    stored by ``evidence.EvidenceChunks`` in the same transaction)."""
    entry_id = f"{target.record_id}/{found.sha256}"
    return _entry(
        ledger,
        Capture,
        entry_id,
        target,
        sha256=found.sha256,
        media_type=found.media_type,
        size=found.size,
        name=name,
    )


def _entry(ledger: Any, aggregate: Any, entry_id: str, target: Target, **fields: Any) -> Any:
    event_class = aggregate.Recorded
    return event_class(
        originator_id=aggregate.aggregate_id(entry_id),
        originator_version=aggregate.INITIAL_VERSION,
        timestamp=ledger.clock(),
        originator_topic=event_class.aggregate_topic,
        record=target.aggregate_id,
        claim=target.claim,
        incident=target.incident,
        **fields,
    )


REVIEWED_KINDS = ("claim", "retraction", "assessment")
"""The kinds of record a reporter's batch proposes, when review is required."""


def setting_event(ledger: Any, name: str, value: str) -> Any:
    """The event that chooses a ledger setting (once)."""
    from incident_ledger.ledger.desk_domain import Setting

    return Setting.Chosen(
        originator_id=Setting.aggregate_id(name),
        originator_version=Setting.INITIAL_VERSION,
        timestamp=ledger.clock(),
        originator_topic=Setting.Chosen.aggregate_topic,
        value=value,
    )
