"""The one exception hierarchy of incident-ledger.

Every error a user can cause or meet is a :class:`LedgerError`. Each class
carries the process exit code the command line documents, so the CLI maps an
error to one line and one code without knowing the cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

Choice = TypeVar("Choice", bound=StrEnum)


class LedgerError(Exception):
    """Base class: something the user should be told in one line.

    An error about one of the caller's arguments names it in its message as
    ``{argument}`` and lists it in ``arguments``: ``str(error)`` says the argument's own
    name (``policy must be one of …``), and the command line its flag instead
    (``--policy must be one of …``, ``cli.failures``). So no layer below the command
    line speaks of its flags.
    """

    exit_code = 1

    def __init__(self, message: str = "", *, arguments: tuple[str, ...] = ()) -> None:
        self.template = message
        self.arguments = arguments
        super().__init__(self.worded({}))

    def worded(self, names: Mapping[str, str]) -> str:
        """The message with each argument called as ``names`` calls it (else by its name)."""
        text = self.template
        for argument in self.arguments:
            text = text.replace("{" + argument + "}", names.get(argument, argument))
        return text


class BadInputError(LedgerError):
    """The input is malformed, inconsistent or refers to what does not exist in it."""

    exit_code = 2


class NotFoundError(LedgerError):
    """A named incident, claim, source or report is not in the ledger."""

    exit_code = 1


class ConflictError(LedgerError):
    """Another writer got there first (for example two corrections of one claim)."""

    exit_code = 1


class NotPermittedError(LedgerError):
    """The key that acts may not do what was asked: its member's role, a removed member,
    a key that is no member's, the two-person rule.

    Exit code 2, as bad input: the same command run with the right key succeeds, and run
    again as it is never will (a conflict, exit 1, may). Every refusal is worded one way,
    by :func:`not_permitted`.
    """

    exit_code = 2


def not_permitted(who: str, action: str, why: str, then: str) -> NotPermittedError:
    """The refusal of ``who`` (``member 'bob'``, ``the key …``) doing ``action``, in the
    one wording of every refusal: ``member 'bob' may not review a proposal: that needs
    an editor, and bob is a reporter; ask an editor of the desk …`` — what was refused,
    why, and what to do."""
    return NotPermittedError(f"{who} may not {action}: {why}; {then}")


class StoreError(LedgerError):
    """The store cannot be opened, read or written (missing, read-only, full disk)."""

    exit_code = 1


class VerificationError(LedgerError):
    """An integrity check failed."""

    exit_code = 1


def shown(text: str, limit: int = 80) -> str:
    """A user's text quoted for a one-line message: control and format characters
    escaped (a newline would cut the line), long text cut short."""
    escaped = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    if len(escaped) > limit:
        escaped = escaped[: limit - 1] + "…"
    return f"'{escaped}'"


def one_of(choices: type[Choice], value: Choice | str, argument: str) -> Choice:
    """``value`` as one of a closed choice's members; otherwise bad input that names the
    ``argument``, lists the choices and quotes the value
    (``policy must be one of range, … (got 'loudest')``)."""
    try:
        return choices(value)
    except ValueError:
        raise not_one_of([choice.value for choice in choices], str(value), argument) from None


def not_one_of(choices: Iterable[str], value: str, argument: str) -> BadInputError:
    """The bad input of a ``value`` that is not one of ``choices``, naming the ``argument``
    (as ``one_of`` says it, for a closed choice that is not an Enum)."""
    return BadInputError(
        f"{{{argument}}} must be one of {', '.join(choices)} (got {shown(value)})",
        arguments=(argument,),
    )
