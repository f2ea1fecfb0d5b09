"""Signing each write transaction as a batch, by the desk member who writes it.

Every write (``Ledger.writing``) ends, before it commits, with a ``Batch.Signed``
event: the batch's first and last leaf index, the RFC 9162 root of its leaf
hashes, and the acting member's signature over them (``batch_text``), in the
same transaction as the events it signs. The acting member is whoever holds
the key (``Actor``): the member registered with its public key, not removed.

The first member of a ledger (``init``, or the first write of a ledger made
before the desk) registers itself: a batch may be signed by a member it
registers only when no member existed before it, that member is an admin,
and its key is the ledger's own signing key (whoever holds it owns the ledger).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from incident_ledger.ledger.desk_domain import (
    BATCH_TEXT_HEADER,
    REVIEW_SETTING,
    Batch,
    Member,
    Setting,
)
from incident_ledger.ledger.desk_roles import Role, at_least
from incident_ledger.ledger.errors import NotPermittedError, not_permitted
from incident_ledger.ledger.merkle import Frontier, complete_levels
from incident_ledger.ledger.stores.recorder import LogView

if TYPE_CHECKING:
    from datetime import datetime

    from incident_ledger.ledger.stores.recorder import Appender


class Ledger(Protocol):
    """What signing needs of the application (``application.Ledger``, which calls it)."""

    def load(self, view: LogView, aggregate_id: str) -> Any:
        """An aggregate as a view sees the store, or None."""

    def clock(self) -> datetime:
        """The recorded time of what is written now."""

    def append_events(self, appender: Appender, events: Sequence[Any]) -> None:
        """Append events and their leaves within an open write transaction."""


CHUNK_LEVEL = 12
"""Leaf hashes are folded into the batch's root 4096 at a time (one list comprehension a
level), not one frontier push per leaf: an import of a million records stays fast."""


@dataclass(frozen=True)
class Actor:
    """Who is writing: the secret key they hold, its public key, and whether it is the
    ledger's own signing key (which may register the ledger's first member)."""

    signer: str
    verifier: str
    holds_ledger_key: bool = False


class BatchRoot:
    """The RFC 9162 root of a batch's leaf hashes, built as they are appended."""

    def __init__(self) -> None:
        self.frontier = Frontier()
        self.pending: list[bytes] = []
        self.count = 0

    def add(self, digests: Sequence[bytes]) -> None:
        """Take the leaf hashes of the events just appended, in order."""
        self.pending.extend(digests)
        self.count += len(digests)
        width = 1 << CHUNK_LEVEL
        while len(self.pending) >= width:
            chunk = self.pending[:width]
            del self.pending[:width]
            self.frontier.push(complete_levels(chunk)[-1][0], CHUNK_LEVEL)

    def root(self) -> bytes:
        """The root of every leaf hash taken so far."""
        frontier = self.frontier.copy()
        for digest in self.pending:
            frontier.push(digest)
        return frontier.root()


def batch_text(member: str, first: int, last: int, root: bytes) -> str:
    """The text a member signs for a batch of leaves ``first`` to ``last`` (inclusive)."""
    encoded = base64.b64encode(root).decode("ascii")
    return f"{BATCH_TEXT_HEADER}\n{member}\n{first}\n{last}\n{encoded}\n"


def desk_members(ledger: Ledger, view: LogView) -> dict[str, Member]:
    """Every member the store holds (removed ones too), by member id."""
    found: dict[str, Member] = {}
    for aggregate_id, _, _ in view.creations_between("member:", "member;"):
        member = ledger.load(view, aggregate_id)
        if isinstance(member, Member):
            found[aggregate_id.split(":", 1)[1]] = member
    return found


def first_admin(
    ledger: Ledger, view: LogView, members: dict[str, Member] | None = None
) -> str | None:
    """The id of the desk's first member, its first admin (None: the ledger has no desk
    yet), among ``members`` when they were read already. A ledger's ``init`` registers it
    with the ledger's own key; a restored ledger's is the original's, with the original's
    key."""
    placed = [
        (view.leaf_index(Member.aggregate_id(member_id), 1), member_id)
        for member_id in (desk_members(ledger, view) if members is None else members)
    ]
    ordered = sorted((at, member_id) for at, member_id in placed if at is not None)
    return ordered[0][1] if ordered else None


def first_admin_key(ledger: Ledger, view: LogView) -> str | None:
    """The public key of the desk's first member: the ledger's own signing key, which
    signs its checkpoints (None: the ledger has no desk yet)."""
    members = desk_members(ledger, view)
    first = first_admin(ledger, view, members)
    return None if first is None else members[first].member.public_key


def signed_checkpoints(view: LogView, verifier: str) -> bool | None:
    """Whether ``verifier`` is the key that signs the log's checkpoints (it signed the
    last; each signer checks that the one before verifies with its key). None: the log
    has no checkpoint."""
    from incident_ledger.ledger.signednote import NoteError, open_note

    checkpoints = view.checkpoints()
    if not checkpoints:
        return None
    try:
        open_note(checkpoints[-1][1], [verifier])
    except NoteError:
        return False
    return True


def is_ledger_key(ledger: Ledger, view: LogView, verifier: str) -> bool | None:
    """Whether ``verifier`` is the ledger's own signing key as its log records it: the key
    that signs its checkpoints, else, before the first, its first admin's (``init``
    registers the first admin with the ledger's key; ``restore`` signs the restored
    log's first checkpoint with its own). None: the log records none (a ledger made
    before the desk and never checkpointed, whose key is the one at hand)."""
    signed = signed_checkpoints(view, verifier)
    if signed is not None:
        return signed
    first = first_admin_key(ledger, view)
    return None if first is None else first == verifier


@dataclass(frozen=True)
class RecordedKey:
    """The ledger's own signing key as its log records it (``is_ledger_key``'s): its name,
    and the member registered with it, with its public key, when one is."""

    name: str
    holder: str | None = None
    verifier: str | None = None


def recorded_key(ledger: Ledger, view: LogView) -> RecordedKey | None:
    """The ledger's own signing key as ``is_ledger_key`` knows it: the key that signs its
    checkpoints (named by its last), else its first admin's. None: the log records none."""
    members = desk_members(ledger, view)
    checkpoints = view.checkpoints()
    if checkpoints:
        held = [m for m in members if signed_checkpoints(view, members[m].member.public_key)]
    else:
        held = [first] if (first := first_admin(ledger, view, members)) is not None else []
    if held:
        verifier = members[held[0]].member.public_key
        return RecordedKey(verifier.split("+", 1)[0], held[0], verifier)
    if not checkpoints:
        return None
    return RecordedKey(checkpoints[-1][1].split("\n", 1)[0])  # its origin: its key's name


def require_ledger_key(
    ledger: Ledger, view: LogView, verifier: str, action: str, signed: str
) -> None:
    """Refuse ``action`` (``sign a checkpoint``) to any key but the ledger's own
    (``is_ledger_key``), which alone signs ``signed`` (``its checkpoints``): a member's
    own key signs their batches only. Its holder is named as a member when it is one."""
    if is_ledger_key(ledger, view, verifier) is not False:
        return
    members = desk_members(ledger, view)
    held = [member_id for member_id, m in members.items() if m.member.public_key == verifier]
    who, whose = (f"member '{held[0]}'", f"{held[0]}'s key is") if held else (None, "it is")
    raise not_permitted(
        who or _key(Actor("", verifier)),
        action,
        f"{whose} not the ledger's own key, which alone signs {signed}",
        "run the command with the ledger's key",
    )


def acting_member(members: dict[str, Member], actor: Actor) -> tuple[str, Member] | None:
    """The member in force who holds the actor's key, else None."""
    for member_id, member in members.items():
        if member.member.public_key == actor.verifier and not member.removed:
            return member_id, member
    return None


WRITE = "write to this ledger"
"""What every write needs, whatever it writes: a member in force."""


def require_member(ledger: Ledger, view: LogView, actor: Actor, role: Role, action: str) -> str:
    """The id of the acting member, who must hold at least ``role`` to do ``action``
    (``review a proposal``: said when they may not)."""
    members = desk_members(ledger, view)
    found = acting_member(members, actor)
    if found is None:
        raise _not_a_member(members, actor, action)
    member_id, member = found
    if not at_least(member.member.role, role):
        held = Role(member.member.role)
        raise not_permitted(
            f"member '{member_id}'",
            action,
            f"that needs {with_article(role)}, and {member_id} is {with_article(held)}",
            f"ask {with_article(role)} of the desk (ledger members lists them)",
        )
    return member_id


def with_article(word: str) -> str:
    """A word with its indefinite article: ``a reporter``, ``an editor``, ``an incident``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def seal(
    ledger: Ledger, appender: Appender, first: int, batch: BatchRoot, actor: Actor
) -> Batch.Signed | None:
    """Append the signature of the batch of ``batch.count`` leaves from ``first``; the
    signature's event (None: the batch is empty, and nothing is signed)."""
    from incident_ledger.ledger.signednote import sign_note

    if not batch.count:
        return None
    view = appender.view
    members = desk_members(ledger, view)
    found = acting_member(members, actor)
    if found is None:
        raise _not_a_member(members, actor, WRITE)
    member_id, member = found
    registered_at = view.leaf_index(Member.aggregate_id(member_id), 1)
    if registered_at is not None and registered_at >= first:
        _check_bootstrap(ledger, view, first, member_id, member, actor)
    last = first + batch.count - 1
    root = batch.root()
    note = sign_note(batch_text(member_id, first, last, root), actor.signer)
    event = Batch.Signed(
        originator_id=Batch.aggregate_id(str(first)),
        originator_version=Batch.INITIAL_VERSION,
        timestamp=ledger.clock(),
        originator_topic=Batch.Signed.aggregate_topic,
        member=member_id,
        first=first,
        last=last,
        root=base64.b64encode(root).decode("ascii"),
        signature=note.rsplit("\n\n", 1)[1].rstrip("\n"),
        proposed=True if _proposes(ledger, view, member) else None,
    )
    ledger.append_events(appender, [event])
    return event


def review_required(ledger: Ledger, view: LogView) -> bool:
    """Whether the ledger requires review of reporters' records (its ``review`` setting)."""
    setting = ledger.load(view, Setting.aggregate_id(REVIEW_SETTING))
    return setting is not None and getattr(setting, "value", None) == "required"


def _proposes(ledger: Ledger, view: LogView, member: Member) -> bool:
    """Whether a batch this member writes is a proposal: a reporter's, with review required
    (its claims, corrections, retractions and assessments then wait for an editor)."""
    return member.member.role == Role.REPORTER and review_required(ledger, view)


def _check_bootstrap(
    ledger: Ledger, view: LogView, first: int, member_id: str, member: Member, actor: Actor
) -> None:
    """A batch signed by a member it registers: only the ledger's first admin, by
    whoever holds the ledger's own signing key."""
    for other_id in desk_members(ledger, view):
        at = view.leaf_index(Member.aggregate_id(other_id), 1)
        if other_id != member_id and at is not None and at < first:
            raise not_permitted(
                _key(actor),
                f"register member '{member_id}' with its own key",
                "the desk has members, and only an admin adds one",
                "ask an admin of the desk (ledger members lists them)",
            )
    if member.member.role != Role.ADMIN or not actor.holds_ledger_key:
        raise _first_admin(actor, "")
    if signed_checkpoints(view, actor.verifier) is False:  # their signer owns the log
        raise _first_admin(actor, " (the key that signs its checkpoints)")


def _first_admin(actor: Actor, which: str) -> NotPermittedError:
    return not_permitted(
        _key(actor),
        "register the ledger's first member",
        "the first member is an admin, registered with the ledger's own signing key" + which,
        "run the command with that key",
    )


def _key(actor: Actor) -> str:
    """The acting key as a refusal names it: ``the key incident-ledger-member-1a2b``."""
    return f"the key {actor.verifier.split('+', 1)[0]}"


def _not_a_member(members: dict[str, Member], actor: Actor, action: str) -> NotPermittedError:
    from incident_ledger.ledger.leaves import recorded_key

    for member_id, member in members.items():
        if member.member.public_key == actor.verifier:
            at = getattr(member, "removed_at", None)
            when = "" if at is None else f" at {recorded_key(at)}"
            return not_permitted(
                f"member '{member_id}'",
                action,
                f"{member_id} was removed from the desk{when}",
                "an admin may register them again under a new id, with a new key (what "
                "they wrote stays)",
            )
    if not members:
        return not_permitted(
            _key(actor),
            action,
            "the ledger has no desk members yet",
            "whoever holds its signing key first registers the first admin "
            "(ledger member add ID --name NAME --role admin)",
        )
    return not_permitted(
        _key(actor),
        action,
        "it belongs to no member of the desk",
        "an admin registers its holder (ledger member add … --public-key KEY)",
    )
