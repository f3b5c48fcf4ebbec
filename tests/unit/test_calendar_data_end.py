"""Deadlines past chinese-calendar's holiday data say so (docs/rules.md "Limits")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import cast
from uuid import uuid4

from escalation.aggregates.dispute import Dispute
from escalation.policies.calendar import HOLIDAY_DATA_LAST_YEAR, WorkCalendar
from escalation.policies.decide import tier_entry
from escalation.policies.due import apply_due
from escalation.policies.durations import Duration
from escalation.policies.rulebook import RuleBook
from tests.helpers import SMALL_RULES

LAST = HOLIDAY_DATA_LAST_YEAR
AFTER = LAST + 1
CN = WorkCalendar("cn-workdays")
NOTE = f" (holiday data ends in {LAST}: workdays in {AFTER} counted Monday-Friday only)"


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 4, tzinfo=UTC)  # noon in Shanghai


def test_the_data_ends_in_a_year_the_library_knows() -> None:
    assert LAST >= 2026


def test_a_workday_deadline_past_the_data_gets_a_note() -> None:
    five = Duration(5, "workdays")
    assert CN.data_note(CN.add(utc(AFTER, 3, 2), five), five) == NOTE
    # Within the data, or counted in days or hours, nothing changes.
    assert CN.data_note(CN.add(utc(LAST, 3, 2), five), five) == ""
    assert CN.data_note(utc(AFTER, 3, 2), Duration(5, "days")) == ""
    # A deadline at the midnight ending 31 December belongs to the old year.
    assert CN.data_note(datetime(LAST, 12, 31, 16, tzinfo=UTC), five) == ""
    # calendar-days ignores holidays; a rule book that lists the year's dates covers it.
    assert WorkCalendar("calendar-days").data_note(utc(AFTER, 3, 2), five) == ""
    patched = WorkCalendar("cn-workdays", extra_holidays=frozenset({date(AFTER, 1, 1)}))
    assert patched.data_note(utc(AFTER, 3, 2), five) == ""


def test_the_warning_names_the_first_uncovered_year() -> None:
    assert CN.data_warning() == (
        f"holiday data ends in {LAST}: deadlines in {AFTER} and later count Monday-Friday "
        "only; add holidays:/workdays: for them"
    )
    patched = WorkCalendar("cn-workdays", extra_workdays=frozenset({date(AFTER, 2, 7)}))
    assert f"deadlines in {AFTER + 1} and later" in str(patched.data_warning())
    assert WorkCalendar("calendar-days").data_warning() is None


def test_an_escalation_past_the_data_says_so_and_one_within_does_not() -> None:
    rules = RuleBook.from_yaml(
        SMALL_RULES.replace("calendar: calendar-days", "calendar: cn-workdays")
        .replace("handle_within: 2 days", "handle_within: 2 workdays")
        .replace("handle_within: 4 days", "handle_within: 4 workdays")
    )

    def reasons(at: datetime) -> list[str]:
        due, schedule = tier_entry(rules, "c11", at)
        d = Dispute.receive(
            id=uuid4(),
            unit="c11",
            tier="community",
            category="family",
            source="walk_in",
            parties=2,
            amount=0.0,
            summary="s",
            location="",
            at=at,
            actor="intake",
            recorded_at=at,
            due_at=due,
            schedule=schedule,
            rules_version=rules.version,
        )
        later = due + (due - at)
        apply_due(d, rules, later, later)
        events = cast("list[Dispute.Event]", d.collect_events())
        return [
            str(getattr(e, "reason", ""))
            for e in events
            if "逐级上报" in str(getattr(e, "reason", ""))
        ]

    [past] = reasons(utc(AFTER, 3, 2))
    assert past.endswith("逐级上报 to street s1" + NOTE)
    [within] = reasons(utc(LAST, 3, 2))
    assert within.endswith("逐级上报 to street s1")
