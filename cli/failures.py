"""Maps the ledger's exceptions to one line on stderr and the documented exit code."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from incident_ledger.ledger.errors import LedgerError


class LedgerGroup(TyperGroup):
    """A command group that turns any LedgerError into ``error: …`` and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer types it with its vendored click Context
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            # One line: a database driver's message may carry a SQL excerpt below it.
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            typer.echo(f"error: {first}", err=True)
            raise typer.Exit(error.exit_code) from None
