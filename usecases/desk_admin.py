"""The desk's members: keys, registration, removal and the list of members.

A member is registered by a ``member`` record (``ledger.member_record``) as a
``Member.Registered`` event, removed by ``Member.Removed``; both are written by
an admin, in a batch the admin signs like any other write. The ledger's first
member registers itself with the ledger's own signing key (``init``, or the
first write of a ledger made before the desk: ``batch_signing``).
"""

from __future__ import annotations

import getpass
import os
import secrets
from pathlib import Path
from typing import Any

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.batch_signing import (
    Actor,
    acting_member,
    desk_members,
    require_member,
)
from incident_ledger.ledger.desk_domain import Member
from incident_ledger.ledger.desk_roles import Role
from incident_ledger.ledger.errors import BadInputError, NotFoundError, StoreError, not_permitted
from incident_ledger.ledger.stores.location import StoreLocation, locate, named_key
from incident_ledger.ledger.stores.recorder import LogView
from incident_ledger.usecases.outputs import file_named, replaceable
from incident_ledger.usecases.workspace import (
    POINT_AT_KEY,
    SigningKey,
    ledger_files,
    ledger_key_said,
    open_ledger,
    open_workspace,
    read_member_key,
    read_signing_key,
)


def create_key_file(path: Path, name: str) -> str:
    """Create an Ed25519 signer key file named ``name``, readable by its owner only (0600);
    its verifier (public) key."""
    from incident_ledger.ledger.signednote import generate_signer

    signer, verifier = generate_signer(name)
    write_key_file(path, signer)
    return verifier


def write_key_file(path: Path, signer: str) -> None:
    """Write a signer key into a new file readable by its owner only (0600)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BadInputError(f"{path} already exists: a key is never overwritten") from None
    except FileNotFoundError:
        raise BadInputError(f"cannot create the key {path}: no folder {path.parent}") from None
    except NotADirectoryError:
        raise BadInputError(
            f"cannot create the key {path}: {path.parent} is not a folder"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot create the key {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer + "\n")


def keygen(out: str, db: str | None = None) -> str:
    """Make a member's key in the file ``out`` (never one of the files of the ledger at
    ``db``, such as a journal file SQLite would take for its own); its public key, for
    ``member add``."""
    path = file_named(out)
    if path.is_dir():
        raise BadInputError(f"{out} is a directory: give a file name")
    replaceable(path, ledger_files(locate(db)))
    return create_key_file(path, f"incident-ledger-member-{secrets.token_hex(4)}")


def default_member_id() -> str:
    """The first admin's id when none is given: the name of the user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "admin"


def register_first_admin(ledger: Ledger, member_id: str, actor: Actor) -> bool:
    """Register the ledger's first admin with the ledger's own key, unless the desk has
    members already. Whether a member was registered."""
    from incident_ledger.ledger.member_rules import member_record

    record = member_record(member_id, member_id, Role.ADMIN.value, actor.verifier)
    ledger.actor = actor
    with ledger.writing("another writer registered a member at the same time") as appender:
        if desk_members(ledger, appender.view):
            return False
        ledger.append_events(appender, [_registration(ledger, record)])
    return True


NAMED_KEY_USES = {
    "init": "registers the first admin with",
    "restore": "signs the restored ledger's checkpoints with",
}
"""What each command that makes a ledger does with the key named (``check_named_key``)."""


def check_named_key(
    location: StoreLocation, command: str = "init"
) -> tuple[Path, SigningKey] | None:
    """The key named by ``LEDGER_KEY`` (``--key``) that ``init`` registers the first
    admin with (``restore``: signs the restored ledger's checkpoints with), with its path
    (None when none is named). Refused before anything is created when it cannot be: a
    file that is not there (no key is made in its place: a key named is one the member
    already holds), or another key than the one a SQLite ledger already has beside it."""
    path = named_key()
    if path is None:
        return None
    uses = f"{command} {NAMED_KEY_USES[command]}"
    if not path.exists():
        raise BadInputError(
            f"no key at {path}: {uses} the key {{key}} (or LEDGER_KEY) names; make it first "
            f"with ledger keygen, or name none for {command} to make the ledger's own",
            arguments=("key",),
        )
    given = read_member_key(path)  # a file that is not a key: said so, exit 2
    own = location.key_path
    if own != path and own.exists() and given.verifier != read_signing_key(own).verifier:
        raise BadInputError(
            f"{{key}} (or LEDGER_KEY) names {path}, but this ledger's key is {own}, beside "
            f"it: {uses} that key; name that file, or none",
            arguments=("key",),
        )
    return path, given


REVIEW_CHOICES = ("required", "off")


def check_init_options(member_id: str, review: str | None, verifier: str) -> None:
    """Refuse ``init``'s options before anything is created: the first admin's id (with
    the key it will hold) and the review setting."""
    from incident_ledger.ledger.member_rules import member_record

    member_record(member_id, member_id, Role.ADMIN.value, verifier)
    if review is not None:
        _check_review(review)


def _check_review(review: str) -> None:
    if review not in REVIEW_CHOICES:
        raise BadInputError("review: must be required or off")


def check_init_key(
    ledger: Ledger,
    verifier: str,
    named: tuple[Path, SigningKey] | None,
    key_path: Path,
    kept: bool,
) -> None:
    """Refuse a repeated ``init`` (the ledger holds events) that would make a key (none
    ``named`` nor ``kept`` at ``key_path``), or take the key at hand (public key
    ``verifier``) for the ledger's when its log records another (``is_ledger_key``):
    init never gives a ledger that exists a key, and names the one it has."""
    from incident_ledger.ledger.batch_signing import is_ledger_key

    at = named[0] if named is not None else key_path
    made = not kept and named is None
    with ledger.audit.reading() as view:
        if not view.size() or (not made and is_ledger_key(ledger, view, verifier) is not False):
            return
    where = f"and there is none at {at}" if made else f"not the key at {at}"
    raise BadInputError(
        f"init made no key: {ledger_key_said(ledger)}, {where}; {POINT_AT_KEY}",
        arguments=("key",),
    )


def check_init_again(ledger: Ledger, member: str | None, review: str | None) -> None:
    """Refuse a repeated ``init`` (the ledger holds events) whose first admin or review
    setting differs from what the ledger holds, naming what it holds."""
    from incident_ledger.ledger.batch_signing import first_admin
    from incident_ledger.ledger.desk_domain import REVIEW_SETTING, Setting

    with ledger.audit.reading() as view:
        if not view.size():
            return
        first = first_admin(ledger, view)
        if member is not None and first is not None and first != member:
            raise BadInputError(
                f"member: this ledger's first admin is '{first}': init registers the first "
                "admin once (other members are added with ledger member add)"
            )
        setting = ledger.load(view, Setting.aggregate_id(REVIEW_SETTING))
        held = "off" if setting is None else str(getattr(setting, "value", "off"))
        if review is not None and review != held:
            raise BadInputError(
                f"review: this ledger's review is {held}; it is chosen once, when the ledger "
                "is created"
            )


def choose_review(ledger: Ledger, review: str) -> None:
    """Set whether a reporter's records wait for an editor's review (once, at init)."""
    from incident_ledger.ledger.desk_domain import REVIEW_SETTING, Setting
    from incident_ledger.ledger.desk_entries import setting_event

    _check_review(review)
    with ledger.writing("another writer chose the setting at the same time") as appender:
        chosen = ledger.load(appender.view, Setting.aggregate_id(REVIEW_SETTING))
        if chosen is not None:
            if getattr(chosen, "value", None) != review:
                value = getattr(chosen, "value", None)
                raise BadInputError(f"review: this ledger's review is {value}; it is chosen once")
            return
        ledger.append_events(appender, [setting_event(ledger, REVIEW_SETTING, review)])


def member_add(
    db: str | None, member_id: str, *, name: str, role: str, public_key: str | None
) -> dict[str, Any]:
    """Register a member (admins only). On a ledger without members, whoever holds the
    ledger's signing key registers themselves as its first admin (the key may be left out);
    the rules the registration meets are the write side's (``member_rules``)."""
    from incident_ledger.ledger.member_rules import check_registration, member_record

    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        actor = ledger.actor
        assert actor is not None  # opened to write: the acting key is known
        own = public_key if public_key is not None and public_key.strip() else None
        record = member_record(member_id, name, role, own or actor.verifier)  # blank: none
        with ledger.writing("another writer registered a member at the same time") as appender:
            members = desk_members(ledger, appender.view)
            if members:
                require_member(ledger, appender.view, actor, Role.ADMIN, "add a member")
            if not check_registration(ledger, appender.view, members, record, key_given=bool(own)):
                return _shown(member_id, members[member_id], added=False)
            ledger.append_events(appender, [_registration(ledger, record)])
        ws.refresh()
        added = desk_members_of(ledger)[member_id]
        return _shown(member_id, added, added=True)


def member_remove(db: str | None, member_id: str) -> dict[str, Any]:
    """Remove a member (admins only); the desk keeps at least one admin."""
    with open_workspace(db, write=True) as ws:
        ledger = ws.ledger
        actor = ledger.actor
        assert actor is not None
        with ledger.writing("another writer changed the desk at the same time") as appender:
            view = appender.view
            remover = require_member(ledger, view, actor, Role.ADMIN, "remove a member")
            members = desk_members(ledger, view)
            member = members.get(member_id)
            if member is None:
                raise NotFoundError(f"no member '{member_id}' on the desk")
            if member.removed:
                from incident_ledger.ledger.member_rules import removal

                gone = removal(ledger, view, member_id)
                raise BadInputError(f"member '{member_id}' was already removed{gone}")
            _keep_an_admin(members, member_id, remover)
            member.remove(ledger.clock())
            ledger.append_events(appender, list(member.collect_events()))
        ws.refresh()
        return _shown(member_id, desk_members_of(ledger)[member_id], added=False)


def members(db: str | None) -> list[dict[str, Any]]:
    """Every member the desk has had, in order of id, removed ones marked."""
    with open_ledger(db) as (_, ledger):
        found = desk_members_of(ledger)
    return [_shown(member_id, found[member_id]) for member_id in sorted(found)]


def whoami(ledger: Ledger, view: LogView, actor: Actor) -> str | None:
    """The id of the member in force who holds the actor's key, if any."""
    found = acting_member(desk_members(ledger, view), actor)
    return None if found is None else found[0]


def desk_members_of(ledger: Ledger) -> dict[str, Member]:
    """The desk's members as the store holds them now."""
    with ledger.audit.reading() as view:
        return desk_members(ledger, view)


def _keep_an_admin(members: dict[str, Member], member_id: str, remover: str) -> None:
    admins = [
        other
        for other, member in members.items()
        if member.member.role == Role.ADMIN and not member.removed
    ]
    if admins == [member_id]:
        raise not_permitted(
            f"member '{remover}'",
            f"remove member '{member_id}'",
            f"{member_id} is the desk's last admin",
            "add another admin first",
        )


def _registration(ledger: Ledger, record: Any) -> Member.Registered:
    return Member.Registered(
        originator_id=Member.aggregate_id(record.id),
        originator_version=Member.INITIAL_VERSION,
        timestamp=ledger.clock(),
        originator_topic=Member.Registered.aggregate_topic,
        name=record.name,
        role=record.role.value,
        public_key=record.public_key,
    )


def _shown(member_id: str, member: Member, *, added: bool | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": member_id,
        "name": member.member.name,
        "role": member.member.role.value,
        "public_key": member.member.public_key,
        "removed": member.removed,
    }
    if added is not None:
        shown["added"] = added
    return shown
