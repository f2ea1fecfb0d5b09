"""The rules a member's registration meets, whoever writes it.

A member is known by their key: the acting member is whoever holds it
(``batch_signing.acting_member``), so a key registered once belongs to that
member for good. A second member registered with it, even after the first was
removed, would let the removed member's key write again under another name, or
let two members share one signature. Each member makes their own key
(``ledger keygen``); only the desk's first admin is registered with the
ledger's own signing key, which may be left out for it. A removed member is
not re-admitted: their id and key stay the removed member's, so that what
they signed keeps naming them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, TypeAdapter, ValidationError

from incident_ledger.ledger.batch_check import batch_of
from incident_ledger.ledger.desk_domain import Member
from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.leaves import recorded_key
from incident_ledger.ledger.member_record import MemberRecord

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.stores.recorder import LogView

# A one-type tagged union, so that a problem's location starts with the record type, as
# the import's do, and names the field (``role``), never the whole record.
_MEMBER = TypeAdapter(Annotated[MemberRecord, Field(discriminator="type")] | None)


def member_record(member_id: str, name: str, role: str, public_key: str) -> MemberRecord:
    """The member record these fields make; bad input names each field that is wrong."""
    from incident_ledger.ledger.imports.parsing import _problems as problems

    data = {"type": "member", "id": member_id, "name": name, "role": role}
    try:
        record = _MEMBER.validate_python({**data, "public_key": public_key})
    except ValidationError as error:
        raise BadInputError(f"member: {problems(error, [*data, 'public_key'])}") from None
    assert record is not None
    return record


def check_registration(
    ledger: Ledger,
    view: LogView,
    members: dict[str, Member],
    record: MemberRecord,
    *,
    key_given: bool = True,
) -> bool:
    """Whether ``record`` registers a new member of a desk that has ``members`` (False:
    the same member is registered already). Bad input: its key was not given (``key_given``
    False: the record holds the writer's own) and the desk has members; its id is another
    member's, or a removed member's; its key is already registered to a member, removed or
    not."""
    if members and not key_given:
        raise BadInputError(
            "public_key: a member's own public key is needed once the desk has members "
            "(the member makes one with ledger keygen)"
        )
    existing = members.get(record.id)
    if existing is not None:
        if existing.removed:
            raise BadInputError(
                f"id: member '{record.id}' was removed{removal(ledger, view, record.id)}: a "
                "removed member is not re-admitted (register them under a new id with a new key)"
            )
        if existing.member == record:
            return False
        raise BadInputError(f"id: '{record.id}' is already used by a different member")
    for other_id, other in members.items():
        if other.member.public_key == record.public_key:
            removed = f" (removed{removal(ledger, view, other_id)})" if other.removed else ""
            raise BadInputError(
                f"public_key: the key is already registered to member '{other_id}'{removed}: "
                "each member signs with their own key (ledger keygen makes one)"
            )
    return True


def removal(ledger: Ledger, view: LogView, member_id: str) -> str:
    """`` by alice at 2026-…Z``: who removed the member, and when (empty if not removed)."""
    member = ledger.load(view, Member.aggregate_id(member_id))
    at = getattr(member, "removed_at", None)
    if at is None:
        return ""
    batch = batch_of(ledger, view, view.leaf_index(Member.aggregate_id(member_id), 2))
    by = "" if batch is None else f" by {batch.member}"
    return f"{by} at {recorded_key(at)}"
