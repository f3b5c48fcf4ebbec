"""Reporting periods in local dates: a day, an ISO week, a month, a quarter, a range.

``Period.parse`` reads a period's text, ``period_label`` writes it (file-safe);
``last_complete`` is the last whole day, week, month or quarter before a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalation.errors import InvalidInput, shown
from escalation.policies.inputs import EARLIEST, LATEST

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """Local dates ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(f"period ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-09-03``, ``2026-W36``, ``2026-09``, ``2026-Q3`` or ``2026-09-01..2026-09-30``."""
        period = cls._parse(text.strip())
        in_range(period.first)
        in_range(period.last)
        return period

    @classmethod
    def _parse(cls, text: str) -> Period:
        try:
            if ".." in text:
                a, b = text.split("..", 1)
                return cls(date.fromisoformat(a), date.fromisoformat(b))
            if m := _MONTH.match(text):
                first = date(int(m[1]), int(m[2]), 1)
                following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
                return cls(first, following - timedelta(days=1))
            if m := _WEEK.match(text):
                first = date.fromisocalendar(int(m[1]), int(m[2]), 1)
                return cls(first, first + timedelta(days=6))
            if m := _QUARTER.match(text):
                month = 3 * (int(m[2]) - 1) + 1
                first = date(int(m[1]), month, 1)
                end = date(first.year + (month + 2) // 12, (month + 2) % 12 + 1, 1)
                return cls(first, end - timedelta(days=1))
            day = date.fromisoformat(text)
            return cls(day, day)
        except ValueError as exc:
            raise InvalidInput(
                f"period {shown(text)} not understood ({exc}); use 2026-09-03, 2026-W36, "
                "2026-09, 2026-Q3 or 2026-09-01..2026-09-30"
            ) from None

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of ``first`` to local midnight after ``last``."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time(0), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), zone).astimezone(UTC)
        return start, end

    def previous(self) -> Period:
        """The period just before (环比).

        The month or months before a whole month or quarter, otherwise as many
        days just before.
        """
        months = _whole_months(self)
        if months:
            return Period(_add_months(self.first, -months), self.first - timedelta(days=1))
        length = self.last - self.first + timedelta(days=1)
        return Period(self.first - length, self.first - timedelta(days=1))

    def year_before(self) -> Period:
        """The same dates a year before (同比); 29 February becomes the 28th."""
        months = _whole_months(self)
        if months:
            first = _add_months(self.first, -12)
            return Period(first, _add_months(first, months) - timedelta(days=1))
        return Period(_year_back(self.first), _year_back(self.last))

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month (``day`` is a first)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _whole_months(period: Period) -> int:
    """How many whole calendar months ``period`` spans exactly (0: not whole months)."""
    if period.first.day != 1 or (period.last + timedelta(days=1)).day != 1:
        return 0
    after = period.last + timedelta(days=1)
    return (after.year - period.first.year) * 12 + after.month - period.first.month


def _year_back(day: date) -> date:
    return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else day.day))


def in_range(day: date) -> date:
    """``day``, if a dispute's times may fall on it (else InvalidInput, not an overflow)."""
    if not EARLIEST.date() <= day < LATEST.date():
        raise InvalidInput(
            f"{day.isoformat()} is out of range: give a day from {EARLIEST.date()} "
            f"up to {LATEST.date()}"
        )
    return day


def end_of_day(day: date, timezone: str) -> datetime:
    """The last instant of a local day, in UTC (``--as-of 2026-03-03`` means its close)."""
    in_range(day)
    midnight = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone))
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


#: The lengths ``last_complete`` knows, named as the reviews that cover them.
LENGTHS = ("daily", "weekly", "monthly", "quarterly")


def last_complete(length: str, today: date) -> Period:
    """The last complete period of ``length`` (``LENGTHS``) before ``today`` (a local date).

    daily: yesterday; weekly: last ISO week (Monday to Sunday); monthly: last
    month; quarterly: last calendar quarter.
    """
    if length not in LENGTHS:
        raise InvalidInput(
            f"unknown period length {shown(length)}; use one of {', '.join(LENGTHS)}"
        )
    if length == "daily":
        day = today - timedelta(days=1)
        return Period(day, day)
    if length == "weekly":
        monday = today - timedelta(days=today.weekday())
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    first = today.replace(day=1)
    if length == "quarterly":
        first = first.replace(month=3 * ((first.month - 1) // 3) + 1)
    last = first - timedelta(days=1)
    start = last.replace(day=1)
    if length == "quarterly":
        start = start.replace(month=3 * ((start.month - 1) // 3) + 1)
    return Period(start, last)


def period_label(period: Period) -> str:
    """``2026-09-03``, ``2026-W36``, ``2026-09``, ``2026-Q3``, else ``first_last`` (file-safe)."""
    first, last = period.first, period.last
    if first == last:
        return first.isoformat()
    if first.weekday() == 0 and (last - first).days == 6:
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    following = last + timedelta(days=1)
    if first.day == 1 and following.day == 1:
        months = (following.year - first.year) * 12 + following.month - first.month
        if months == 1:
            return f"{first.year}-{first.month:02d}"
        if months == 3 and first.month % 3 == 1:
            return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.isoformat()}_{last.isoformat()}"
