"""JSON written a part at a time: the text ``render.print_json`` writes of the whole, without
ever holding all of it (the answers about a hot incident are tens of megabytes of text)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from incident_ledger.cli.render import _json_text


def print_json_parts(data: Mapping[str, Any]) -> None:
    """``print_json`` of ``data`` (not empty) with each list and mapping in it written an
    item or a member at a time: the same text, never all of it at once (a diff of a hot
    incident's month: a hundred thousand claims, tens of thousands of positions)."""
    write = sys.stdout.write
    separator = "{\n"
    for key, value in data.items():
        write(f"{separator}  {_json_text(key)}: ")
        separator = ",\n"
        if not value or not isinstance(value, (list, dict)):
            write(_json_text(value).replace("\n", "\n  "))
            continue
        items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
        between = "{\n" if isinstance(value, dict) else "[\n"
        for name, item in items:
            named = "" if name is None else f"{_json_text(name)}: "
            write(f"{between}    {named}{_json_text(item).replace(chr(10), chr(10) + '    ')}")
            between = ",\n"
        write("\n  }" if isinstance(value, dict) else "\n  ]")
    write("\n}\n")
