"""Round trip: every record type → events → the same records, in ledger order."""

from __future__ import annotations

import tempfile
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.application import Ledger
from incident_ledger.ledger.domain import AGGREGATE_FOR_RECORD, TOPIC_PREFIX
from incident_ledger.ledger.imports import importer
from incident_ledger.ledger.imports.importer import Entry, read_entries
from incident_ledger.ledger.imports.parsing import validate_record
from incident_ledger.ledger.samples import GHWAYRAN
from incident_ledger.ledger.stores.location import locate
from incident_ledger.usecases.auditing import iter_records

ids = st.from_regex(r"[A-Za-z0-9._:-]{1,12}", fullmatch=True)
texts = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda t: t.strip() == t and t),
    st.sampled_from(["ما لا يقل عن 20", "قوات سوريا الديمقراطية", "e\u0301te\u0301", "٣٥٠٠"]),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


qualifiers = maybe(
    st.sampled_from(["exact", "approx", "at_least", "more_than", "at_most", "less_than"])
)
decimals = st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False)
# Each fact takes one kind of value (a claim must fit its fact's kind).
values = st.one_of(
    st.tuples(
        st.sampled_from(["killed.security_forces", "escaped"]), st.integers(1, 2**53 - 1)
    ).flatmap(lambda t: qualifiers.map(lambda q: {"fact": t[0], "value": t[1], "qualifier": q})),
    st.tuples(st.integers(0, 100), st.integers(0, 100)).map(
        lambda t: {"fact": "escaped", "value": {"min": min(t), "max": max(t)}}
    ),
    st.tuples(decimals, qualifiers).map(
        lambda t: {"fact": "fuel.tonnes", "value": t[0], "qualifier": t[1]}
    ),
    st.sampled_from(["sdf", "isis"]).map(lambda v: {"fact": "control", "value": v}),
    st.sampled_from(["2022-01-20", "[2022-01-24,2022-01-31]"]).map(
        lambda v: {"fact": "attack.started", "value": v}
    ),
    st.booleans().map(lambda v: {"fact": "curfew", "value": v}),
    st.tuples(texts, st.decimals(-90, 90, places=4), st.decimals(-180, 180, places=4)).map(
        lambda t: {"fact": "location", "value": {"name": t[0], "lat": t[1], "lon": t[2]}}
    ),
)

claim_fields = st.fixed_dictionaries(
    {"incident": st.just("inc"), "report": st.just("rep")},
    optional={
        "unit": st.sampled_from(["people", "missiles"]),
        "valid_time": st.sampled_from(["2022-01-21", "[2022-01-24,2022-01-31]", "2022-02-01/.."]),
        "claimant": st.just("src"),
        "via": st.just(["afp"]),
        "quote": texts,
        "translation": texts,
        "credibility": st.integers(1, 6),
        "note": texts,
    },
).flatmap(lambda fields: values.map(lambda value: _drop_none(fields | value)))

FACTS: list[dict[str, Any]] = [
    {"key": "killed.security_forces", "kind": "count", "cumulative": True},
    {"key": "escaped", "kind": "count", "tolerance": {"absolute": 2}},
    {"key": "fuel.tonnes", "kind": "quantity", "tolerance": {"fraction": Decimal("0.05")}},
    {"key": "control", "kind": "choice", "choices": [{"value": "sdf"}, {"value": "isis"}]},
    {"key": "location", "kind": "place", "label": "Where", "label_ar": "أين"},
]
facts = st.lists(
    st.sampled_from(FACTS),
    unique_by=lambda fact: fact["key"],
    max_size=3,
).map(lambda found: [{"type": "fact", "incident": "inc"} | fact for fact in found])


@settings(max_examples=40, deadline=None)
@given(
    incident_extra=st.fixed_dictionaries(
        {},
        optional={
            "title_ar": texts,
            "place": texts,
            "related": st.just([{"incident": "other", "relation": "simultaneous"}]),
            "timezone": st.sampled_from(["Asia/Damascus", "UTC", "America/New_York"]),
        },
    ),
    declared=facts,
    source_extra=st.fixed_dictionaries(
        {}, optional={"name_ar": texts, "reliability": st.sampled_from(list("ABCDEF"))}
    ),
    report_extra=st.fixed_dictionaries(
        {},
        optional={
            "url": st.just("https://example.org/a?b=1"),
            "title": texts,
            "language": st.sampled_from(["ar", "en", "en-GB"]),
            "author": texts,
            "sha256": st.just("ab" * 32),
        },
    ),
    published=st.sampled_from(["2022-01-21", "2022-01-21T10:00:00Z", "2022-01-21T10:00:00.5Z"]),
    claim=claim_fields,
    correction=claim_fields,
    reason=maybe(texts),
    assessment_extra=st.fixed_dictionaries(
        {}, optional={"url": st.just("https://factcheck.example/x"), "note": texts}
    ),
    claim_id=ids,
)
def test_every_record_type_survives_events(
    incident_extra: dict[str, Any],
    declared: list[dict[str, Any]],
    source_extra: dict[str, Any],
    report_extra: dict[str, Any],
    published: str,
    claim: dict[str, Any],
    correction: dict[str, Any],
    reason: str | None,
    assessment_extra: dict[str, Any],
    claim_id: str,
) -> None:
    records = [
        {"type": "incident", "id": "other", "title": "Other"},
        {"type": "incident", "id": "inc", "title": "Incident"} | incident_extra,
        {"type": "source", "id": "afp", "name": "AFP", "kind": "agency"},
        {"type": "source", "id": "src", "name": "Source", "kind": "monitor"} | source_extra,
        *declared,
        {"type": "report", "id": "rep", "source": "src", "published_at": published} | report_extra,
        {"type": "claim", "id": claim_id} | claim,
        {"type": "correction", "id": claim_id + "-fix", "claim": claim_id}
        | correction
        # A correction that moves its claim to another fact says so (and keeps it).
        | ({"change_fact": True} if correction["fact"] != claim["fact"] else {}),
        _drop_none(
            {
                "type": "retraction",
                "id": "ret",
                "claim": claim_id + "-fix",
                "report": "rep",
                "reason": reason,
            }
        ),
        {
            "type": "assessment",
            "id": "as",
            "claim": claim_id,
            "verdict": "mixed",
            "by": "Desk",
            "published_at": "2022-02-02",
        }
        | assessment_extra,
    ]
    validated = [validate_record(r, "t") for r in records]
    with tempfile.TemporaryDirectory() as workdir:
        ledger = Ledger(locate(str(Path(workdir) / "l.db")).event_store_env())
        try:
            importer.record(ledger, [Entry("t", r) for r in validated])
            back = list(iter_records(ledger))
        finally:
            ledger.close()
    assert back == [r.model_dump(mode="json", exclude_none=True) for r in validated]
    for original, stored in zip(records, back, strict=True):
        for key, value in original.items():
            if isinstance(value, str):
                assert stored[key] == unicodedata.normalize("NFC", value)


def test_sample_round_trips_exactly(tmp_path: Path) -> None:
    lines = GHWAYRAN.read_text(encoding="utf-8").splitlines()
    entries = read_entries(lines)
    ledger = Ledger(locate(str(tmp_path / "l.db")).event_store_env())
    try:
        importer.record(ledger, entries)
        back = list(iter_records(ledger))
    finally:
        ledger.close()
    assert back == [e.record.model_dump(mode="json", exclude_none=True) for e in entries]


def test_every_event_class_has_an_explicit_versioned_topic() -> None:
    from incident_ledger.ledger.domain import Claim

    classes = {event for _, event in AGGREGATE_FOR_RECORD.values()} | {Claim.Superseded}
    for event_class in classes:
        topic = event_class.__dict__["TOPIC"]
        assert topic.startswith(TOPIC_PREFIX), event_class
        assert event_class.__module__ not in topic
