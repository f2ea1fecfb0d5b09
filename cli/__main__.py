"""``python -m cli``: the ``ledger`` command."""

from cli.entry import run

run()
