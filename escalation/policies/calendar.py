"""Working-day arithmetic for deadlines (pure: no clock, no I/O).

Chinese public holidays move every year and are paid back with make-up
working days on weekends (调休), so "5 workdays" cannot be computed from the
weekday alone. ``chinese_calendar`` carries the State Council's published
schedules (2004-2026 in the pinned release); outside that range we fall back
to Monday-Friday, and a rule book can patch any date with its own
``holidays`` / ``workdays`` lists until the library catches up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from chinese_calendar.constants import holidays as _published

from escalation.policies.durations import Duration

CalendarKind = Literal["cn-workdays", "calendar-days"]
CALENDAR_KINDS: tuple[CalendarKind, ...] = ("cn-workdays", "calendar-days")
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: The last year chinese-calendar has the State Council's schedule for; later
#: years count Monday-Friday unless the rule book lists their holidays.
HOLIDAY_DATA_LAST_YEAR: int = max(day.year for day in _published)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or ValueError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai'"
        ) from exc


@dataclass(frozen=True)
class WorkCalendar:
    """Which local days count as working days, and how deadlines are added.

    ``calendar-days`` counts every day (the extra lists are then ignored;
    the rule book refuses them with that calendar so nobody is surprised).
    """

    kind: CalendarKind = "cn-workdays"
    timezone: str = DEFAULT_TIMEZONE
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    #: Office hours of a working day as (start, end) minutes after local
    #: midnight, in order and apart; empty: the whole day (the rule book's
    #: ``working_hours``). Notices fall in them (``after_working``).
    working_hours: tuple[tuple[int, int], ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in CALENDAR_KINDS:
            raise ValueError(
                f"calendar must be one of {', '.join(CALENDAR_KINDS)}, got {self.kind!r}"
            )
        both = self.extra_holidays & self.extra_workdays
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates listed both as holidays and as workdays: {days}")
        object.__setattr__(self, "_zone", zone(self.timezone))

    def is_workday(self, d: date) -> bool:
        """True if ``d`` (a local date) is a working day."""
        if self.kind == "calendar-days":
            return True
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        return _cn_workday(d)

    def local_date(self, dt: datetime) -> date:
        """The date in the calendar's time zone at the instant ``dt``."""
        return _aware(dt).astimezone(self._zone).date()

    def add(self, start: datetime, d: Duration) -> datetime:
        """The deadline ``d`` after ``start``, as an aware UTC datetime.

        Hours and days are exact elapsed time. Workdays end at local midnight:
        the deadline is the end of the N-th working day strictly after the
        start's local date, so a case received late on a Friday still gets
        N full working days.
        """
        start = _aware(start)
        if d.unit == "hours":
            return (start + timedelta(hours=d.amount)).astimezone(UTC)
        if d.unit == "days":
            return (start + timedelta(days=d.amount)).astimezone(UTC)
        return self._workdays_after(self.local_date(start), d.amount)

    @property
    def has_hours(self) -> bool:
        """True when the rule book sets office hours (notices keep to them)."""
        return bool(self.working_hours)

    @lru_cache(maxsize=4096)  # noqa: B019 - calendars live as long as their rule book
    def _spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The office-hour spans of local ``day`` as aware UTC instants (none off work)."""
        if not self.is_workday(day):
            return ()
        hours = self.working_hours or ((0, 24 * 60),)
        midnight = datetime.combine(day, time(0), tzinfo=self._zone)
        # Wall-clock minutes, so a span keeps its local hours on any day.
        return tuple(
            (
                _local_minutes(midnight, a).astimezone(UTC),
                _local_minutes(midnight, b).astimezone(UTC),
            )
            for a, b in hours
        )

    def in_working_hours(self, at: datetime) -> bool:
        """True if ``at`` lies in office hours (ends included) on a working day."""
        return any(a <= at <= b for a, b in self._spans(self.local_date(_aware(at))))

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Office time between ``start`` and ``end`` (zero if ``end`` is not after ``start``)."""
        start, end = _aware(start), _aware(end)
        total = timedelta(0)
        day = self.local_date(start)
        while day <= self.local_date(end):
            for a, b in self._spans(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def after_working(self, start: datetime, amount: timedelta) -> datetime:
        """The instant ``amount`` of office time after ``start``, as aware UTC.

        It lies in office hours on a working day: with ``amount`` zero it is
        the first such instant at or after ``start``; otherwise the instant the
        office time counted from ``start`` reaches ``amount`` (at most the end
        of a span, never the start of the next). Searches at most
        ``MAX_SEARCH_DAYS`` days ahead (a calendar without a working day in
        them raises ValueError).
        """
        start = _aware(start).astimezone(UTC)
        left = amount
        day = self.local_date(start)
        for _ in range(MAX_SEARCH_DAYS):
            for a, b in self._spans(day):
                lo = max(a, start)
                if b < lo or (b == lo and left > timedelta(0)):
                    continue
                if lo + left <= b:
                    return lo + left
                left -= b - lo
            day += timedelta(days=1)
        raise ValueError(f"no working time within {MAX_SEARCH_DAYS} days after {start.isoformat()}")

    def workday_time(self, start: datetime, end: datetime) -> timedelta:
        """The part of [start, end) that falls on working days (local dates).

        What a pause (中止) costs a deadline: a paused weekend costs nothing,
        a paused working day one working day. Calendar-days count every day.
        """
        start, end = _aware(start), _aware(end)
        if end <= start:
            return timedelta(0)
        if self.kind == "calendar-days":
            return end - start
        total, cursor = timedelta(0), start
        while cursor < end:
            day = self.local_date(cursor)
            boundary = min(self._midnight_after(day), end)
            if self.is_workday(day):
                total += boundary - cursor
            cursor = boundary
        return total

    def add_workday_time(self, start: datetime, span: timedelta) -> datetime:
        """The instant ``span`` of working time after ``start`` (UTC; ``start`` if none).

        The inverse of ``workday_time``: non-working days are stepped over, so
        a deadline moved by a paused working day lands on the next working day.
        """
        start = _aware(start)
        if span <= timedelta(0):
            return start.astimezone(UTC)
        if self.kind == "calendar-days":
            return (start + span).astimezone(UTC)
        cursor, left = start, span
        while True:
            day = self.local_date(cursor)
            boundary = self._midnight_after(day)
            if self.is_workday(day):
                if left <= boundary - cursor:
                    return (cursor + left).astimezone(UTC)
                left -= boundary - cursor
            cursor = boundary

    def _midnight_after(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._zone)

    def uncovered_years(self, until: int) -> tuple[int, ...]:
        """Years after the holiday data, up to ``until``, this calendar knows nothing of.

        Empty for ``calendar-days``; a year for which the rule book lists any
        holiday or workday counts as covered (its owner has looked at it).
        """
        if self.kind == "calendar-days":
            return ()
        patched = {d.year for d in self.extra_holidays | self.extra_workdays}
        return tuple(
            year for year in range(HOLIDAY_DATA_LAST_YEAR + 1, until + 1) if year not in patched
        )

    def data_warning(self) -> str | None:
        """What ``rules check`` warns about the holiday data's end, or None (calendar-days)."""
        # Ten years on: a rule book that patched all of them has its own data.
        years = self.uncovered_years(HOLIDAY_DATA_LAST_YEAR + 10)
        if not years:
            return None
        return (
            f"holiday data ends in {HOLIDAY_DATA_LAST_YEAR}: deadlines in {years[0]} and later "
            "count Monday-Friday only; add holidays:/workdays: for them"
        )

    def data_note(self, due: datetime, within: Duration) -> str:
        """'' or, for a workday deadline past the holiday data, a note saying so."""
        if within.unit != "workdays":
            return ""
        # A deadline is the midnight ending its last day: that day is the one before.
        last_day = self.local_date(due - timedelta(microseconds=1))
        if last_day.year not in self.uncovered_years(last_day.year):
            return ""
        return (
            f" (holiday data ends in {HOLIDAY_DATA_LAST_YEAR}: workdays in "
            f"{last_day.year} counted Monday-Friday only)"
        )

    @lru_cache(maxsize=4096)  # noqa: B019 - calendars live as long as their rule book
    def _workdays_after(self, first: date, count: int) -> datetime:
        """End of the ``count``-th working day after local date ``first`` (a pure lookup)."""
        day, left = first, count
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._zone)
        return end.astimezone(UTC)


#: How far ``after_working`` looks for office time: a notice at 200% of a
#: two-year limit, with room to spare.
MAX_SEARCH_DAYS = 5 * 366


def _local_minutes(midnight: datetime, minutes: int) -> datetime:
    """The local wall-clock time ``minutes`` after ``midnight`` (24:00 is the next midnight)."""
    if minutes >= 24 * 60:
        return datetime.combine(
            midnight.date() + timedelta(days=1), time(0), tzinfo=midnight.tzinfo
        )
    return midnight.replace(hour=minutes // 60, minute=minutes % 60)


def _aware(dt: datetime) -> datetime:
    # A naive datetime is ambiguous (server time? Beijing time?): refuse it.
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"datetime {dt.isoformat()} has no time zone; pass an aware datetime")
    return dt


@lru_cache(maxsize=8192)
def _cn_workday(d: date) -> bool:
    """chinese-calendar's answer, cached: it validates every call, and deadlines ask often."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:  # year outside the library's published schedules
        return d.weekday() < 5
