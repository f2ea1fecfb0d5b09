"""Datasette plugins ``ledger serve`` loads (``--plugins-dir``)."""
