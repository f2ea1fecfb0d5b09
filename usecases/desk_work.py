"""The desk's daily work on records: errata, notes and reviews.

Each is one event written in a batch the acting member signs
(``ledger.desk_entries``), then projected like everything else.
"""

from __future__ import annotations

from typing import Any

from incident_ledger.ledger.desk_domain import Erratum
from incident_ledger.ledger.desk_entries import erratum_event, find_target, note_event
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.usecases.workspace import open_workspace
from incident_ledger.usecases.writing import catch_up_after_writing


def erratum(
    db: str | None, record: str, *, reason: str, replaced_by: str | None = None
) -> dict[str, Any]:
    """Record that the desk entered ``record`` by mistake: from now on it counts no more,
    at any known time, and never against its source. ``replaced_by``: the right record,
    entered anew."""
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        with ledger.writing("another member fixed this record at the same time") as appender:
            view = appender.view
            target = find_target(ledger, view, record)
            replacement = None if replaced_by is None else find_target(ledger, view, replaced_by)
            if view.existing([Erratum.aggregate_id(target.aggregate_id)]):
                raise BadInputError(
                    f"'{target.aggregate_id}' is already recorded as an entry error"
                )
            if replacement is not None and replacement.aggregate_id == target.aggregate_id:
                raise BadInputError("replaced_by: a record cannot replace itself")
            shown = None if replacement is None else replacement.aggregate_id
            ledger.append_events(appender, [erratum_event(ledger, target, reason, shown)])
        catch_up_after_writing(ws, "the erratum")
    return {"record": target.aggregate_id, "reason": reason.strip(), "replaced_by": shown}


def note(db: str | None, record: str, *, text: str) -> dict[str, Any]:
    """Attach a desk note to any record (never a claim: it counts for nothing)."""
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        with ledger.writing("another writer wrote at the same time") as appender:
            target = find_target(ledger, appender.view, record)
            ledger.append_events(appender, [note_event(ledger, target, text)])
        catch_up_after_writing(ws, "the note")
    return {"record": target.aggregate_id, "text": text.strip()}
