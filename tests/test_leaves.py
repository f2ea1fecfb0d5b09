"""Leaves: the fast canonical encoder agrees with the rfc8785 reference."""

from __future__ import annotations

from typing import Any, cast

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_ledger.ledger.leaves import canonical_json

keys = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
texts = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),  # valid Unicode: no lone surrogates
    max_size=40,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53) + 1, 2**53 - 1),
    texts,
    st.sampled_from(["ما لا يقل عن 20", "\u2028\u2029", "\x00\x1f\x7f", '"\\/', "𝄞 é"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=25,
)


@settings(max_examples=400)
@given(st.dictionaries(keys, values, max_size=8))
def test_fast_canonical_json_equals_rfc8785(value: dict[str, object]) -> None:
    assert canonical_json(value) == rfc8785.dumps(cast(Any, value))


def test_stored_bytes_are_the_leaf_of_the_decoded_event(tmp_path: object) -> None:
    """Every kind of event round-trips: stored bytes → event object → the same leaf."""
    from pathlib import Path

    from incident_ledger.ledger import samples
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.leaves import leaf_bytes
    from incident_ledger.ledger.stores.location import locate
    from incident_ledger.usecases import writing

    db = str(Path(str(tmp_path)) / "ledger.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    writing.append_one(
        db,
        {
            "type": "correction",
            "id": "fix",
            "claim": "c-002-killed-sf",
            "incident": "ghwayran-2022",
            "fact": "killed.security_forces",
            "value": {"min": 7, "max": 9},
            "report": "report-002",
        },
    )
    writing.rate(db, "sohr", "B", reason="track record", effective_from="2022-01-22")
    fact = {"type": "fact", "incident": "ghwayran-2022", "key": "fighting.duration"}
    writing.append_one(db, fact | {"kind": "quantity", "unit": "days"})  # declared anew
    claim = {"type": "claim", "id": "new", "incident": "ghwayran-2022", "report": "report-004"}
    writing.append_one(db, claim | {"fact": "wounded", "value": 3})  # kind from this claim
    ledger = Ledger(locate(db).event_store_env(create=False))
    try:
        notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
        # the desk's first admin and its batch; a batch signature per write (five)
        assert len(notifications) == 2 + 138 + 2 + 1 + 1 + 2 + 5
        for n in notifications:
            event = ledger.mapper.to_domain_event(n)
            assert n.state == leaf_bytes(event) == ledger.leaf_mapper.leaf_of(n)
            assert ledger.mapper.to_stored_event(event).state == n.state
        assert {type(ledger.mapper.to_domain_event(n)).__name__ for n in notifications} >= {
            "Registered",
            "Recorded",
            "RecordedAsCorrection",
            "Superseded",
            "Rated",
            "Declared",
            "Redeclared",
            "Inferred",
        }
    finally:
        ledger.close()


def test_a_row_whose_columns_disagree_with_its_leaf_is_refused() -> None:
    import pytest
    from eventsourcing.persistence import MapperDeserialisationError

    from incident_ledger.ledger.mapper import check_envelope

    leaf = canonical_json(
        {
            "data": {"by": "claim:x"},
            "id": "claim:ع-1",
            "recorded_at": "2022-01-20T19:00:00.000000Z",
            "topic": "incident-ledger/v1/Claim.Superseded",
            "version": 2,
        }
    )
    check_envelope(leaf, "claim:ع-1", 2, "incident-ledger/v1/Claim.Superseded")
    for wrong in (
        ("claim:ع-2", 2, "incident-ledger/v1/Claim.Superseded"),
        ("claim:ع-1", 3, "incident-ledger/v1/Claim.Superseded"),
        ("claim:ع-1", 2, "incident-ledger/v1/Claim.Recorded"),
        ("laim:ع-1", 2, "incident-ledger/v1/Claim.Superseded"),
    ):
        with pytest.raises(MapperDeserialisationError):
            check_envelope(leaf, *wrong)


@settings(max_examples=300)
@given(texts, st.sampled_from(["incident", "claim", "correction"]))
def test_a_framed_leaf_quotes_any_id_as_the_encoder_does(record_id: str, kind: str) -> None:
    from incident_ledger.ledger.leaves import framed_leaf, leaf_frame

    head, tail = leaf_frame("ledger.domain:Claim.Created", 1)
    data = canonical_json({"fact": "killed"}).decode()
    leaf = framed_leaf(head, tail, f"{kind}:{record_id}", "2022-01-20T19:00:00.000000Z", data)
    assert leaf == canonical_json(
        {
            "data": {"fact": "killed"},
            "id": f"{kind}:{record_id}",
            "recorded_at": "2022-01-20T19:00:00.000000Z",
            "topic": "ledger.domain:Claim.Created",
            "version": 1,
        }
    )


def test_bulk_leaves_equal_the_leaves_of_the_events_they_stand_for() -> None:
    """Import writes creation leaves from their parts; they must be the events' own leaves."""
    import json
    from datetime import UTC, datetime

    from eventsourcing.utils import get_topic

    from incident_ledger.ledger import samples
    from incident_ledger.ledger.domain import creation_data, creation_event, creation_leaf
    from incident_ledger.ledger.imports.parsing import validate_record
    from incident_ledger.ledger.leaves import leaf_bytes, recorded_key

    at = datetime(2022, 1, 20, 19, 0, 0, 123456, tzinfo=UTC)
    lines = samples.GHWAYRAN.read_text(encoding="utf-8").splitlines()
    extra = [
        {"type": "incident", "id": "x", "title": "T",
         "related": [{"incident": "y", "relation": "r"}]},
        {"type": "correction", "id": "k", "claim": "c", "incident": "x", "fact": "f",
         "value": {"min": 1, "max": 3}, "report": "r", "via": ["a", "b"], "quote": "ما لا يقل"},
        {"type": "assessment", "id": "a", "claim": "c", "verdict": "false", "by": "desk",
         "published_at": "2022-01-21"},
    ]  # fmt: skip
    records = [validate_record(json.loads(line), "t") for line in lines if line.strip()]
    records += [validate_record(record, "t") for record in extra]
    kinds = set()
    for record in records:
        fields = record.model_dump(mode="json", exclude={"type", "id"})
        aggregate_id, topic, leaf = creation_leaf(
            record.type, record.id, creation_data(fields, record.type), recorded_key(at)
        )
        event = creation_event(record, at)
        assert leaf == leaf_bytes(event)
        assert (aggregate_id, topic) == (event.originator_id, get_topic(type(event)))
        kinds.add(record.type)
    assert kinds >= {"incident", "source", "report", "claim", "correction", "assessment"}


@settings(max_examples=300)
@given(
    st.text(alphabet=st.sampled_from('ae\u0301\u0327\u0308\u064b\u0651عاﻻ"\\ u0301'), max_size=12)
)
def test_whole_line_nfc_equals_per_string_nfc(text: str) -> None:
    """Normalizing an import line at once gives the strings per-string NFC would."""
    import json
    import unicodedata

    from incident_ledger.ledger.imports.parsing import normalized_line

    line = json.dumps({"quote": text, "note": "x" + text}, ensure_ascii=False)
    whole = normalized_line(line)
    if whole is None:
        return  # an escape: the models normalize string by string
    parsed = json.loads(whole)
    assert parsed == {
        "quote": unicodedata.normalize("NFC", text),
        "note": unicodedata.normalize("NFC", "x" + text),
    }


def test_a_stored_creation_is_recognised_as_its_record_and_only_it(tmp_path: object) -> None:
    """Re-import compares a record with its stored creation leaf in one comparison."""
    import json
    from pathlib import Path

    from incident_ledger.ledger import samples
    from incident_ledger.ledger.domain import aggregate_id_for, creation_data, is_creation_of
    from incident_ledger.ledger.imports.parsing import validate_record
    from incident_ledger.usecases import workspace, writing

    db = str(Path(str(tmp_path)) / "l.db")
    writing.init(db)
    writing.append_file(db, str(samples.GHWAYRAN))
    with workspace.open_workspace(db) as ws, ws.ledger.audit.reading() as view:
        lines = samples.GHWAYRAN.read_text(encoding="utf-8").splitlines()
        records = [validate_record(json.loads(line), "t") for line in lines if line.strip()]
        ids = [aggregate_id_for(r.type, r.id) for r in records]
        stored = view.creation_states(ids)
        assert len(stored) == len(records)
        for record, aggregate_id in zip(records, ids, strict=True):
            fields = record.model_dump(mode="json", exclude={"type", "id"})
            data = creation_data(fields, record.type)
            topic, leaf = stored[aggregate_id]
            assert is_creation_of(record.type, record.id, data, topic, leaf)
            changed = data.replace('"', "'", 1) if data != "{}" else '{"x":1}'
            assert not is_creation_of(record.type, record.id, changed, topic, leaf)
            assert not is_creation_of(record.type, record.id + "x", data, topic, leaf)


def test_values_the_fast_encoder_refuses_are_encoded_as_before() -> None:
    """orjson refuses integers beyond 64 bits and lone surrogates; the standard
    encoder then gives what it always gave (text for the one, an error for the other)."""
    import json

    import pytest

    from incident_ledger.ledger.leaves import canonical_json_text

    big = {"b": 2**70, "a": "x"}
    assert canonical_json(big) == b'{"a":"x","b":1180591620717411303424}'
    assert canonical_json_text(big) == json.dumps(big, sort_keys=True, separators=(",", ":"))
    assert canonical_json_text({"t": "\ud800"}) == '{"t":"\ud800"}'
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"t": "\ud800"})
