"""A desk for the property tests, in process: alice (admin, the ledger's key), bob
(reporter) and eve (editor), with review required; who acts is ``ledger.actor``."""

from __future__ import annotations

from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.batch_signing import Actor
from incident_ledger.ledger.desk_domain import Review
from incident_ledger.ledger.desk_entries import find_target, review_event
from incident_ledger.ledger.member_record import MemberRecord
from incident_ledger.ledger.signednote import generate_signer
from incident_ledger.usecases.desk_admin import _registration, choose_review, register_first_admin


def actor(name: str, *, ledgers_own: bool = False) -> Actor:
    signer, verifier = generate_signer(name)
    return Actor(signer, verifier, holds_ledger_key=ledgers_own)


class Desk:
    """The three members' actors, registered on ``ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.alice = actor("alice", ledgers_own=True)
        self.bob, self.eve = actor("bob"), actor("eve")
        register_first_admin(ledger, "alice", self.alice)
        choose_review(ledger, "required")
        with ledger.writing("members") as appender:
            for member_id, role, who in (
                ("bob", "reporter", self.bob),
                ("eve", "editor", self.eve),
            ):
                record = MemberRecord.model_validate(
                    {"id": member_id, "name": member_id, "role": role, "public_key": who.verifier}
                )
                ledger.append_events(appender, [_registration(ledger, record)])

    def review(self, target: str, verdict: str) -> bool:
        """eve reviews ``target`` (once: False if it already is reviewed)."""
        ledger, acting = self.ledger, self.ledger.actor
        ledger.actor = self.eve
        try:
            with ledger.writing("review") as appender:
                if appender.view.existing([Review.aggregate_id(target)]):
                    return False
                found = find_target(ledger, appender.view, target)
                ledger.append_events(appender, [review_event(ledger, found, verdict, None)])
        finally:
            ledger.actor = acting
        return True


def proposal_ops(size: int) -> Any:
    """Hypothesis operations of the desk: who enters the next records, and reviews."""
    from hypothesis import strategies as st

    return (
        st.tuples(st.just("as"), st.sampled_from(["alice", "bob"])),
        st.tuples(st.just("review"), st.integers(0, size), st.sampled_from(["approve", "reject"])),
    )
