"""The roles of desk members, and what each may do beyond the one below it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a member may do: reporters enter records, editors also review, admins also
    manage the desk."""

    REPORTER = "reporter"
    EDITOR = "editor"
    ADMIN = "admin"


_RANKS = {Role.REPORTER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


def at_least(role: str, needed: Role) -> bool:
    """Whether a member of ``role`` may do what needs ``needed``."""
    return _RANKS[Role(role)] >= _RANKS[needed]
