"""The read models' time column: the text SQLite stores keeps time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from escalation.adapters.database import UTCDateTime

OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=OFFSETS
)
BIND = UTCDateTime()._cached_bind_processor(sqlite.dialect())
RESULT = UTCDateTime()._cached_result_processor(sqlite.dialect(), None)


@given(TIMES, TIMES)
def test_sqlite_text_is_naive_utc_with_microseconds_in_time_order(a: datetime, b: datetime) -> None:
    assert BIND is not None and RESULT is not None
    for value in (a, b, a):  # the second a comes from the cache
        text = BIND(value)
        utc = value.astimezone(UTC)
        assert text == utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        assert RESULT(text) == value and RESULT(text).tzinfo is UTC
    assert (BIND(a) < BIND(b)) == (a < b)


def test_postgresql_gets_the_aware_value() -> None:
    process = UTCDateTime()._cached_bind_processor(postgresql.dialect())
    value = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    got = value if process is None else process(value)
    assert got == value and got.utcoffset() == timedelta(0)
