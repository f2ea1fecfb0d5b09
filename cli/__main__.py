"""``python -m cli``: the ``ledger`` command."""

from incident_ledger.cli.entry import run

run()
