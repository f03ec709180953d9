"""Calendar arithmetic in the shop's time zone, without SQL: the windows the figures compare, the buckets a
chart or a report groups by, and the UTC offsets in force over a window.

An instant's local wall time is its UTC time plus the zone's offset at that instant. Over a window the
offset is piecewise constant (it changes at the zone's transitions, twice a year where clocks move), so
``offset_pieces`` lists the pieces and the SQL adds the right one to each timestamp with a CASE of a few
branches. The *local epoch* of an instant is then its wall time counted in seconds from 1970-01-01 00:00;
its local hour is that divided by 3,600, its local day divided by 86,400, and its week (Monday first)
``(day + 3) // 7`` (1970-01-01 was a Thursday). Months have no fixed length: a month is found from the day
number with a CASE over the months' first days (``month_starts``).

A local date begins at the first instant that shows it on the shop's clocks: its midnight, or the moment
the clocks jump over a midnight that does not happen (``local_midnight``). Every instant then falls on
exactly one local date, whatever the zone does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from emporium.core.config import Settings

HOUR_SECONDS = 3600
DAY_SECONDS = 86_400
EPOCH_DATE = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1)
# Zone transitions are never closer than this; each step of the search is one ``utcoffset`` call.
_PROBE = timedelta(hours=12)


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Period(StrEnum):
    """The home page's periods: today so far, the last 7 days and the last 30 days (today included)."""

    TODAY = "today"
    LAST_7_DAYS = "7d"
    LAST_30_DAYS = "30d"

    @property
    def days(self) -> int:
        return {Period.TODAY: 1, Period.LAST_7_DAYS: 7, Period.LAST_30_DAYS: 30}[self]


@dataclass(frozen=True)
class Window:
    """From ``start`` (included) to ``end`` (excluded), both UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class OffsetPiece:
    """The zone's offset from UTC (seconds) for instants before ``until`` (UTC; None: any later one)."""

    until: datetime | None
    seconds: int


@dataclass(frozen=True)
class Bucket:
    """One bar of a chart, one row of a report: ``key`` is the number the SQL groups by, ``start`` the
    first local date it covers (for hours, the date of the hour), ``label`` how it is written."""

    key: int
    start: date
    label: str


def shop_zone(settings: Settings) -> ZoneInfo:
    """The shop's time zone (``EMPORIUM_TIMEZONE``, checked when the settings were read)."""
    return ZoneInfo(settings.timezone)


def offset_at(zone: ZoneInfo, instant: datetime) -> int:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    """The first instant (UTC) of ``day`` on the shop's clocks. When the clocks skip that midnight, the
    wall time read before the jump lands exactly on the jump (fold 0), which is the day's first instant."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_epoch(zone: ZoneInfo, instant: datetime) -> int:
    """Seconds from 1970-01-01 00:00 to the instant's wall time (what the SQL computes per row)."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    return int((wall - _EPOCH).total_seconds() // 1)


def day_number(day: date) -> int:
    return (day - EPOCH_DATE).days


def date_of(number: int) -> date:
    return EPOCH_DATE + timedelta(days=number)


def week_key(day: int) -> int:
    """The week (Monday to Sunday) of a day number."""
    return (day + 3) // 7


def month_key(day: date) -> int:
    return day.year * 12 + day.month - 1


def bucket_key(granularity: Granularity, zone: ZoneInfo, instant: datetime) -> int:
    """The key of the bucket an instant falls in: the same number the SQL computes for its row."""
    seconds = local_epoch(zone, instant)
    if granularity is Granularity.HOUR:
        return seconds // HOUR_SECONDS
    day = seconds // DAY_SECONDS
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return week_key(day)
    return month_key(date_of(day))


def offset_pieces(zone: ZoneInfo, window: Window) -> list[OffsetPiece]:
    """The zone's offsets over the window, in order; the last piece has no end."""
    pieces: list[OffsetPiece] = []
    probe, current = window.start, offset_at(zone, window.start)
    while probe < window.end:
        ahead = min(probe + _PROBE, window.end)
        if offset_at(zone, ahead) == current:
            probe = ahead
            continue
        change = _first_instant_of_new_offset(zone, probe, ahead, current)
        pieces.append(OffsetPiece(until=change, seconds=current))
        probe, current = change, offset_at(zone, change)
    pieces.append(OffsetPiece(until=None, seconds=current))
    return pieces


def _first_instant_of_new_offset(zone: ZoneInfo, before: datetime, after: datetime, old: int) -> datetime:
    """Between an instant with offset ``old`` and a later one without it: the first whole second where the
    offset is no longer ``old`` (zones change their offset on whole seconds)."""
    low = int(before.timestamp() // 1)
    high = int(-(-after.timestamp() // 1))
    while high - low > 1:
        middle = (low + high) // 2
        if offset_at(zone, datetime.fromtimestamp(middle, UTC)) == old:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def dates_window(zone: ZoneInfo, first: date, last: date) -> Window:
    """From the first instant of ``first`` to the first instant of the day after ``last``."""
    return Window(local_midnight(zone, first), local_midnight(zone, last + timedelta(days=1)))


def buckets(granularity: Granularity, first: date, last: date) -> list[Bucket]:
    """Every bucket from local date ``first`` to ``last`` (both included), in order."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if granularity is Granularity.HOUR:
        return [
            Bucket(day_number(day) * 24 + hour, day, f"{day.isoformat()} {hour:02d}:00")
            for day in days
            for hour in range(24)
        ]
    if granularity is Granularity.DAY:
        return [Bucket(day_number(day), day, day.isoformat()) for day in days]
    seen: dict[int, Bucket] = {}
    for day in days:
        if granularity is Granularity.WEEK:
            key = week_key(day_number(day))
            monday = day - timedelta(days=day.weekday())
            seen.setdefault(key, Bucket(key, monday, f"week of {monday.isoformat()}"))
        else:
            key = month_key(day)
            seen.setdefault(key, Bucket(key, day.replace(day=1), f"{day.year}-{day.month:02d}"))
    return list(seen.values())


def month_starts(first: date, last: date) -> list[tuple[int, int]]:
    """For the months from ``first`` to ``last``: (day number of the month's first day, month key) of each
    month after the first, which is what a CASE needs to turn a day number into a month key."""
    starts: list[tuple[int, int]] = []
    year, month = first.year, first.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        start = date(year, month, 1)
        if start > last:
            return starts
        starts.append((day_number(start), month_key(start)))


@dataclass(frozen=True)
class Comparison:
    """A period of the home page and the one it is compared with: the same stretch of wall-clock time,
    ``days`` days earlier (today so far against yesterday until the same time)."""

    period: Period
    first: date
    last: date
    current: Window
    previous: Window

    @property
    def granularity(self) -> Granularity:
        return Granularity.HOUR if self.period is Period.TODAY else Granularity.DAY


def compare(period: Period, zone: ZoneInfo, now: datetime) -> Comparison:
    today = now.astimezone(zone).date()
    first = today - timedelta(days=period.days - 1)
    current = Window(local_midnight(zone, first), now)
    wall_now = now.astimezone(zone).replace(tzinfo=None) - timedelta(days=period.days)
    previous_end = min(datetime.combine(wall_now.date(), wall_now.time(), tzinfo=zone).astimezone(UTC), now)
    previous_start = local_midnight(zone, first - timedelta(days=period.days))
    previous = Window(previous_start, min(max(previous_end, previous_start), current.start))
    return Comparison(period, first, today, current, previous)


def previous_dates(first: date, last: date) -> tuple[date, date]:
    """The dates just before a range, as many as it has."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)
