"""Records given as text, field by field: a command's flags (``ledger add``) and the cells
of a CSV row. One rule reads both, so a flag and a cell of the same field take the same
text, and the result is validated by the very models an import line goes through
(``parsing.validate_record``).

The fields and how each is read come from the record models themselves
(``ledger.records``), so a field added to a record is a flag and a column by itself:

- ``value`` (a claim's): as ``parsing.value_from_text`` reads ``--value``;
- a whole number (``credibility``): digits, ASCII or Arabic-Indic as in ``--value``;
- a yes-or-no (``cumulative``): ``true`` or ``false`` in a cell; a flag and its ``--no-``
  form on the command line;
- a list of ids (``via``): given once per item (a flag repeated), or in a CSV cell as
  a JSON array (``["sana", "afp"]``);
- an object or a list of objects (``related``, ``tolerance``, ``choices``): JSON;
- anything else: the text itself.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.ledger.imports.parsing import (
    json_message,
    parse_json,
    validate_record,
    value_from_text,
)
from incident_ledger.ledger.records import RECORD_TYPES, AnyRecord, records_by_type
from incident_ledger.ledger.values import ARABIC_DIGITS

TEXT, WHOLE, YES_NO, IDS, JSON, VALUE = "text", "whole", "yes-no", "ids", "json", "value"
"""How a field's text is read (``FieldForm.form``)."""


@dataclass(frozen=True)
class FieldForm:
    """One field of a record type as text: its name, whether it is required, how its text
    is read, and the words it may be when it is a closed choice."""

    name: str
    required: bool
    form: str
    choices: tuple[str, ...] = ()
    description: str | None = None
    """What the field holds, and in what format (its docstring in ``ledger.records``)."""


def field_forms(kind: str) -> list[FieldForm]:
    """The fields of a record type but ``type``, in the model's order, each with its form."""
    model = records_by_type()[kind]
    forms: list[FieldForm] = []
    for name, info in model.model_fields.items():
        if name == "type":
            continue
        form, choices = _form_of(name, info.annotation)
        forms.append(FieldForm(name, info.is_required(), form, choices, info.description))
    return sorted(forms, key=lambda form: form.name != "id")  # an id first, as an import


def _form_of(name: str, annotation: Any) -> tuple[str, tuple[str, ...]]:
    if name == "value":
        return VALUE, ()
    inner = _strip(annotation)
    origin = typing.get_origin(inner)
    if origin is list:
        (item,) = typing.get_args(inner)
        return (JSON if _is_model(_strip(item)) else IDS), ()
    if _is_model(inner):
        return JSON, ()
    if inner is bool:
        return YES_NO, ()
    if inner is int:
        return WHOLE, ()
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return TEXT, tuple(str(member.value) for member in inner)
    return TEXT, ()


def _strip(annotation: Any) -> Any:
    """The type under ``Annotated[…]`` and ``… | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            kept = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(kept) != 1:
                return annotation
            annotation = kept[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def record_from_text(
    kind: str,
    texts: Mapping[str, str | Sequence[str] | bool | None],
    where: str,
    *,
    empty_is_absent: bool = True,
) -> AnyRecord:
    """A record of ``kind`` from its fields as text (a CSV row's cells, a command's flags):
    each read by its form, then validated as an import line is. Absent and empty texts are
    absent fields; a text that cannot be read is named with the model's own problems, up
    to five in one line (``parsing.validate_record``). ``empty_is_absent=False`` (a flag
    given as ``''``): an empty text is the field's value, for the models to judge."""
    if kind not in records_by_type():
        validate_record({"type": kind}, where)  # names the record types
    forms = {form.name: form for form in field_forms(kind)}
    data: dict[str, Any] = {"type": kind}
    problems: dict[str, str] = {}
    for name, text in texts.items():
        if text is None or (text == "" and empty_is_absent) or text == []:
            continue
        form = forms.get(name)
        try:
            data[name] = text if form is None else _read(form.form, text)
        except ValueError as error:
            data[name] = text
            problems[name] = str(error)
    return validate_record(data, where, problems=problems)


_WHOLE = re.compile(r"[0-9]{1,20}")


def _read(form: str, text: str | Sequence[str] | bool) -> Any:
    """The value a field's text stands for; ValueError says why it cannot be read."""
    if isinstance(text, bool):  # a yes-or-no flag
        return text
    if not isinstance(text, str):  # a flag given several times
        return [_one_id(item) for item in text] if form == IDS else _read(form, text[-1])
    if form == VALUE:
        try:
            return value_from_text(text)
        except BadInputError as error:
            raise ValueError(str(error)) from None
    if form == WHOLE:
        digits = text.strip().translate(ARABIC_DIGITS)  # as --value reads them
        if not _WHOLE.fullmatch(digits):
            raise ValueError(f"{text!r} is not a whole number")
        return int(digits)
    if form == YES_NO:
        if text.strip().lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is neither true nor false")
        return text.strip().lower() == "true"
    if form == JSON or (form == IDS and text.lstrip().startswith("[")):
        try:
            return parse_json(text)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"invalid JSON: {json_message(error)}") from None
    if form == IDS:
        return [_one_id(text)]
    return text


def _one_id(text: str) -> str:
    """One id of a list; one with commas (which no id holds) is a list written as a
    sentence: say how to write it."""
    if "," in text:
        items = ",".join(json.dumps(item.strip()) for item in text.split(","))
        raise ValueError(
            f"{text!r} is several ids: write them as a JSON list, [{items}] (from the "
            "command line, give the option once per id)"
        )
    return text


def all_columns() -> list[str]:
    """Every field of every record type, ``type`` first: the columns a CSV may name."""
    names = ["type"]
    for kind in RECORD_TYPES:
        names += [form.name for form in field_forms(kind) if form.name not in names]
    return names
