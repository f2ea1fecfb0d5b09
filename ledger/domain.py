"""The write-side domain: one small aggregate per record, past-tense events.

Nothing grows with an incident: every incident, source, report, claim,
retraction and assessment is its own aggregate, created by one event, so an
append costs the same at ten events or ten million. A claim being corrected
receives a second event (``Claim.Superseded``): that event is what makes two
concurrent corrections of one claim collide in the event store instead of
both succeeding. A fact of an incident (``Fact``) is an aggregate named by its
incident and key: created when it is declared or, for a fact never declared,
when its first claim gives it a kind (``Fact.Inferred``, written by the
ledger); declaring it again adds ``Fact.Redeclared``.

Every event class carries an explicit, versioned topic so that moving or
renaming code never orphans stored events; a schema change bumps
``class_version`` and adds an ``upcast_vN_vN+1`` static method, the
library's own upcasting.

An event class is declared as its topic and its fields, nothing more: it derives
from ``LedgerAggregate.Event`` (with ``LedgerCreated`` if it creates its aggregate),
takes no ``@dataclass`` decorator (``LedgerEvent`` makes every event a frozen
dataclass; a second decorator fails at import, saying so) and needs no ``apply`` unless it
changes its aggregate. The aggregate's creation events learn its topic by themselves.

Over 400 lines: every event class is here, so the log's schema reads in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import get_topic

from incident_ledger.ledger.claim_ends import (
    CORRECTED,
    RETRACTED,
    End,
    Standing,
    refuse_second_end,
)
from incident_ledger.ledger.leaves import (
    ENVELOPE,
    STAMP_LENGTH,
    absent_fields,
    canonical_json_text,
    framed_leaf,
    leaf_frame,
)
from incident_ledger.ledger.values import EDTFError, edtf_bounds, has_offset

if TYPE_CHECKING:
    from incident_ledger.ledger.records import AnyRecord


TOPIC_PREFIX = "incident-ledger/v1/"


class _EventClass(type):
    """The class of every ledger event: refuses a second ``@dataclass`` on an event.

    ``LedgerEvent.__init_subclass__`` makes each event a dataclass as its class is
    created, before any decorator on it runs, so a stray decorator can only be seen when
    it starts: it first records its parameters on the class, here a second time.
    Without this, Python fails with "Cannot overwrite attribute __setattr__", which does
    not say what to do.
    """

    def __setattr__(cls, name: str, value: Any) -> None:
        if name == "__dataclass_params__" and name in vars(cls):
            raise TypeError(
                f"event class {cls.__qualname__} has a @dataclass decorator: LedgerEvent "
                "makes every event a frozen dataclass; remove the decorator"
            )
        super().__setattr__(name, value)


@dataclass_transform(frozen_default=True)
@dataclass(frozen=True)
class LedgerEvent(CanMutateAggregate[str], metaclass=_EventClass):
    """Base of every ledger event: string aggregate ids, UTC timestamp = recorded time.

    Every subclass is made a frozen dataclass as it is defined (as the library's own
    ``DomainEvent`` does with a metaclass): its annotated fields are the event's stored
    state, in the order they are declared.
    """

    originator_id: str
    originator_version: int
    timestamp: datetime

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        dataclass(frozen=True)(cls)

    def apply(self, aggregate: Any) -> None:
        """Events that change no aggregate state need no apply method."""


class LedgerCreated(CanInitAggregate[str], LedgerEvent):
    """Base of the events that create an aggregate."""

    originator_topic: str
    aggregate_topic: ClassVar[str]
    """The topic of the aggregate class it creates (stored events leave it out)."""

    def apply(self, aggregate: Any) -> None:
        """An aggregate the ledger or the desk creates holds no record of the user's (one
        created from a record: ``_Registered``)."""
        aggregate.record = None


class LedgerAggregate(BaseAggregate[str]):
    """Base aggregate: holds the record it was created from."""

    kind: ClassVar[str] = ""
    if TYPE_CHECKING:  # set by the creation event; not annotations the metaclass would see
        record: AnyRecord

    class Event(LedgerEvent):
        pass

    def __init_subclass__(cls, **options: Any) -> None:
        """Every aggregate's events derive from the one ``LedgerAggregate.Event``, so the
        library's set-up (which registers their topics) keeps each event class as it is
        written rather than defining a subclass of it under the aggregate. Then each
        creation event learns the aggregate's topic, the ``originator_topic`` it carries."""
        cls.Event = LedgerAggregate.Event  # type: ignore[misc]  # a class attribute, set once
        super().__init_subclass__(**options)
        for value in list(vars(cls).values()):
            if isinstance(value, type) and issubclass(value, LedgerCreated):
                value.aggregate_topic = get_topic(cls)

    @classmethod
    def aggregate_id(cls, record_id: str) -> str:
        """The event-store id of the aggregate for a user's record id."""
        return f"{cls.kind}:{record_id}"


class _Registered(LedgerCreated):
    """Shared behaviour of creation events: rebuild the record they carry."""

    record_type: ClassVar[str]
    derived: ClassVar[frozenset[str]] = frozenset()
    """Fields the ledger works out from the record's own (``derived_fields``): not the
    record's."""

    def to_record(self) -> AnyRecord:
        """The record this event was created from."""
        left_out = ENVELOPE | self.derived
        payload = {
            key: value
            for key, value in vars(self).items()
            if key not in left_out and value is not None
        }
        record_id = self.originator_id.split(":", 1)[1]
        # The pydantic models load on first use: reading the ledger never needs them.
        from incident_ledger.ledger import records

        model = getattr(records, self.record_type)
        record: AnyRecord = model.model_validate({"id": record_id, **payload})
        return record

    def apply(self, aggregate: Any) -> None:
        aggregate.record = self.to_record()
        aggregate.superseded_by = None
        aggregate.retracted_by = None
        aggregate.ended_at = None
        aggregate.ends = []


class Incident(LedgerAggregate):
    """An incident the ledger follows."""

    TOPIC = TOPIC_PREFIX + "Incident"
    kind = "incident"

    class Registered(LedgerAggregate.Event, _Registered):
        TOPIC = TOPIC_PREFIX + "Incident.Registered"
        record_type = "IncidentRecord"
        class_version = 2
        title: str
        title_ar: str | None
        place: str | None
        timezone: str | None
        related: list[dict[str, str]] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no time zone: its incidents are read in UTC."""
            state.setdefault("timezone", None)


class Source(LedgerAggregate):
    """A source: outlet, monitor, armed group, government, agency …"""

    TOPIC = TOPIC_PREFIX + "Source"
    kind = "source"

    class Registered(LedgerAggregate.Event, _Registered):
        TOPIC = TOPIC_PREFIX + "Source.Registered"
        record_type = "SourceRecord"
        name: str
        name_ar: str | None
        kind: str
        reliability: str | None

    class Rated(LedgerAggregate.Event):
        """The ledger's own re-grading of a source, with its reason."""

        TOPIC = TOPIC_PREFIX + "Source.Rated"
        reliability: str
        reason: str
        effective_from: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.reliability = self.reliability

    def rate(self, reliability: str, reason: str, effective_from: str | None, at: datetime) -> None:
        """Re-grade the source (Admiralty A–F) for a stated reason."""
        self.trigger_event(
            self.Rated,
            reliability=reliability,
            reason=reason,
            effective_from=effective_from,
            timestamp=at,
        )


@dataclass(frozen=True)
class _FactFields:
    """What a ``fact`` record says (``records.FactRecord``): the fields of every event
    that declares a fact."""

    incident: str
    key: str
    kind: str
    unit: str | None
    cumulative: bool | None
    tolerance: dict[str, str] | None
    choices: list[dict[str, Any]] | None
    label: str | None
    label_ar: str | None

    def to_record(self) -> AnyRecord:
        """The declaration as its record: a fact has no id beyond its incident and key."""
        from incident_ledger.ledger import records

        payload = {
            key: value
            for key, value in vars(self).items()
            if key not in ENVELOPE and value is not None
        }
        record: AnyRecord = records.FactRecord.model_validate(payload)
        return record


class _Declaration(_Registered, _FactFields):
    """A fact's first declaration: a creation event carrying a ``fact`` record."""

    to_record = _FactFields.to_record


class Fact(LedgerAggregate):
    """A fact of an incident, named ``incident/key``, and the kind of value it takes."""

    TOPIC = TOPIC_PREFIX + "Fact"
    kind = "fact"
    if TYPE_CHECKING:
        version_of_rules: int

    class Declared(LedgerAggregate.Event, _Declaration):
        """A ``fact`` record declared the fact (its first event)."""

        TOPIC = TOPIC_PREFIX + "Fact.Declared"
        record_type = "FactRecord"

    class Redeclared(LedgerAggregate.Event, _FactFields):
        """A later ``fact`` record, or a first declaration of a fact whose kind its
        first claim had given: the declaration from now on."""

        TOPIC = TOPIC_PREFIX + "Fact.Redeclared"

    class Inferred(LedgerCreated, LedgerAggregate.Event):
        """The ledger's note that a fact never declared takes the kind of its first
        claim (``claim``): not a record of the user's, so it has no ``to_record``."""

        TOPIC = TOPIC_PREFIX + "Fact.Inferred"
        incident: str
        key: str
        kind: str
        claim: str


def fact_id(incident: str, key: str) -> str:
    """The event-store id of the fact ``key`` of an incident."""
    return f"{Fact.kind}:{incident}/{key}"


class Report(LedgerAggregate):
    """A published report."""

    TOPIC = TOPIC_PREFIX + "Report"
    kind = "report"

    class Registered(LedgerAggregate.Event, _Registered):
        TOPIC = TOPIC_PREFIX + "Report.Registered"
        record_type = "ReportRecord"
        class_version = 2
        source: str
        published_at: str
        url: str | None
        title: str | None
        language: str | None
        author: str | None
        sha256: str | None
        archive_url: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no archived copy."""
            state.setdefault("archive_url", None)


class _ClaimPayload(_Registered):
    incident: str
    fact: str
    value: Any
    qualifier: str | None
    unit: str | None
    valid_time: str | None
    report: str
    claimant: str | None
    via: list[str] | None
    quote: str | None
    translation: str | None
    credibility: int | None
    note: str | None
    valid_bounds: list[str | None] | None
    """``valid_time`` read when the claim was recorded (``valid_bounds``)."""

    derived = frozenset({"valid_bounds"})


def valid_bounds(valid_time: str | None) -> list[str | None] | None:
    """A claim's ``valid_time`` as its event keeps it, read once when it is recorded:
    [earliest, latest, clock]. The instants are storage keys of the value read on UTC's
    clock (None: an open end); the clock is ``"local"`` when its calendar days and
    times of day are the incident's, moved to its zone when read
    (``facts.bounds_in_zone``), or ``"instant"`` for a time with ``Z`` or an offset,
    the same instant wherever it is read. None without a valid time, or one that
    cannot be read (the read model then reads it from its text, and refuses it)."""
    if valid_time is None:
        return None
    try:
        low, high = edtf_bounds(valid_time)
    except EDTFError:
        return None
    return [low, high, "instant" if has_offset(valid_time) else "local"]


def derived_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a creation event of a record of this kind carries beside the record's
    own fields (those that are None left out): a claim's or correction's
    ``valid_bounds``."""
    if kind in ("claim", "correction") and fields.get("valid_time") is not None:
        bounds = valid_bounds(fields["valid_time"])
        if bounds is not None:
            return {"valid_bounds": bounds}
    return {}


class Claim(LedgerAggregate):
    """A claim, or a correction that replaces an earlier claim."""

    TOPIC = TOPIC_PREFIX + "Claim"
    kind = "claim"
    if TYPE_CHECKING:
        superseded_by: str | None
        retracted_by: str | None
        ended_at: datetime | None
        ends: list[End]

    class Recorded(LedgerAggregate.Event, _ClaimPayload):
        TOPIC = TOPIC_PREFIX + "Claim.Recorded"
        record_type = "ClaimRecord"
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 kept no bounds of its valid time: they are read from it."""
            state["valid_bounds"] = valid_bounds(state.get("valid_time"))

    class RecordedAsCorrection(LedgerAggregate.Event, _ClaimPayload):
        TOPIC = TOPIC_PREFIX + "Claim.RecordedAsCorrection"
        record_type = "CorrectionRecord"
        class_version = 3
        change_fact: bool | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no ``change_fact``: its corrections kept their claim's fact."""
            state.setdefault("change_fact", None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2 kept no bounds of its valid time: they are read from it."""
            state["valid_bounds"] = valid_bounds(state.get("valid_time"))

        claim: str

    class Superseded(LedgerAggregate.Event):
        TOPIC = TOPIC_PREFIX + "Claim.Superseded"
        by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.superseded_by = self.by
            aggregate.ended_at = self.timestamp
            aggregate.ends = [
                *aggregate.ends,
                End(CORRECTED, self.by, self.timestamp, self.originator_version),
            ]

    class Retracted(LedgerAggregate.Event):
        """A retraction ended the claim: like ``Superseded``, it makes two writers ending
        one claim at once (one correcting, one retracting) collide in the event store."""

        TOPIC = TOPIC_PREFIX + "Claim.Retracted"
        by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.retracted_by = self.by
            aggregate.ended_at = self.timestamp
            aggregate.ends = [
                *aggregate.ends,
                End(RETRACTED, self.by, self.timestamp, self.originator_version),
            ]

    def supersede(
        self, correction_id: str, timestamp: datetime, standing: Callable[[End], Standing]
    ) -> None:
        """Mark this claim as replaced by a correction: refused if an end that stands
        (``standing``) ended it already (``claim_ends.refuse_second_end``)."""
        refuse_second_end(self.record.id, self.ends, CORRECTED, standing)
        self.trigger_event(self.Superseded, by=correction_id, timestamp=timestamp)

    def retract(
        self, retraction_id: str, timestamp: datetime, standing: Callable[[End], Standing]
    ) -> None:
        """Mark this claim as retracted, under the same rule as ``supersede``."""
        refuse_second_end(self.record.id, self.ends, RETRACTED, standing)
        self.trigger_event(self.Retracted, by=retraction_id, timestamp=timestamp)


class Retraction(LedgerAggregate):
    """A report's withdrawal of a claim."""

    TOPIC = TOPIC_PREFIX + "Retraction"
    kind = "retraction"

    class Recorded(LedgerAggregate.Event, _Registered):
        TOPIC = TOPIC_PREFIX + "Retraction.Recorded"
        record_type = "RetractionRecord"
        claim: str
        report: str
        reason: str | None


class Assessment(LedgerAggregate):
    """A fact-checker's verdict on a claim."""

    TOPIC = TOPIC_PREFIX + "Assessment"
    kind = "assessment"

    class Recorded(LedgerAggregate.Event, _Registered):
        TOPIC = TOPIC_PREFIX + "Assessment.Recorded"
        record_type = "AssessmentRecord"
        class_version = 2
        claim: str
        verdict: str
        by: str
        published_at: str
        url: str | None
        summary: str | None
        note: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no summary."""
            state.setdefault("summary", None)


AGGREGATE_FOR_RECORD: dict[str, tuple[type[LedgerAggregate], type[_Registered]]] = {
    "incident": (Incident, Incident.Registered),
    "source": (Source, Source.Registered),
    "report": (Report, Report.Registered),
    "claim": (Claim, Claim.Recorded),
    "correction": (Claim, Claim.RecordedAsCorrection),
    "retraction": (Retraction, Retraction.Recorded),
    "assessment": (Assessment, Assessment.Recorded),
    "fact": (Fact, Fact.Declared),
}


def aggregate_id_for(kind: str, record_id: str) -> str:
    """The event-store id of the aggregate a record of this kind and id creates."""
    return f"{AGGREGATE_FOR_RECORD[kind][0].kind}:{record_id}"


def creation_event(record: AnyRecord, timestamp: datetime) -> Any:
    """The event that creates a record's aggregate, built without building the aggregate."""
    fields = record.model_dump(mode="json", exclude={"type", "id"})
    return creation_event_of(record.type, record.id, fields, timestamp)


def creation_event_of(
    kind: str, record_id: str, fields: dict[str, Any], timestamp: datetime
) -> Any:
    """The creation event of a record given as its kind, id and validated JSON fields."""
    aggregate_class, event_class = AGGREGATE_FOR_RECORD[kind]
    return event_class(
        originator_id=aggregate_class.aggregate_id(record_id),
        originator_version=aggregate_class.INITIAL_VERSION,
        timestamp=timestamp,
        originator_topic=event_class.aggregate_topic,
        # fields left out are None
        **{**absent_fields(event_class), **fields, **derived_fields(kind, fields)},
    )


def creation_data(fields: dict[str, Any], kind: str, *, none_left_out: bool = False) -> str:
    """A record's JSON fields (``model_dump(mode="json")`` without type and id) as the
    creation event of a record of this ``kind`` carries them, with the fields it works
    out (``derived_fields``): canonical JSON, fields that are None left out (``none_left_out``:
    the caller already left them out, as the import's spool does for every record)."""
    derived = derived_fields(kind, fields)
    if derived:
        fields = {**fields, **derived}
    if not none_left_out:
        fields = {key: value for key, value in fields.items() if value is not None}
    return canonical_json_text(fields)


def reference_columns(kind: str, fields: dict[str, Any]) -> tuple[str, str]:
    """The aggregate ids a record of this kind references, and the field naming each, each
    ``;``-joined in the same order (ids never hold a semicolon), as the spool keeps them.

    Built as two strings directly: this runs for every record an import validates.
    """
    get = fields.get
    if kind in ("claim", "correction"):
        ids = f"incident:{fields['incident']};report:{fields['report']}"
        names = "incident;report"
        claimant = get("claimant")
        if claimant is not None:
            ids += f";source:{claimant}"
            names += ";claimant"
        via = get("via")
        if via:
            ids += "".join([f";source:{relay}" for relay in via])
            names += ";via" * len(via)
        if kind == "correction":
            ids += f";claim:{fields['claim']}"
            names += ";claim"
        return ids, names
    if kind == "report":
        return f"source:{fields['source']}", "source"
    if kind == "incident":
        related = get("related") or ()
        return (
            ";".join([f"incident:{r['incident']}" for r in related]),
            ";".join(["related.incident"] * len(related)),
        )
    if kind == "retraction":
        return f"claim:{fields['claim']};report:{fields['report']}", "claim;report"
    if kind == "assessment":
        return f"claim:{fields['claim']}", "claim"
    if kind == "fact":
        return f"incident:{fields['incident']}", "incident"
    return "", ""


def creation_leaf(
    kind: str, record_id: str, data_json: str, recorded: str
) -> tuple[str, str, bytes]:
    """(aggregate id, topic, leaf) of the creation event of a record, from ``creation_data``.

    The leaf is byte for byte ``leaf_bytes(creation_event(record, timestamp))``.
    """
    shape = _CREATION_SHAPES.get(kind)
    if shape is None:
        aggregate_class, event_class = AGGREGATE_FOR_RECORD[kind]
        topic = get_topic(event_class)
        class_version = getattr(event_class, "class_version", 1)
        head, tail = leaf_frame(topic, aggregate_class.INITIAL_VERSION, class_version)
        shape = _CREATION_SHAPES[kind] = (f"{aggregate_class.kind}:", topic, head, tail)
    prefix, topic, head, tail = shape
    aggregate_id = prefix + record_id
    return aggregate_id, topic, framed_leaf(head, tail, aggregate_id, recorded, data_json)


_CREATION_SHAPES: dict[str, tuple[str, str, str, str]] = {}

_RECORDED_AT = b',"recorded_at":"'


def is_creation_of(kind: str, record_id: str, data_json: str, topic: str, leaf: bytes) -> bool:
    """Whether a stored creation event (its topic and leaf) records exactly this record.

    True only for the very leaf ``creation_leaf`` would write, at the stored event's
    recorded time; anything else (an older class version, say) is for the caller to
    compare the slow way.
    """
    at = leaf.rfind(_RECORDED_AT)
    if at < 0:
        return False
    recorded = leaf[at + len(_RECORDED_AT) : at + len(_RECORDED_AT) + STAMP_LENGTH].decode(
        "ascii", "replace"
    )
    _, expected_topic, expected = creation_leaf(kind, record_id, data_json, recorded)
    return topic == expected_topic and leaf == expected
