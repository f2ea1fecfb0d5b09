"""Maps the ledger's exceptions to one line on stderr and the documented exit code.

Every failure a user can cause or meet is raised below the command line as a
``LedgerError`` that says what went wrong. Should a database driver's or the
operating system's own error still escape the layers (a case nobody foresaw),
it too becomes one ``error:`` line and exit code 1 (a store failure), never a
traceback. The line is shown as any text from the ledger is (``render``).
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, NoReturn

import typer
import typer.main
import typer.models
from typer.core import TyperCommand, TyperGroup

from incident_ledger.cli.render import terminal_text
from incident_ledger.ledger.errors import LedgerError

# Click's usage errors, from the click typer runs on: its own copy in recent versions,
# which re-export none of them but BadParameter (found by where that one lives).
_clicks = importlib.import_module(typer.BadParameter.__module__)
UsageError: type[Exception] = _clicks.UsageError
NoSuchOption: type[Exception] = _clicks.NoSuchOption
NoArgsIsHelpError: type[Exception] = _clicks.NoArgsIsHelpError

COMMAND_ORDER = (
    # set up and write
    "init", "append", "add", "template", "retract", "correct", "rate", "restore",
    # the desk
    "keygen", "member", "members", "review", "queue", "erratum", "note", "capture",
    # read
    "state", "timeline", "history", "diff", "incidents", "facts", "sources", "search",
    # audit and export
    "export", "checkpoint", "verify", "prove",
    # maintain, browse, learn
    "replay", "serve", "demo",
)  # fmt: skip
"""The order ``ledger --help`` lists the commands in: the way a desk meets them."""

FLAGS = {
    "as_json": "--json",
    "change_fact": "--change-fact",
    "chart": "--chart",
    "db": "--db",
    "fmt": "--format",
    "from_at": "--from",
    "host": "--host",
    "key": "--key",
    "limit": "--limit",
    "out": "--out",
    "policy": "--policy",
    "port": "--port",
    "prev": "--prev",
    "qualifier": "--qualifier",
    "reason": "--reason",
    "record_type": "--type",
    "to_at": "--to",
    "until": "--until",
    "with_evidence": "--with-evidence",
    "with_proposals": "--with-proposals",
}
"""The flag of each argument the layers below name in an error (``LedgerError``)."""


class LedgerGroup(TyperGroup):
    """A command group that turns any LedgerError into ``error: …`` and its exit code,
    and a stray database or system error into ``error: …`` and exit code 1. Its
    commands are listed in ``COMMAND_ORDER`` (others after, as declared)."""

    lazy: ClassVar[Mapping[str, Callable[[], Any]]] = {}
    """Commands made only when asked for (their flags come from the record models, which
    take a while to load): each name's maker."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in self.lazy:
            found = self.lazy[cmd_name]()
        return found

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        names += [name for name in self.lazy if name not in names]
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except UsageError as error:
            usage_failure(error)

    def invoke(self, ctx: Any) -> Any:  # typer types it with its vendored click Context
        try:
            return super().invoke(ctx)
        except UsageError as error:  # a subcommand's arguments
            usage_failure(error)
        except LedgerError as error:
            fail(error.worded(FLAGS).strip() or type(error).__name__, error.exit_code)
        except BrokenPipeError as error:
            if error.filename is not None:
                fail(stray_message(error), 1)
            # Whoever read the output stopped reading (``| head``): nothing is wrong, and
            # nothing more can be said to them; what Python flushes at exit goes nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as error:
            if not isinstance(error, stray_errors()):
                raise
            fail(stray_message(error), 1)


class LedgerCommand(TyperCommand):
    """A command whose usage line names its arguments plainly (``INCIDENT``): typer
    puts a required one in braces, which read like a list of choices."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """Typer's usage pieces, a required argument's braces taken off."""
        pieces: list[str] = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


def use_plain_usage(app: typer.Typer) -> None:
    """Make every command of ``app`` and of its groups a ``LedgerCommand`` (each is a
    plain TyperCommand until then)."""
    for command in app.registered_commands:
        command.cls = LedgerCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_plain_usage(group.typer_instance)


def made_when_asked(app: typer.Typer) -> None:
    """Make each command of ``app`` and of its groups only when it is asked for, as the
    groups' ``lazy`` commands are. Typer makes click's command of every function it was
    given as the command line starts, reading each one's signature and annotations: a
    tenth of a read command's start-up, for thirty commands of which one runs."""
    for group in app.registered_groups:
        if group.typer_instance is not None:
            made_when_asked(group.typer_instance)
    group_class = app.info.cls
    if not (isinstance(group_class, type) and issubclass(group_class, LedgerGroup)):
        return
    makers = {
        info.name or typer.main.get_command_name(info.callback.__name__): partial(_made, info)
        for info in app.registered_commands
        if info.callback is not None
    }
    app.registered_commands = []
    lazy = {**makers, **group_class.lazy}
    app.info.cls = type(group_class.__name__, (group_class,), {"lazy": lazy})


def _made(info: typer.models.CommandInfo) -> Any:
    """Click's command of one command typer was given."""
    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.registered_commands.append(info)
    return typer.main.get_command(single)


GLOBAL_OPTIONS = {"--db": "PATH|URL", "--key": "FILE"}
"""The options given before the command (``ledger --key FILE erratum …``), with their
metavars: which store, and which member acts."""


def usage_failure(error: Any) -> NoReturn:
    """A usage error (an unknown option, a missing argument, a bad value, an unknown
    command) as one ``error:`` line naming the help to read, exit code 2; click's own
    shows the usage and a hint on lines of their own. A global option given after the
    command says where it goes. A group asked without a command still shows its help."""
    if isinstance(error, NoArgsIsHelpError):
        raise error
    path: list[str] = []  # the command's words after the program's name, whatever it was run as
    context = error.ctx
    while context is not None and context.parent is not None:
        path.insert(0, context.info_name or "")
        context = context.parent
    command = " ".join(["ledger", *path])
    option = getattr(error, "option_name", None)
    if isinstance(error, NoSuchOption) and option in GLOBAL_OPTIONS:
        fail(
            f"{option} is a global option, given before the command: ledger {option} "
            f"{GLOBAL_OPTIONS[option]} {' '.join(path)} …",
            2,
        )
    fail(f"{error.format_message().rstrip('.')} (see {command} --help)", 2)


def flag_words(text: str) -> str:
    """``text`` with each ``{argument}`` it names called by its flag."""
    for argument, flag in FLAGS.items():
        text = text.replace("{" + argument + "}", flag)
    return text


def fail(message: str, exit_code: int) -> NoReturn:
    """Print ``error: <first line of message>`` on stderr and exit with ``exit_code``."""
    # One line: a database driver's message may carry a SQL excerpt below it.
    lines = terminal_text(message).strip().splitlines() or [""]
    typer.echo(f"error: {lines[0]}", err=True)
    raise typer.Exit(exit_code)


def stray_errors() -> tuple[type[Exception], ...]:
    """The driver and system errors the net catches: SQLite's, the store library's,
    psycopg's (when it was loaded: else none of its errors can have been raised) and
    the operating system's."""
    errors: list[type[Exception]] = [sqlite3.Error, OSError]
    for module, name in (("eventsourcing.persistence", "PersistenceError"), ("psycopg", "Error")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            errors.append(getattr(loaded, name))
    return tuple(errors)


def stray_message(error: Exception) -> str:
    """What a stray error says: a system error its reason and the file it concerns; a
    database error its driver's message."""
    if isinstance(error, OSError) and error.strerror:
        concerning = f": {error.filename}" if error.filename is not None else ""
        return f"{error.strerror}{concerning}"
    return f"database error: {error}"
