"""Audit exports of the read model: CSV, W3C PROV-JSON, schema.org ClaimReview and HTML.

Every exporter takes ``(db, *, incident, at, provenance=None)`` and returns the
document as text; ``write_csv`` and ``write_prov`` write the same to an open text
file as they read (``common.stream``), their memory bounded whatever the size.
``incident=None`` exports every incident; ``at`` is an aware
datetime (``None`` means now). They all select the same records: the claims of
the incident(s) whose report was published by ``at``, and the retractions,
corrections and assessments of those claims published by ``at``. An unknown
incident raises :class:`ledger.errors.NotFoundError`.
"""

from __future__ import annotations

from incident_ledger.projections.exports.claimreview_export import RATINGS, export_claimreview
from incident_ledger.projections.exports.csv_export import export_csv, write_csv
from incident_ledger.projections.exports.html_export import export_html
from incident_ledger.projections.exports.prov_export import export_prov, write_prov

__all__ = [
    "RATINGS",
    "export_claimreview",
    "export_csv",
    "export_html",
    "export_prov",
    "write_csv",
    "write_prov",
]
