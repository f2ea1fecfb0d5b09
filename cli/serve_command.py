"""``ledger serve``: browse the read model in Datasette, with documented tables and queries."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from incident_ledger.cli import render
from incident_ledger.cli.params import JsonFlag
from incident_ledger.usecases.choices import DEFAULT_HOST, DEFAULT_PORT

Port = Annotated[
    int,
    typer.Option("--port", metavar="PORT", min=1, max=65_535, help="Port to listen on."),
]
Host = Annotated[
    str | None,
    typer.Option(
        "--host",
        metavar="HOST",
        help=(
            "Address to listen on (default 127.0.0.1). The server has no access control: an "
            "address beyond loopback lets anyone who can reach it read the whole ledger, so "
            "it is used only when given here explicitly."
        ),
    ),
]
OpenBrowser = Annotated[
    bool, typer.Option("--open", help="Open the web browser once the server answers.")
]


def serve(
    ctx: typer.Context,
    port: Port = DEFAULT_PORT,
    host: Host = None,
    open_browser: OpenBrowser = False,
    as_json: JsonFlag = False,
) -> None:
    """Serve the read model in Datasette (tables described, canned queries); Ctrl-C stops it.

    With --json, the server's URLs are printed as JSON before it starts. The read model
    is brought up to date first and served as it changes: what
    'ledger append' adds in another terminal shows on the next page load.
    Needs the 'web' extra: pip install 'incident-ledger[web]'.
    """
    from incident_ledger.usecases import serving as web

    explicit = host is not None
    chosen = host if host is not None else DEFAULT_HOST
    if explicit and not web.is_loopback(chosen) and chosen.strip():
        typer.echo(
            f"warning: serving on {chosen}: anyone who can reach this address can read the "
            "whole ledger (no access control)",
            err=True,
        )

    def announce(plan: web.ServePlan) -> None:
        if as_json:
            render.print_json(plan.summary())
        else:
            render.out.print(
                f"serving {plan.read_model.name} at {plan.url} (Ctrl-C to stop)",
                markup=False,
            )
            if plan.example is not None:
                example = plan.example
                render.out.print(
                    f"state of {example['incident']} at {example['at']}: "
                    + plan.query_url("state_at", **example),
                    markup=False,
                )
        sys.stdout.flush()  # before Datasette's own output, which shares the terminal

    status = web.serve(
        ctx.obj,
        host=chosen,
        port=port,
        allow_remote=explicit,
        open_browser=open_browser,
        on_start=announce,
    )
    if status != 0:
        raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``ledger`` command line."""
    app.command("serve")(serve)
