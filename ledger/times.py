"""The ledger's instants: parsing, normalizing and formatting.

All instants are UTC. Stored and compared as fixed-width ISO 8601 strings
(``2022-01-21T00:00:00.000000Z``) so that text order is time order in SQLite.
A date without a time names a whole day in an incident's time zone (UTC when it
declares none): a date given as ``published_at`` is known from the end of that
day (a report is certainly public by then), and a date given to a query
(``--at``) is the end of that day, inclusive.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incident_ledger.ledger.errors import BadInputError, shown

# ASCII digits only: "\d" alone would also match Arabic-Indic and other digits.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$", re.ASCII
)
_LAST_MICROSECOND = timedelta(days=1) - timedelta(microseconds=1)
OUTSIDE_YEARS = "falls outside the years 0001 to 9999 once its offset is applied (in UTC)"
"""Why an instant with an offset cannot be stored: UTC cannot hold it."""


def parse_instant(text: str, *, end_of_day: bool = False, zone: tzinfo | None = None) -> datetime:
    """Parse a date or an offset-qualified datetime into an aware UTC datetime.

    A bare date is the start of that day in ``zone`` (UTC when None), or its
    last microsecond when ``end_of_day`` is true (the convention for queries and
    for a report's ``published_at``). A datetime without an offset is refused:
    the ledger never guesses a time zone.
    """
    text = text.strip()
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise BadInputError(f"{shown(text)} is not a valid date ({error})") from None
        local = datetime.combine(day, time(0))
        if end_of_day:
            local += _LAST_MICROSECOND
        try:
            return local.replace(tzinfo=zone or UTC).astimezone(UTC)
        except OverflowError:  # a day at the edge of the calendar, in a zone beyond UTC
            raise BadInputError(f"{shown(text)} {OUTSIDE_YEARS}") from None
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


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name (``Asia/Damascus``), or bad input."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadInputError(
            f"{shown(name)} is not an IANA time zone such as Asia/Damascus"
        ) from None


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    if not name or name != name.strip():
        raise ValueError(name)
    return ZoneInfo(name)


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The zone of a stored (already validated) name; None stands for UTC."""
    return None if name is None else _zone(name)


@lru_cache(maxsize=65_536)
def day_end_key(day: str, zone: str | None) -> str:
    """The storage key of the last microsecond of a ``YYYY-MM-DD`` day in a zone
    (UTC when None): when a report published that day is certainly known."""
    local = datetime.combine(date.fromisoformat(day), time(0)) + _LAST_MICROSECOND
    try:
        return to_key(local.replace(tzinfo=zone_or_none(zone) or UTC))
    except OverflowError:  # the last day of year 9999 west of UTC ends after it
        return _LAST_KEY


@lru_cache(maxsize=65_536)
def wall_key_in(key: str, zone: str | None) -> str:
    """A key read as a wall-clock time in a zone (UTC when None), as a UTC key.

    A calendar day of an EDTF value is a day in the incident's zone: its bounds,
    computed as if in UTC, are moved to that zone's wall clock here.
    """
    if zone is None:
        return key
    wall = datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        return to_key(wall.replace(tzinfo=_zone(zone)))
    except OverflowError:  # years 1 and 9999 at the edges of the calendar
        return _FIRST_KEY if key < "5000" else _LAST_KEY


_FIRST_KEY = "0001-01-01T00:00:00.000000Z"
_LAST_KEY = "9999-12-31T23:59:59.999999Z"


@lru_cache(maxsize=64)
def day_end_offsets(zone: str) -> tuple[tuple[str, int], ...]:
    """When a zone's offset at the end of a day changes, 1900–2100: (first day, offset in
    minutes) pairs. SQL, which knows no time zones, finds the end of a local day with
    them (the read model's ``zone_day_ends``). Sampled a week apart, each change then
    found to the day: no zone changes its offset twice within a week."""
    tz = _zone(zone)

    def minutes(day: date) -> int:
        end = datetime.combine(day, time(23, 59, 59, 999_999)).replace(tzinfo=tz)
        offset = tz.utcoffset(end)
        return int(offset.total_seconds() // 60) if offset is not None else 0

    day, last, week = date(1900, 1, 1), date(2100, 12, 31), timedelta(days=7)
    previous = minutes(day)
    changes: list[tuple[str, int]] = [(day.isoformat(), previous)]
    while day < last:
        following = min(day + week, last)
        now = minutes(following)
        if now != previous:
            low, high = day, following  # the offset changes after low, by high
            while (high - low).days > 1:
                middle = low + timedelta(days=(high - low).days // 2)
                low, high = (middle, high) if minutes(middle) == previous else (low, middle)
            changes.append((high.isoformat(), now))
            previous = now
        day = following
    return tuple(changes)


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


_ANY_ZONE_EARLIEST = timedelta(hours=14)  # UTC+14: where a day begins first
_ANY_ZONE_LATEST = timedelta(days=1, hours=12)  # UTC-12: where it ends last


def surely_before(text: str, other: str) -> bool:
    """Whether a publication time (a ``published_at``) is surely before another: a date
    is some time of that day in some time zone, so a date is before a date-time only
    when the whole day, wherever it is read, ends before it. Two dates are days of one
    calendar (the incident's), compared as dates."""
    if is_date_only(text) and is_date_only(other):
        return text.strip() < other.strip()
    text_is_date, latest, _ = _publication_bounds(text)
    _, _, earliest = _publication_bounds(other)
    return latest <= earliest if text_is_date else latest < earliest


@lru_cache(maxsize=16_384)
def _publication_bounds(text: str) -> tuple[bool, datetime, datetime]:
    """(whether a publication time is a date only, the latest and the earliest instant it
    may be): remembered, since an import checks every end of a claim against the few
    reports it cites."""
    instant = parse_instant(text)
    if is_date_only(text):
        return True, instant + _ANY_ZONE_LATEST, instant - _ANY_ZONE_EARLIEST
    return False, instant, instant


def instant_key(text: str) -> str:
    """The storage key of a ``published_at`` or ``effective_from`` as given (a date is the
    start of its day): what the read model stores of an instant, so what the write side
    must check (a date-only ``published_at`` is stored as the end of its day in a zone,
    ``day_end_key``, which every date has).

    Raises ``BadInputError`` for anything that is not an instant of years 0001–9999.
    """
    return to_key(parse_instant(text))


def from_key(key: str) -> datetime:
    """Inverse of :func:`to_key`."""
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def local_time(instant: str, zone: tzinfo | None) -> datetime:
    """A stored key or an ISO instant (``…Z``) as an aware datetime in ``zone`` (UTC if None)."""
    text = instant.replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(zone or UTC)


def local_words(instant: str | None, zone: tzinfo | None, *, seconds: bool = False) -> str:
    """An instant as a reader in the zone says it: ``21 Jan 2022`` for the end of a local
    day (when a date-only report became known), else ``21 Jan 2022 18:08 +02:00``
    (``UTC`` for UTC); ``—`` for None."""
    if instant is None:
        return "—"
    moment = local_time(instant, zone)
    day = f"{moment.day} {moment:%b %Y}"
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (23, 59, 59, 999_999):
        return day
    clock = f"{moment:%H:%M:%S}" if seconds or moment.second else f"{moment:%H:%M}"
    return f"{day} {clock} {offset_words(moment)}"


def offset_words(moment: datetime) -> str:
    """``+02:00``, ``-05:00``; ``UTC`` for a zero offset."""
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def utc_now() -> datetime:
    """The ledger's clock: the current instant in UTC."""
    return datetime.now(UTC)
