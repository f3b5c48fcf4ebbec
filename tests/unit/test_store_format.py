"""The stored JSON of events: the cached datetime transcoding writes what the stock one does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from eventsourcing.persistence import DatetimeAsISO
from hypothesis import given
from hypothesis import strategies as st

from escalation.adapters.store import CachedDatetimeAsISO

OFFSETS = st.one_of(
    st.none(), st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
)
TIMES = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=OFFSETS
)


@given(st.lists(TIMES, min_size=1, max_size=8))
def test_cached_texts_equal_the_stock_transcoding(values: list[datetime]) -> None:
    cached, stock = CachedDatetimeAsISO(size=4), DatetimeAsISO()
    assert cached.name == stock.name and cached.type is stock.type
    # The same instants in UTC too: equal datetimes, different texts.
    aware = [v.astimezone(UTC) for v in values if v.tzinfo is not None]
    for value in [*values, *aware, *values]:
        assert cached.encode(value) == stock.encode(value)
        assert cached.decode(cached.encode(value)) == value
    assert len(cached.texts) <= 4  # bounded
