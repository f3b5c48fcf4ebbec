"""Durations and working-day deadlines, with 2026 holidays checked by hand.

The 2026 schedule (国务院办公厅, published November 2025) used below:
Spring Festival off Sun 15 - Mon 23 February, make-up workdays Sat 14 and
Sat 28 February; Mid-Autumn off 25-27 September; National Day off 1-7
October, make-up workdays Sun 20 September and Sat 10 October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.policies.calendar import WorkCalendar
from escalation.policies.durations import Duration, parse_duration

CST = ZoneInfo("Asia/Shanghai")
CN = WorkCalendar("cn-workdays")
PLAIN = WorkCalendar("calendar-days")


def cst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


def end_of(day: date) -> datetime:
    """Local midnight after ``day`` in Shanghai, as UTC."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), CST).astimezone(UTC)


# --- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 workdays", Duration(5, "workdays")),
        ("1 workday", Duration(1, "workdays")),
        ("3 working days", Duration(3, "workdays")),
        ("1 Working Day", Duration(1, "workdays")),
        ("15 days", Duration(15, "days")),
        ("1 day", Duration(1, "days")),
        ("36 hours", Duration(36, "hours")),
        ("1 hour", Duration(1, "hours")),
        ("  30   workdays ", Duration(30, "workdays")),
    ],
)
def test_parse_duration_accepts_the_documented_spellings(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0 days", "positive integer"),
        ("-1 days", "positive integer"),
        ("1.5 days", "positive integer"),
        ("5 weeks", "unknown unit 'weeks'"),
        ("5", "cannot read"),
        ("days", "cannot read"),
        ("", "cannot read"),
        ("five days", "cannot read"),
    ],
)
def test_parse_duration_rejects_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


def test_parse_duration_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="must be text"):
        parse_duration(5)  # type: ignore[arg-type]


def test_duration_str_uses_singular_for_one() -> None:
    assert str(Duration(5, "workdays")) == "5 workdays"
    assert str(Duration(1, "workdays")) == "1 workday"
    assert str(Duration(1, "hours")) == "1 hour"


def test_duration_refuses_bad_values() -> None:
    with pytest.raises(ValueError):
        Duration(0, "days")
    with pytest.raises(ValueError):
        Duration(2, "weeks")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Duration(True, "days")


@given(st.integers(1, 10_000), st.sampled_from(["workdays", "days", "hours"]))
def test_duration_text_round_trips(amount: int, unit: str) -> None:
    duration = Duration(amount, unit)  # type: ignore[arg-type]
    assert parse_duration(str(duration)) == duration


# --- which days are working days ---------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday, make-up workday before Spring Festival
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 23), False),  # Monday, last day of the holiday
        (date(2026, 2, 28), True),  # Saturday, make-up workday after it
        (date(2026, 9, 20), True),  # Sunday, make-up workday for National Day
        (date(2026, 9, 25), False),  # Friday, Mid-Autumn Festival
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 8), True),  # Thursday after the holiday
        (date(2026, 10, 10), True),  # Saturday, make-up workday
        (date(2026, 10, 11), False),  # an ordinary Sunday
        (date(2026, 3, 4), True),  # an ordinary Wednesday
    ],
)
def test_cn_workdays_know_2026_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert CN.is_workday(day) is working


def test_outside_the_published_years_falls_back_to_monday_to_friday() -> None:
    assert CN.is_workday(date(2027, 1, 4)) is True  # Monday
    assert CN.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert CN.is_workday(date(2003, 6, 2)) is True  # Monday, before the data starts
    assert CN.is_workday(date(2003, 6, 1)) is False  # Sunday


def test_extra_holidays_and_workdays_override_both_sources() -> None:
    cal = WorkCalendar(
        "cn-workdays",
        extra_holidays=frozenset({date(2027, 1, 1), date(2026, 10, 10)}),
        extra_workdays=frozenset({date(2026, 10, 1), date(2027, 1, 2)}),
    )
    assert cal.is_workday(date(2027, 1, 1)) is False  # a Friday, beyond the library's data
    assert cal.is_workday(date(2027, 1, 2)) is True  # a Saturday
    assert cal.is_workday(date(2026, 10, 10)) is False  # a published make-up day
    assert cal.is_workday(date(2026, 10, 1)) is True  # a published holiday


def test_calendar_days_count_every_day() -> None:
    assert all(PLAIN.is_workday(date(2026, 10, d)) for d in range(1, 12))


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkCalendar("cn-workdays", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="calendar must be one of"):
        WorkCalendar("lunar")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both as holidays and as workdays"):
        WorkCalendar(
            extra_holidays=frozenset({date(2027, 1, 1)}),
            extra_workdays=frozenset({date(2027, 1, 1)}),
        )


# --- adding durations ----------------------------------------------------------


def test_add_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        CN.add(datetime(2026, 3, 2, 9, 0), Duration(1, "days"))
    with pytest.raises(ValueError, match="no time zone"):
        CN.local_date(datetime(2026, 3, 2, 9, 0))


def test_hours_and_days_are_elapsed_time_in_utc() -> None:
    start = cst(2026, 9, 30, 15, 0)
    due = CN.add(start, Duration(36, "hours"))
    assert due == datetime(2026, 10, 1, 19, 0, tzinfo=UTC)  # 07:00Z + 36 h
    assert due.tzinfo is UTC
    assert CN.add(start, Duration(15, "days")) == datetime(2026, 10, 15, 7, 0, tzinfo=UTC)


def test_friday_afternoon_one_workday_is_due_at_the_end_of_monday() -> None:
    due = CN.add(cst(2026, 3, 6, 16, 30), Duration(1, "workdays"))
    assert due == end_of(date(2026, 3, 9))
    assert due == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_national_day_is_skipped_and_the_make_up_saturday_counts() -> None:
    eve = cst(2026, 9, 30, 15, 0)
    assert CN.add(eve, Duration(1, "workdays")) == end_of(date(2026, 10, 8))
    assert CN.add(eve, Duration(2, "workdays")) == end_of(date(2026, 10, 9))
    assert CN.add(eve, Duration(3, "workdays")) == end_of(date(2026, 10, 10))  # Saturday
    assert CN.add(eve, Duration(4, "workdays")) == end_of(date(2026, 10, 12))


def test_make_up_sunday_before_national_day_counts() -> None:
    friday = cst(2026, 9, 18, 10, 0)
    assert CN.add(friday, Duration(1, "workdays")) == end_of(date(2026, 9, 20))


def test_spring_festival_2026() -> None:
    friday = cst(2026, 2, 13, 11, 0)
    assert CN.add(friday, Duration(1, "workdays")) == end_of(date(2026, 2, 14))  # Saturday
    assert CN.add(friday, Duration(2, "workdays")) == end_of(date(2026, 2, 24))
    assert CN.add(friday, Duration(5, "workdays")) == end_of(date(2026, 2, 27))
    assert CN.add(friday, Duration(6, "workdays")) == end_of(date(2026, 2, 28))  # Saturday


def test_received_during_the_holiday_counts_from_the_next_working_day() -> None:
    assert CN.add(cst(2026, 10, 3, 9, 0), Duration(1, "workdays")) == end_of(date(2026, 10, 8))


def test_workdays_use_the_local_date_not_the_utc_date() -> None:
    # 01:00 on Monday in Shanghai is still Sunday in UTC.
    start = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert CN.local_date(start) == date(2026, 3, 9)
    assert CN.add(start, Duration(1, "workdays")) == end_of(date(2026, 3, 10))


def test_other_time_zones_end_at_their_own_midnight() -> None:
    cal = WorkCalendar("calendar-days", timezone="Europe/Berlin")
    start = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert cal.add(start, Duration(1, "workdays")) == datetime(2026, 7, 2, 22, 0, tzinfo=UTC)


def test_calendar_days_count_workdays_as_plain_days() -> None:
    friday = cst(2026, 9, 30, 15, 0)
    assert PLAIN.add(friday, Duration(1, "workdays")) == end_of(date(2026, 10, 1))
    assert PLAIN.add(friday, Duration(3, "workdays")) == end_of(date(2026, 10, 3))


aware_starts = st.datetimes(
    min_value=datetime(2004, 1, 1),
    max_value=datetime(2028, 12, 1),
    timezones=st.sampled_from(
        [UTC, CST, timezone(timedelta(hours=-5)), timezone(timedelta(hours=13))]
    ),
)


@given(aware_starts, st.integers(1, 40))
def test_workday_deadline_is_the_end_of_the_nth_working_day(start: datetime, n: int) -> None:
    due = CN.add(start, Duration(n, "workdays"))
    assert due.tzinfo is UTC
    assert due > start
    local = due.astimezone(CST)
    assert local.time() == datetime.min.time()  # always a local midnight
    last = local.date() - timedelta(days=1)
    assert CN.is_workday(last)  # ...ending a working day
    first = CN.local_date(start) + timedelta(days=1)
    counted = sum(CN.is_workday(first + timedelta(days=i)) for i in range((last - first).days + 1))
    assert counted == n


@given(aware_starts, st.integers(1, 30), st.sampled_from(["workdays", "days", "hours"]))
def test_add_is_strictly_monotonic_in_n(start: datetime, n: int, unit: str) -> None:
    shorter = CN.add(start, Duration(n, unit))  # type: ignore[arg-type]
    longer = CN.add(start, Duration(n + 1, unit))  # type: ignore[arg-type]
    assert longer > shorter


@given(aware_starts, st.integers(1, 1000))
def test_hours_are_exact_elapsed_time(start: datetime, n: int) -> None:
    assert CN.add(start, Duration(n, "hours")) - start == timedelta(hours=n)
