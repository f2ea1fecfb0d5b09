"""Maps the ledger's exceptions to one line on stderr and the documented exit code."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from incident_ledger.cli.render import terminal_text
from incident_ledger.ledger.errors import LedgerError


class LedgerGroup(TyperGroup):
    """A command group that turns any LedgerError into ``error: …`` and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer types it with its vendored click Context
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            fail(str(error).strip() or type(error).__name__, error.exit_code)


def fail(message: str, exit_code: int) -> NoReturn:
    """Print ``error: <first line of message>`` on stderr, shown as any text from the
    ledger is (``render.terminal_text``), and exit with ``exit_code``."""
    # One line: a database driver's message may carry a SQL excerpt below it.
    lines = terminal_text(message).strip().splitlines() or [""]
    typer.echo(f"error: {lines[0]}", err=True)
    raise typer.Exit(exit_code)
