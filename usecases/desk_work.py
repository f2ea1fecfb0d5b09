"""The desk's daily work on records: errata, notes and reviews.

Each is one event written in a batch the acting member signs
(``ledger.desk_entries``), then projected like everything else.
"""

from __future__ import annotations

from typing import Any

from incident_ledger.ledger.batch_check import batch_of
from incident_ledger.ledger.batch_signing import require_member
from incident_ledger.ledger.desk_domain import Erratum, Review
from incident_ledger.ledger.desk_entries import (
    REVIEWED_KINDS,
    Target,
    check_erratum_author,
    erratum_event,
    find_target,
    note_event,
    review_event,
)
from incident_ledger.ledger.desk_roles import Role
from incident_ledger.ledger.errors import BadInputError, not_permitted
from incident_ledger.ledger.leaves import recorded_key
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.usecases.workspace import open_workspace
from incident_ledger.usecases.writing import catch_up_after_writing


def erratum(
    db: str | None, record: str, *, reason: str | None, replaced_by: str | None = None
) -> dict[str, Any]:
    """Record that the desk entered ``record`` by mistake: from now on it counts no more,
    at any known time, and never against its source. ``replaced_by``: the right record,
    entered anew."""
    if record.startswith("fact:"):
        raise BadInputError(
            f"'{record}': a fact's declaration is not entered in error: declare the fact "
            "again as it should be; its latest declaration is the one that counts"
        )
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        with ledger.writing("another member fixed this record at the same time") as appender:
            view = appender.view
            target = find_target(ledger, view, record)
            replacement = None if replaced_by is None else find_target(ledger, view, replaced_by)
            if replacement is not None and replacement.aggregate_id == target.aggregate_id:
                raise BadInputError("replaced_by: a record cannot replace itself")
            shown = None if replacement is None else replacement.aggregate_id
            entry = Erratum.aggregate_id(target.aggregate_id)
            earlier = ledger.load(view, entry)
            if earlier is None:
                check_erratum_author(ledger, view, ledger.actor, target)
                event = erratum_event(ledger, target, reason or "", shown)
            else:
                event = _link(
                    ledger, earlier, target, shown, _entered(ledger, view, entry, earlier)
                )
            ledger.append_events(appender, [event])
        catch_up_after_writing(ws, "the erratum")
    return {
        "record": target.aggregate_id,
        "reason": getattr(earlier, "reason", None)
        if earlier is not None
        else (reason or "").strip(),
        "replaced_by": shown,
        "linked": earlier is not None,
    }


def _link(ledger: Any, earlier: Any, target: Target, replaced_by: str | None, entered: str) -> Any:
    """The event linking the right record to an erratum recorded before it was entered
    (once): the way to link a retraction's or correction's right record, which can only
    be entered once the erratum has freed its claim. ``entered``: when the erratum was
    recorded and by whom, for the refusal of a second one."""
    if replaced_by is None or earlier.replaced_by is not None:
        linked = "" if earlier.replaced_by is None else f", replaced by '{earlier.replaced_by}'"
        raise BadInputError(
            f"'{target.aggregate_id}' is already recorded as an entry error{entered}{linked}"
        )
    earlier.link(replaced_by, ledger.clock())
    return earlier.collect_events()[0]


def _entered(ledger: Any, view: LogView, aggregate_id: str, entry: Any) -> str:
    """`` (recorded 2026-…Z by eve)``: when a desk entry was recorded, and by which member
    (none named for an entry from before the desk)."""
    batch = batch_of(ledger, view, view.leaf_index(aggregate_id, 1))
    by = "" if batch is None else f" by {batch.member}"
    return f" (recorded {recorded_key(entry.created_on)}{by})"


def note(db: str | None, record: str, *, text: str) -> dict[str, Any]:
    """Attach a desk note to any record (never a claim: it counts for nothing)."""
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        with ledger.writing("another writer wrote at the same time") as appender:
            target = find_target(ledger, appender.view, record)
            ledger.append_events(appender, [note_event(ledger, target, text)])
        catch_up_after_writing(ws, "the note")
    return {"record": target.aggregate_id, "text": text.strip()}


def review(db: str | None, record: str, *, approve: bool, note: str | None) -> dict[str, Any]:
    """An editor's approval or rejection of a reporter's proposed record (never their own).
    A rejected record counts no more from now on, like an entry error."""
    verdict = "approve" if approve else "reject"
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        assert ledger.actor is not None  # opened to write: the acting key is known
        with ledger.writing("another editor reviewed this record at the same time") as appender:
            view = appender.view
            reviewer = require_member(ledger, view, ledger.actor, Role.EDITOR, "review a proposal")
            target = find_target(ledger, view, record)
            author = _proposed_by(ledger, view, target)
            if author == reviewer:
                raise not_permitted(
                    f"member '{reviewer}'",
                    f"review '{target.aggregate_id}'",
                    f"{author} proposed it, and an editor other than its author reviews it",
                    "ask another editor of the desk (ledger members lists them)",
                )
            reviewed = Review.aggregate_id(target.aggregate_id)
            earlier = ledger.load(view, reviewed)
            if earlier is not None:
                verdict_was = (
                    "approved" if getattr(earlier, "verdict", "") == "approve" else "rejected"
                )
                raise BadInputError(
                    f"'{target.aggregate_id}' is already {verdict_was}"
                    + _entered(ledger, view, reviewed, earlier)
                )
            if view.existing([Erratum.aggregate_id(target.aggregate_id)]):
                raise BadInputError(
                    f"'{target.aggregate_id}' is voided by its erratum (an entry error): "
                    "it is no longer reviewed"
                )
            ledger.append_events(appender, [review_event(ledger, target, verdict, note)])
        catch_up_after_writing(ws, "the review")
    return {"record": target.aggregate_id, "verdict": verdict, "by": reviewer, "note": note}


def _proposed_by(ledger: Any, view: LogView, target: Target) -> str:
    """The member who proposed the record; bad input if it is not a proposal."""
    if target.kind not in REVIEWED_KINDS:
        raise BadInputError(
            f"'{target.aggregate_id}': only claims, corrections, retractions and assessments "
            "are reviewed"
        )
    batch = batch_of(ledger, view, view.leaf_index(target.aggregate_id, 1))
    if batch is not None and batch.proposed:
        return batch.member
    raise BadInputError(f"'{target.aggregate_id}' is not waiting for review")


def queue(db: str | None) -> list[dict[str, Any]]:
    """What waits for review, oldest first."""
    from incident_ledger.projections.review_queue import review_queue
    from incident_ledger.usecases.workspace import read_model

    with read_model(db) as conn:
        return review_queue(conn)
