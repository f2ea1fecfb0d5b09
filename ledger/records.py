"""The records users import (docs/import-format.md), validated by pydantic.

Every record that enters the ledger passes through these models: unknown
fields are refused, text is NFC-normalized, counts are JSON integers, decimals
(quantities, tolerances, coordinates) are kept exact and written as decimal
strings in the leaf, and times and EDTF values are checked. A record is the
user's statement; the domain turns it into an event without changing it.
Whether a claim's value fits its fact's kind needs the ledger (``ledger.facts``).

Over 400 lines: every record type is here, so the import format reads as one schema.
"""

from __future__ import annotations

import re
import typing
import unicodedata
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.facts import NUMERIC_KINDS, FactKind
from incident_ledger.ledger.record_names import RECORD_TYPES as RECORD_TYPES
from incident_ledger.ledger.record_names import Reliability
from incident_ledger.ledger.times import instant_key, is_date_only, time_zone
from incident_ledger.ledger.values import (
    DECIMAL_TEXT,
    MAX_SAFE_INTEGER,
    Qualifier,
    check_claim_value,
    degrees,
    edtf_bounds,
    exact_decimal,
)

T = TypeVar("T")

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_FACT = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


def _check_fact(value: str) -> str:
    # fullmatch: a pattern ending in ``$`` would let a trailing newline through.
    if len(value) > 128 or not _FACT.fullmatch(value):
        raise ValueError("must be a dotted lowercase key such as killed.security_forces")
    return value


# Checked by pydantic-core itself (a Python validator per id cost a tenth of validation);
# its regex engine's ``$`` is the end of the text, with no newline allowed before it.
RecordId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
FactKey = Annotated[str, AfterValidator(_check_fact)]
_URL_PATTERN = r"^https?://\S+$"
_SHA256_PATTERN = r"^[0-9a-f]{64}$"
_LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
PATTERN_RULES = {
    ID_PATTERN: "must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
    _URL_PATTERN: "must be an http:// or https:// address, without spaces",
    _SHA256_PATTERN: "must be 64 lowercase hexadecimal digits",
    _LANGUAGE_PATTERN: "must be a language tag such as ar, en or en-GB",
}
"""The rule a field checked by a pattern follows, in words, for the error message."""
TEXT_MAX = 100_000
"""The most characters of a text field (a quote, a note …)."""
UNIT_MAX = 64
"""The most characters of a unit."""
CREDIBILITY = (1, 6)
"""The lowest and highest credibility grade."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
Url = Annotated[str, StringConstraints(pattern=_URL_PATTERN, max_length=4096)]
Sha256 = Annotated[str, StringConstraints(pattern=_SHA256_PATTERN)]
# Enums arrive as their string values from JSON and from command-line flags alike.
Lax = Annotated[T, Field(strict=False)]
Language = Annotated[str, StringConstraints(pattern=_LANGUAGE_PATTERN)]


class SourceKind(StrEnum):
    """What kind of voice a source is."""

    OUTLET = "outlet"
    MONITOR = "monitor"
    ARMED_GROUP = "armed_group"
    GOVERNMENT = "government"
    AGENCY = "agency"
    SOCIAL = "social"
    OTHER = "other"


class Verdict(StrEnum):
    """A fact-check's rating of a claim."""

    TRUE = "true"
    MOSTLY_TRUE = "mostly_true"
    MIXED = "mixed"
    MISLEADING = "misleading"
    FALSE = "false"
    UNVERIFIABLE = "unverifiable"


def _nfc(value: Any) -> Any:
    if type(value) is str:
        if value.isascii():  # most ids, keys and English text: nothing to normalize
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (it holds a lone surrogate)") from None
        return (
            value
            if unicodedata.is_normalized("NFC", value)
            else unicodedata.normalize("NFC", value)
        )
    if type(value) is dict:
        return {key: _nfc(item) for key, item in value.items()}
    if type(value) is list:
        return [_nfc(item) for item in value]
    return value


def _check_instant(value: str) -> str:
    """Normalize a ``published_at``: a date stays a date, a date-time becomes UTC ``Z``.

    Checked by computing the very key the read model will store (``instant_key``).
    """
    key = instant_key(value)
    if is_date_only(value):
        return value.strip()
    return key[:26].rstrip("0").rstrip(".") + "Z"


def _check_edtf(value: str) -> str:
    edtf_bounds(value)  # the bounds the read model will store; EDTFError is a ValueError
    return value


class RecordBase(BaseModel):
    """Common configuration: strict types, no unknown fields, NFC text, immutable."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True
    )
    """A field's docstring is its description: the help of its flag (``ledger add``)."""

    @model_validator(mode="before")
    @classmethod
    def _normalize_text(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("normalized"):
            return data  # the importer normalized the whole line (importing.normalized_line)
        return _nfc(data)


class RelatedIncident(RecordBase):
    """A link from one incident to another (for example a simultaneous attack)."""

    incident: RecordId
    relation: Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _check_zone(value: str) -> str:
    try:
        time_zone(value)
    except BadInputError as error:
        raise ValueError(str(error)) from None
    return value


TimeZone = Annotated[str, AfterValidator(_check_zone)]


class IncidentRecord(RecordBase):
    """An incident the ledger follows, and the time zone its dates are read in."""

    type: Literal["incident"] = "incident"
    id: RecordId
    """The incident's id, used by its claims (letters, digits, . _ : -)."""
    title: Text
    """Its title, in English."""
    title_ar: Text | None = None
    """Its title in Arabic."""
    place: Text | None = None
    """Where it happened, in words."""
    timezone: TimeZone | None = None
    """The IANA time zone its dates are read in, such as Asia/Damascus."""
    related: list[RelatedIncident] | None = None
    """Other incidents it is linked to, in JSON: [{"incident": ID, "relation": TEXT}]."""


class SourceRecord(RecordBase):
    """A voice: an outlet, a monitor, an armed group, a government …"""

    type: Literal["source"] = "source"
    id: RecordId
    """The source's id, used by its reports (letters, digits, . _ : -)."""
    name: Text
    """Its name."""
    name_ar: Text | None = None
    """Its name in Arabic."""
    kind: Lax[SourceKind]
    """What kind of voice it is."""
    reliability: Lax[Reliability] | None = None
    """Its Admiralty reliability grade, A (reliable) to F (cannot be judged)."""


class ReportRecord(RecordBase):
    """A published report: an article, a statement, a post."""

    type: Literal["report"] = "report"
    id: RecordId
    """The report's id, used by its claims (letters, digits, . _ : -)."""
    source: RecordId
    """The id of the source that published it."""
    published_at: str
    """When it was published: a date (2022-01-21) or a date and time with its offset
    (2022-01-21T05:00+03:00)."""
    url: Url | None = None
    """Where it is, an http(s) URL."""
    title: Text | None = None
    """Its title."""
    language: Language | None = None
    """Its language, a code such as ar or en."""
    author: Text | None = None
    """Who wrote it."""
    sha256: Sha256 | None = None
    """The SHA-256 of the report's content as archived, 64 lowercase hex digits."""
    archive_url: Url | None = None
    """An archived copy of the report, such as a Wayback Machine snapshot."""

    @field_validator("published_at")
    @classmethod
    def _instant(cls, value: str) -> str:
        try:
            return _check_instant(value)
        except BadInputError as error:
            raise ValueError(str(error)) from None


# A decimal given as a JSON number (parsed exactly) or, where a string cannot be
# mistaken for anything else, as a decimal string; the leaf writes it as a string.
Exact = Annotated[Decimal, Field(strict=False), AfterValidator(exact_decimal)]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]


class NumberRange(RecordBase):
    """A claimed range, ``{"min": a, "max": b}``: of counts (whole numbers) or quantities."""

    min: Count | Exact
    max: Count | Exact

    @model_validator(mode="after")
    def _ordered(self) -> NumberRange:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


Degrees = Annotated[Decimal, Field(strict=False), BeforeValidator(degrees)]


class PlaceValue(RecordBase):
    """A place with a WGS84 point: ``{"name": text, "lat": degrees, "lon": degrees}``."""

    name: Text
    lat: Annotated[Degrees, Field(ge=-90, le=90)]
    lon: Annotated[Degrees, Field(ge=-180, le=180)]


ClaimValue = (
    Count
    | Annotated[Decimal, AfterValidator(exact_decimal)]
    | NumberRange
    | PlaceValue
    | bool
    | Text
)


def qualifier_problem(qualifier: str, value: Any) -> str | None:
    """Why a qualifier does not fit a claim's valid value, or None: a qualifier applies
    to a single number, and ``less_than 0`` to none."""
    is_number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    is_number = is_number or (isinstance(value, str) and DECIMAL_TEXT.match(value) is not None)
    if not is_number:
        return "a qualifier applies only to a single number"
    if qualifier == Qualifier.LESS_THAN and Decimal(str(value)) == 0:
        return "'less_than 0' is impossible for a count"
    return None


class ClaimFields(RecordBase):
    """The fields of a claim, shared by ``claim`` and ``correction`` records."""

    incident: RecordId
    fact: FactKey
    value: ClaimValue
    qualifier: Lax[Qualifier] | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=UNIT_MAX)] | None = None
    valid_time: str | None = None
    report: RecordId
    claimant: RecordId | None = None
    via: list[RecordId] | None = None
    quote: Text | None = None
    translation: Text | None = None
    credibility: Annotated[int, Field(ge=CREDIBILITY[0], le=CREDIBILITY[1])] | None = None
    note: Text | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_shape(cls, value: Any) -> Any:
        return check_claim_value(value)  # the same checks for every way in (ledger.values)

    @field_validator("valid_time")
    @classmethod
    def _valid_time(cls, value: str | None) -> str | None:
        return None if value is None else _check_edtf(value)

    @field_validator("qualifier")
    @classmethod
    def _qualifier_fits(cls, qualifier: Qualifier | None, info: ValidationInfo) -> Qualifier | None:
        if qualifier is None:  # most claims
            return None
        if "value" in info.data:  # else the value is wrong, and that is the problem named
            problem = qualifier_problem(qualifier, info.data["value"])
            if problem is not None:
                raise ValueError(problem)
        return qualifier

    @field_validator("via")
    @classmethod
    def _distinct_relays(cls, via: list[str] | None) -> list[str] | None:
        if via is not None and len(set(via)) != len(via):
            raise ValueError("lists a source twice")
        return via


class ClaimRecord(ClaimFields):
    """A claim: who said what about one fact of an incident, in which report."""

    type: Literal["claim"] = "claim"
    id: RecordId


class CorrectionRecord(ClaimFields):
    """A replacement for an earlier claim; the correction is itself a claim."""

    type: Literal["correction"] = "correction"
    id: RecordId
    claim: RecordId
    """The id of the claim it replaces."""
    change_fact: bool | None = None
    """True: the correction moves the claim to another fact of its incident (else refused)."""

    @field_validator("change_fact")
    @classmethod
    def _false_is_absent(cls, value: bool | None) -> bool | None:
        """False says what an absent field says: the same record either way."""
        return value or None


class RetractionRecord(RecordBase):
    """A report that withdraws a claim."""

    type: Literal["retraction"] = "retraction"
    id: RecordId
    """The retraction's id (letters, digits, . _ : -)."""
    claim: RecordId
    """The id of the claim withdrawn."""
    report: RecordId
    """The id of the report that withdraws it."""
    reason: Text | None = None
    """Why, in the report's words."""


class AssessmentRecord(RecordBase):
    """A fact-checker's verdict on a claim."""

    type: Literal["assessment"] = "assessment"
    id: RecordId
    """The assessment's id (letters, digits, . _ : -)."""
    claim: RecordId
    """The id of the claim assessed."""
    verdict: Lax[Verdict]
    """The fact-checker's rating."""
    by: Text
    """Who assessed it: the fact-checker's name, in words."""
    published_at: str
    """When the assessment was published: a date (2022-01-25) or a date and time with its
    offset (2022-01-25T09:00Z)."""
    url: Url | None = None
    """Where it is published, an http(s) URL."""
    summary: Annotated[str, StringConstraints(min_length=1, max_length=75)] | None = None
    """The claim reviewed in at most 75 characters, for fact-check platforms."""
    note: Text | None = None
    """A note of the desk's."""

    @field_validator("published_at")
    @classmethod
    def _instant(cls, value: str) -> str:
        try:
            return _check_instant(value)
        except BadInputError as error:
            raise ValueError(str(error)) from None


class ChoiceOption(RecordBase):
    """One value a choice fact may take, with the other words that mean it."""

    value: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    aliases: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None = None
    label: Text | None = None
    label_ar: Text | None = None


class ToleranceSpec(RecordBase):
    """How wide "about n" is: ``{"fraction": 0.05}`` (5 % of n) or ``{"absolute": 3}``."""

    fraction: Annotated[Exact, Field(le=1)] | None = None
    absolute: Exact | None = None

    @model_validator(mode="after")
    def _one(self) -> ToleranceSpec:
        if (self.fraction is None) == (self.absolute is None):
            raise ValueError('give exactly one of {"fraction": f} and {"absolute": a}')
        return self


class FactRecord(RecordBase):
    """A fact of an incident and the kind of value it takes (docs/understanding.md, "Fact kinds").

    A fact is named by its incident and key: it has no id of its own. Declaring it
    again changes the declaration, as long as the claims already recorded fit it.
    """

    type: Literal["fact"] = "fact"
    incident: RecordId
    """The id of the incident the fact is of."""
    key: FactKey
    """The fact's key, dotted lowercase words such as killed.security_forces."""
    kind: Lax[FactKind]
    """What kind of value its claims give."""
    unit: Annotated[str, StringConstraints(min_length=1, max_length=UNIT_MAX)] | None = None
    """The unit of a quantity, such as km."""
    cumulative: bool | None = None
    """A total that can only grow, such as a toll (or not)."""
    tolerance: ToleranceSpec | None = None
    """How wide "about n" is, in JSON: {"fraction": 0.05} or {"absolute": 3}."""
    choices: list[ChoiceOption] | None = None
    """A choice fact's values, in JSON: [{"value": TEXT, "aliases": [TEXT, …]}]."""
    label: Text | None = None
    """The fact's name for people, in English."""
    label_ar: Text | None = None
    """Its name in Arabic."""

    @property
    def id(self) -> str:
        """The fact's name in the ledger: ``incident/key`` (neither holds a slash)."""
        return f"{self.incident}/{self.key}"

    @model_validator(mode="after")
    def _consistent(self) -> FactRecord:
        numeric = self.kind in NUMERIC_KINDS
        for name in ("unit", "cumulative", "tolerance"):
            if getattr(self, name) is not None and not numeric:
                raise ValueError(f"{name} applies only to counts and quantities")
        if self.kind is FactKind.CHOICE and not self.choices:
            raise ValueError("a choice fact lists its choices")
        if self.choices is not None and self.kind is not FactKind.CHOICE:
            raise ValueError("choices apply only to a choice fact")
        absolute = self.tolerance.absolute if self.tolerance else None
        if self.kind is FactKind.COUNT and absolute is not None and absolute % 1:
            raise ValueError("a count's absolute tolerance is a whole number")
        words: set[str] = set()
        for choice in self.choices or ():
            for word in (choice.value, *(choice.aliases or ())):
                folded = unicodedata.normalize("NFC", word).strip().casefold()
                if folded in words:
                    raise ValueError(f"choices name {word!r} twice")
                words.add(folded)
        return self


AnyRecord = (
    IncidentRecord
    | SourceRecord
    | ReportRecord
    | ClaimRecord
    | CorrectionRecord
    | RetractionRecord
    | AssessmentRecord
    | FactRecord
)

Record = Annotated[AnyRecord, Field(discriminator="type")]


def records_by_type() -> dict[str, type[RecordBase]]:
    """Each record type's model, by the name an import gives its ``type``."""
    models: tuple[type[RecordBase], ...] = typing.get_args(AnyRecord)
    return {str(model.model_fields["type"].default): model for model in models}
