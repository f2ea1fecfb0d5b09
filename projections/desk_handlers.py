"""The desk's events as rows of the read model: each handler writes the rows of one
event (``Projector.apply``), into the tables ``desk_projection`` declares and reads.

Apart from ``desk_projection`` because the handlers are keyed by the event classes'
topics: a read of the model loads neither them nor the classes.
"""

from __future__ import annotations

from typing import Any

from incident_ledger.ledger.desk_domain import Batch, Erratum, Member, Note, Review
from incident_ledger.ledger.evidence import Capture


def _member(p: Any, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    member_id = line["id"].split(":", 1)[1]
    p.write(
        "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)",
        (member_id, d["name"], d["role"], d["public_key"], line["recorded_at"], seq),
    )


def _member_removed(p: Any, line: dict[str, Any], seq: int) -> None:
    member_id = line["id"].split(":", 1)[1]
    p.write("INSERT INTO member_removals VALUES (?, ?, ?)", (member_id, line["recorded_at"], seq))


def _batch(p: Any, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    count = int(d["last"]) - int(d["first"]) + 1
    p.write(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)",
        (seq - count, seq - 1, d["member"], int(bool(d.get("proposed"))), line["recorded_at"], seq),
    )
    if d.get("proposed"):  # its claims wait for review (claim_status)
        p.touch_desk()
        p.statuses.ranges.append((seq - count, seq - 1))


def _erratum(p: Any, line: dict[str, Any], seq: int) -> None:
    """An entry error: the record stops counting from now on (``voided``)."""
    d, recorded = line["data"], line["recorded_at"]
    p.write(
        "INSERT INTO errata VALUES (?, ?, ?, ?, ?)",
        (d["record"], d["reason"], d.get("replaced_by"), recorded, seq),
    )
    p.write("INSERT INTO voided VALUES (?, 'erratum', ?, ?)", (d["record"], recorded, seq))
    p.touch_desk()
    p.statuses.record(d["record"])


ERRATUM_LINK = "UPDATE errata SET replaced_by = ? WHERE record = ?"
"""The right record linked to an erratum after it (``Erratum.Linked``)."""


def _erratum_linked(p: Any, line: dict[str, Any], seq: int) -> None:
    """The right record linked to an erratum recorded before it was entered."""
    record = line["id"].split(":", 1)[1]
    p.write(ERRATUM_LINK, (line["data"]["replaced_by"], record))


def _review(p: Any, line: dict[str, Any], seq: int) -> None:
    """An editor's review; a rejected record stops counting from now on (``voided``)."""
    d, recorded = line["data"], line["recorded_at"]
    p.write(
        "INSERT INTO reviews VALUES (?, ?, ?, ?, ?)",
        (d["record"], d["verdict"], d.get("note"), recorded, seq),
    )
    if d["verdict"] == "reject":
        p.write("INSERT INTO voided VALUES (?, 'rejected', ?, ?)", (d["record"], recorded, seq))
        p.touch_desk()
    p.statuses.record(d["record"])  # rejected, or approved: no longer waiting


def _note(p: Any, line: dict[str, Any], seq: int) -> None:
    d = line["data"]
    p.write(
        "INSERT INTO notes VALUES (?, ?, ?, ?)", (d["record"], d["text"], line["recorded_at"], seq)
    )


def _capture(p: Any, line: dict[str, Any], seq: int) -> None:
    """A report's captured copy: its bytes stay in the event store (``ledger.evidence``)."""
    d = line["data"]
    p.write(
        "INSERT INTO captures VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            d["record"].split(":", 1)[1],
            d["sha256"],
            d["media_type"],
            int(d["size"]),
            d["name"],
            line["recorded_at"],
            seq,
        ),
    )


DESK_HANDLERS = {
    Member.Registered.TOPIC: _member,
    Member.Removed.TOPIC: _member_removed,
    Batch.Signed.TOPIC: _batch,
    Erratum.Recorded.TOPIC: _erratum,
    Erratum.Linked.TOPIC: _erratum_linked,
    Review.Recorded.TOPIC: _review,
    Note.Recorded.TOPIC: _note,
    Capture.Recorded.TOPIC: _capture,
}
