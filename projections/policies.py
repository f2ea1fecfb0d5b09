"""How one value is picked for a fact when its sources disagree: the policies ``state``
applies (``understanding.pick_value``). Apart from the understanding so that a command
line can offer them without loading it."""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    """How one value is picked for a fact when sources disagree."""

    RANGE = "range"
    CONSERVATIVE = "conservative"
    LATEST = "latest"
    PREFERRED = "preferred"
