"""The ledger's instants: parsing, normalizing and formatting.

All instants are UTC. Stored and compared as fixed-width ISO 8601 strings
(``2022-01-21T00:00:00.000000Z``) so that text order is time order in SQLite.
A date given as ``published_at`` is the start of that day; a date given to a
query (``--at``) is the end of that day, inclusive.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from incident_ledger.ledger.errors import BadInputError, shown

# ASCII digits only: "\d" alone would also match Arabic-Indic and other digits.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$", re.ASCII
)
_LAST_MICROSECOND = timedelta(days=1) - timedelta(microseconds=1)
OUTSIDE_YEARS = "falls outside the years 0001 to 9999 once its offset is applied (in UTC)"
"""Why an instant with an offset cannot be stored: UTC cannot hold it."""


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
        except ValueError as error:
            raise BadInputError(f"{shown(text)} is not a valid date ({error})") from None
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start + _LAST_MICROSECOND if end_of_day else start
    if _DATETIME.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            reason = str(error)
            if reason.startswith("offset"):  # Python's own words quote timedelta reprs
                reason = "its UTC offset must be less than 24 hours"
            raise BadInputError(f"{shown(text)} is not a valid date-time ({reason})") from None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise BadInputError(f"{shown(text)} {OUTSIDE_YEARS}") from None
    raise BadInputError(
        f"{shown(text)} is not a date (YYYY-MM-DD) or a date-time with a UTC offset "
        "(YYYY-MM-DDTHH:MM:SSZ)"
    )


def is_date_only(text: str) -> bool:
    """True when ``text`` is a bare ``YYYY-MM-DD`` date."""
    return bool(_DATE.match(text.strip()))


def to_key(moment: datetime) -> str:
    """The sortable storage form of an instant (UTC, microseconds, ``Z``).

    ``isoformat`` writes the year with four digits; ``strftime("%Y")`` writes
    year 1 as ``1`` on glibc, which would sort after ``0999`` and not parse back.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not instants")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def instant_key(text: str) -> str:
    """The storage key of a ``published_at`` or ``effective_from`` as given (a date is the
    start of its day): what the read model stores, so what the write side must check.

    Raises ``BadInputError`` for anything that is not an instant of years 0001–9999.
    """
    return to_key(parse_instant(text))


def from_key(key: str) -> datetime:
    """Inverse of :func:`to_key`."""
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def display(key: str) -> str:
    """A short human form of a stored instant: seconds precision, ``Z``."""
    return key[:19] + "Z"


def utc_now() -> datetime:
    """The ledger's clock: the current instant in UTC."""
    return datetime.now(UTC)
