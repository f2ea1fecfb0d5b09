"""incident-ledger: an event-sourced ledger of contradictory incident reports.

The one package the distribution installs. In the repository its layers are
the top-level folders, linked here so that every tool sees one package:

- ``incident_ledger.ledger`` (``ledger/``): the write side — input records,
  domain events, the import pipeline, the event stores, the Merkle log and
  its signatures. It imports nothing above it.
- ``incident_ledger.projections`` (``projections/``): the read side — the
  read model, its projector and the queries and exports that read it. It
  imports only the ledger's public types.
- ``incident_ledger.usecases`` (``usecases/``): what a user asks for, each
  combining both sides (open a ledger, import, answer, verify, export, serve,
  the demo).
- ``incident_ledger.cli`` (``cli/``): the ``ledger`` command — parse, call one
  use case, render.

docs/architecture.md follows a JSON line through these layers.
"""
