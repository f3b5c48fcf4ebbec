"""Hypothesis properties of the lifecycle: acceptance, settling, follow-up, pauses, remands.

Facts go through ``apply_fact`` as the engine applies them; a refused one
leaves the dispute as it was (the engine saves nothing of it).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import FOLLOW_UP, DisputeState
from escalation.errors import EscalationError
from escalation.policies.calendar import WorkCalendar
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Acceptance,
    Closure,
    Decline,
    Fact,
    FollowUp,
    ManualEscalation,
    Mediation,
    Pause,
    Receipt,
    Remand,
    Reopening,
    Resume,
    apply_fact,
    open_dispute,
)
from escalation.policies.rulebook import RuleBook
from tests.helpers import SMALL_RULES, T0

AUTO = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
# Working days (Chinese calendar) and acceptance by a person.
EXPLICIT = RuleBook.from_yaml(
    SMALL_RULES.replace("calendar: calendar-days", "calendar: cn-workdays")
    + "acceptance: {mode: explicit, within: 1 workday}\nfollow_up: {within: 3 workdays}\n",
    source="explicit.yaml",
)
UNITS = sorted(AUTO.units)

KINDS = [
    "mediate",
    "accept",
    "decline",
    "follow_up",
    "pause",
    "resume",
    "remand",
    "escalate",
    "close",
    "reopen",
    "tick",
]
plans = st.lists(
    st.tuples(st.sampled_from(KINDS), st.floats(0, 100), st.integers(0, 11)), max_size=25
)
receipts = st.tuples(st.sampled_from(UNITS), st.integers(1, 50), st.sampled_from(AUTO.categories))
books = st.sampled_from([AUTO, EXPLICIT])


def fact(kind: str, at: datetime, pick: int) -> Fact | None:
    outcome = ("resolved", "failed", "partial")[pick % 3]
    made: dict[str, Fact] = {
        "mediate": Mediation(at, "m", outcome=outcome),
        "accept": Acceptance(at, "desk"),
        "decline": Decline(at, "desk", reason="outside the remit"),
        "follow_up": FollowUp(at, "v", outcome=("settled", "unsettled")[pick % 2]),
        "pause": Pause(at, "lead", reason="appraisal"),
        "resume": Resume(at, "lead"),
        "remand": Remand(at, "lead", to_unit=UNITS[pick % len(UNITS)], instructions="x"),
        "escalate": ManualEscalation(at, "clerk", reason="stuck"),
        "close": Closure(at, "a", outcome="withdrawn"),
        "reopen": Reopening(at, "f", reason="unsettled"),
    }
    return made.get(kind)


def run(
    rules: RuleBook, receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> tuple[Dispute, list[Dispute.Event]]:
    unit, parties, category = receipt
    d = open_dispute(rules, uuid4(), Receipt(unit, category, "walk_in", "s", T0, parties), T0)
    events: list[Dispute.Event] = list(d.collect_events())  # type: ignore[arg-type]
    at = T0
    for kind, gap, pick in plan:
        at += timedelta(hours=gap)
        before = copy.deepcopy(d)
        try:
            made = fact(kind, at, pick)
            if made is None:
                apply_due(d, rules, at, at)
            else:
                apply_fact(d, made, rules, at)
        except EscalationError:
            d = before
            d.collect_events()
            continue
        events += d.collect_events()  # type: ignore[arg-type]
    return d, events


def states(events: list[Dispute.Event]) -> list[tuple[Dispute.Event, DisputeState | None]]:
    """Each event with the state before it (None before the receipt)."""
    out: list[tuple[Dispute.Event, DisputeState | None]] = []
    aggregate: Any = None
    for event in events:
        out.append((event, None if aggregate is None else aggregate.state))
        aggregate = event.mutate(aggregate)
    return out


@settings(max_examples=150, deadline=None)
@given(books, receipts, plans)
def test_a_settled_dispute_is_never_in_a_work_queue_and_runs_only_its_follow_up(
    rules: RuleBook, receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> None:
    _, events = run(rules, receipt, plan)
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
        s = aggregate.state
        in_work_queue = s.status == "open"  # the tier queues hold exactly these
        assert not (s.is_settled and in_work_queue)
        if s.is_settled:
            assert s.pending() == ()  # the tier's clock does not run
            assert s.step == FOLLOW_UP and s.step_due_at is not None
            assert s.settled_at is not None
        if s.step == FOLLOW_UP:
            assert s.is_settled
        if s.is_open:
            assert s.settled_at is None  # a reopening starts afresh
        if s.status == "closed":
            assert s.step is None and s.next_due_at() is None


@settings(max_examples=150, deadline=None)
@given(books, receipts, plans)
def test_a_pause_never_makes_a_deadline_earlier(
    rules: RuleBook, receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> None:
    _, events = run(rules, receipt, plan)
    for event, before in states(events):
        if not isinstance(event, lifecycle.Resumed):
            continue
        assert before is not None and before.paused_at is not None
        assert event.paused_seconds >= 0
        if before.due_at is not None:
            assert event.due_at is not None and event.due_at >= before.due_at
        for (a, old), (b, new) in zip(before.schedule, event.schedule, strict=True):
            assert a == b and new >= old
        if before.step_due_at is not None:
            assert event.step_due_at is not None and event.step_due_at >= before.step_due_at
        for (a, old), (b, new) in zip(before.step_schedule, event.step_schedule, strict=True):
            assert a == b and new >= old


@settings(max_examples=150, deadline=None)
@given(books, receipts, plans)
def test_nothing_is_decided_while_paused_and_nothing_moves_an_unaccepted_receipt(
    rules: RuleBook, receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> None:
    _, events = run(rules, receipt, plan)
    for event, before in states(events):
        if before is None:
            continue
        if before.paused_at is not None:
            assert not event.by_rule, f"{type(event).__name__} decided while paused"
        if isinstance(event, Dispute.Escalated | lifecycle.Remanded | Dispute.Mediated):
            assert before.acceptance == "accepted"
        if isinstance(event, lifecycle.Declined):
            assert before.acceptance == "pending" and before.escalations == 0


@settings(max_examples=150, deadline=None)
@given(books, receipts, plans)
def test_a_remand_goes_down_the_tree_from_the_holder(
    rules: RuleBook, receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> None:
    _, events = run(rules, receipt, plan)
    for event, before in states(events):
        if isinstance(event, lifecycle.Remanded):
            assert before is not None and event.from_unit == before.unit
            unit = rules.unit(event.to_unit)
            while unit.parent is not None and unit.parent != event.from_unit:
                unit = rules.unit(unit.parent)
            assert unit.parent == event.from_unit
            assert rules.tier_index(event.to_tier) < rules.tier_index(event.from_tier)


# ------------------------------------------------------- working-time arithmetic

CN = WorkCalendar("cn-workdays", "Asia/Shanghai")
instants = st.datetimes(
    min_value=datetime(2024, 9, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))


@settings(max_examples=300, deadline=None)
@given(instants, spans)
def test_adding_working_time_is_undone_by_measuring_it(start: datetime, span: timedelta) -> None:
    end = CN.add_workday_time(start, span)
    assert end >= start
    assert CN.workday_time(start, end) == span


@settings(max_examples=300, deadline=None)
@given(instants, instants)
def test_working_time_is_at_most_elapsed_time(a: datetime, b: datetime) -> None:
    assert timedelta(0) <= CN.workday_time(a, b) <= max(b - a, timedelta(0))


def test_a_paused_weekend_costs_nothing_and_a_holiday_is_stepped_over() -> None:
    # Friday 2026-06-05 18:00 to Monday 2026-06-08 09:00, Shanghai: 6 h + 9 h.
    friday = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)
    monday = datetime(2026, 6, 8, 1, 0, tzinfo=UTC)
    assert CN.workday_time(friday, monday) == timedelta(hours=6 + 9)
    # A deadline at the end of Wednesday 2026-09-30, moved by one working day,
    # falls at the end of Thursday 2026-10-08: National Day (Oct 1-7) is stepped over.
    end_of_sept_30 = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    moved = CN.add_workday_time(end_of_sept_30, timedelta(days=1))
    assert moved == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
