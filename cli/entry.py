"""The ``ledger`` command's entry point.

Importing the CLI allocates a few hundred thousand objects (typer, pydantic,
rich, eventsourcing and the event classes), none of them garbage, and Python's
cyclic collector would walk them again and again as they arrive: an eighth of
the command's start-up, measured. So the collector is off while the CLI loads;
what loaded is then frozen (left out of every later collection) and the
collector runs as usual for the command itself.
"""

from __future__ import annotations

import gc


def run() -> None:
    """Load the CLI with the cyclic collector paused, then run the command."""
    gc.disable()
    try:
        from incident_ledger.cli.main import app
    finally:
        gc.freeze()
        gc.enable()
    app()
