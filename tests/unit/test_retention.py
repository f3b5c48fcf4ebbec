"""The retention rule: parsing, limits and the cut-off instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalation.errors import RulesError
from escalation.policies.retention import Retention
from escalation.policies.rulebook import RuleBook
from tests.helpers import SMALL_RULES


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("3 years after closure", 3, "year"),
        ("1 year after closure", 1, "year"),
        ("18 months after closure", 18, "month"),
        (" 90 days  after closure ", 90, "day"),
    ],
)
def test_periods_read_as_written(text: str, amount: int, unit: str) -> None:
    assert Retention.parse(text) == Retention(amount, unit)


@pytest.mark.parametrize(
    "text",
    [
        "3 years",
        "three years after closure",
        "0 days after closure",
        "101 years after closure",
        "3 weeks after closure",
        "",
        "9" * 50,
    ],
)
def test_other_periods_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"after closure|must be 1 to"):
        Retention.parse(text)


def test_the_cut_off_counts_calendar_years_and_months() -> None:
    now = datetime(2029, 3, 1, 2, 0, tzinfo=UTC)
    assert Retention(3, "year").closed_before(now) == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert Retention(1, "month").closed_before(now) == datetime(2029, 2, 1, 2, 0, tzinfo=UTC)
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert Retention(1, "year").closed_before(leap) == datetime(2027, 2, 28, tzinfo=UTC)
    assert Retention(10, "day").closed_before(now) == datetime(2029, 2, 19, 2, 0, tzinfo=UTC)


def test_a_rule_book_states_it_and_refuses_nonsense() -> None:
    book = RuleBook.from_yaml(SMALL_RULES + "retention: {personal_data: 3 years after closure}\n")
    assert book.retention == Retention(3, "year")
    assert RuleBook.from_yaml(SMALL_RULES).retention is None
    # Adding nothing keeps the version of a rule book written before the key.
    assert RuleBook.from_yaml(SMALL_RULES).version == RuleBook.from_yaml(SMALL_RULES).version
    with pytest.raises(RulesError, match="personal_data"):
        RuleBook.from_yaml(SMALL_RULES + "retention: {personal_data: forever}\n")
    with pytest.raises(RulesError, match="retention"):
        RuleBook.from_yaml(SMALL_RULES + "retention: {personal: 3 years after closure}\n")
