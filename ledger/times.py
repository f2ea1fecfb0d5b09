"""The ledger's instants: parsing, normalizing and formatting.

All instants are UTC. Stored and compared as fixed-width ISO 8601 strings
(``2022-01-21T00:00:00.000000Z``) so that text order is time order in SQLite.
A date given as ``published_at`` is the start of that day; a date given to a
query (``--at``) is the end of that day, inclusive.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from incident_ledger.ledger.errors import BadInputError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$"
)
_LAST_MICROSECOND = timedelta(days=1) - timedelta(microseconds=1)


def parse_instant(text: str, *, end_of_day: bool = False) -> datetime:
    """Parse a date or an offset-qualified datetime into an aware UTC datetime.

    A bare date is the start of the day, or its last microsecond when
    ``end_of_day`` is true (the query convention). A datetime without an offset
    is refused: the ledger never guesses a time zone.
    """
    text = text.strip()
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise BadInputError(f"'{text}' is not a valid date") from None
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start + _LAST_MICROSECOND if end_of_day else start
    if _DATETIME.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadInputError(f"'{text}' is not a valid date-time") from None
        return parsed.astimezone(UTC)
    raise BadInputError(
        f"'{text}' is not a date (YYYY-MM-DD) or a date-time with a UTC offset "
        "(YYYY-MM-DDTHH:MM:SSZ)"
    )


def is_date_only(text: str) -> bool:
    """True when ``text`` is a bare ``YYYY-MM-DD`` date."""
    return bool(_DATE.match(text.strip()))


def to_key(moment: datetime) -> str:
    """The sortable storage form of an instant (UTC, microseconds, ``Z``)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not instants")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_key(key: str) -> datetime:
    """Inverse of :func:`to_key`."""
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def display(key: str) -> str:
    """A short human form of a stored instant: seconds precision, ``Z``."""
    return key[:19] + "Z"


def utc_now() -> datetime:
    """The ledger's clock: the current instant in UTC."""
    return datetime.now(UTC)
