"""How papers write numbers, dates and time limits (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from escalation.application.papers.render import Style, date_text, limit_text, number_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_number_in_the_centres_style() -> None:
    assert number_text("罗综治", 2026, "催", 12) == "罗综治〔2026〕催字第0012号"


def test_default_prefixes_never_read_alike() -> None:
    style = Style()
    assert style.prefix("luohu", "罗湖区", top=True) == "罗综治"
    assert style.prefix("huangbei", "黄贝街道", top=False) == "黄贝综治"
    assert style.prefix("huangbei-c01", "黄贝岭社区", top=False) == "黄贝岭综治"
    given_one = Style(prefixes={"luohu": "罗湖综治"})
    assert given_one.prefix("luohu", "罗湖区", top=True) == "罗湖综治"


def test_a_limit_at_midnight_is_the_day_before_at_24() -> None:
    midnight = datetime(2026, 3, 10, tzinfo=SHANGHAI)
    assert limit_text(midnight, SHANGHAI) == "2026年3月9日24时前（UTC+08:00）"
    assert limit_text(midnight + timedelta(hours=15, minutes=30), SHANGHAI) == (
        "2026年3月10日15:30前（UTC+08:00）"
    )


@given(instants)
def test_every_limit_names_the_zones_offset_and_its_local_day(at: datetime) -> None:
    text = limit_text(at, SHANGHAI)
    assert text.endswith("前（UTC+08:00）")
    local = at.astimezone(SHANGHAI)
    shown = local - timedelta(days=1) if local.time() == datetime.min.time() else local
    assert text.startswith(f"{shown.year}年{shown.month}月{shown.day}日")
    assert ("24时" in text) == (local.time() == datetime.min.time())


@given(instants)
def test_a_papers_date_is_its_local_day(at: datetime) -> None:
    local = at.astimezone(SHANGHAI)
    assert date_text(at, SHANGHAI) == f"{local.year}年{local.month}月{local.day}日"
