"""Casework policies (吹哨报到, 领导包保, 研判): invariants and what-if replay."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rebuild import rebuild
from escalation.application.whatif.replay import facts_of, replay
from escalation.errors import EscalationError
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Assessment,
    CheckIn,
    Closure,
    Fact,
    LeaderAssignment,
    ManualEscalation,
    Mediation,
    ProgressReport,
    Receipt,
    Reopening,
    Summons,
    apply_fact,
    register,
)
from escalation.policies.rulebook import RuleBook
from tests.helpers import CASEWORK_RULES, T0, hours

RULES = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
# The same rules without summons on routing and without leaders.
PLAIN = RuleBook.from_yaml(
    CASEWORK_RULES.replace("on_routing: [petition_office]", "on_routing: []").replace(
        "required_when: 'risk == \"high\"'", "required_when: 'false'"
    ),
    source="plain.yaml",
)
HORIZON = timedelta(days=30)  # the last tick, this long after the last fact
DEPARTMENTS = ("petition_office", "human_resources_bureau", "governance_centre", "court")


def _fact(kind: str, at: datetime, pick: int) -> Fact:
    dept = DEPARTMENTS[pick % len(DEPARTMENTS)]
    other = DEPARTMENTS[(pick + 1) % len(DEPARTMENTS)]
    facts: dict[str, Fact] = {
        "mediate": Mediation(at, "m", outcome="failed"),
        "summon": Summons(at, "desk", lead=dept, participants=(other,)),
        "check_in": CheckIn(at, f"{dept}/x", department=dept),
        "report": ProgressReport(at, f"{dept}/x", department=dept, note="n"),
        "assess": Assessment(at, "analyst", level=("low", "medium", "high")[pick % 3], reason="r"),
        "leader": LeaderAssignment(at, "desk", leader=("wang", "li")[pick % 2], plan="p"),
        "escalate": ManualEscalation(at, "desk", reason="hard"),
        "close": Closure(at, "desk", outcome="agreement"),
        "reopen": Reopening(at, "desk", reason="unpaid"),
    }
    return facts[kind]


steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "mediate",
                "summon",
                "check_in",
                "report",
                "assess",
                "leader",
                "escalate",
                "close",
                "reopen",
            ]
        ),
        st.integers(min_value=1, max_value=60),  # hours after the step before
        st.integers(min_value=0, max_value=11),
    ),
    max_size=14,
)


def _history(source: str, plan: list[tuple[str, int, int]]) -> list[Dispute.Event]:
    """The dispute's log: the plan's facts (refused ones write nothing), then a late tick."""
    receipt = Receipt("c11", "wage_arrears", source, "欠薪", T0, parties=5)
    dispute = register(RULES, receipt, T0)
    at = T0
    for kind, gap, pick in plan:
        at += hours(gap)
        with contextlib.suppress(EscalationError):
            apply_fact(dispute, _fact(kind, at, pick), RULES, at)
    apply_due(dispute, RULES, at + HORIZON, at + HORIZON)
    return cast("list[Dispute.Event]", dispute.collect_events())


@settings(max_examples=150, deadline=None)
@given(source=st.sampled_from(["walk_in", "petition"]), plan=steps)
def test_every_notice_is_addressed_to_whoever_holds_the_case_at_that_instant(
    source: str, plan: list[tuple[str, int, int]]
) -> None:
    events = _history(source, plan)
    for index, event in enumerate(events):
        if index == 0:
            continue
        before = rebuild(Dispute, events[:index]).state
        assert before.is_open or not isinstance(event, Dispute.Notified | Dispute.Supervised)
        if isinstance(event, Dispute.Supervised):
            assert event.unit == before.unit
        if isinstance(event, Dispute.Notified):
            if event.department:  # a department summoned to the case and owing the duty
                assert event.addressee == event.department
                assert event.department in before.summoned
                assert (event.duty == "check_in") == (event.department not in before.checked_in)
            else:  # the unit holding the case, for its missing leader
                assert event.duty == "leader"
                assert event.addressee == before.unit
                assert before.leader is None


@settings(max_examples=60, deadline=None)
@given(source=st.sampled_from(["walk_in", "petition"]), plan=steps)
def test_replaying_the_facts_under_the_same_rules_gives_the_same_history(
    source: str, plan: list[tuple[str, int, int]]
) -> None:
    events = _history(source, plan)
    last_fact = max(e.occurred_at for e in facts_of(events))
    out = replay(facts_of(events), RULES, last_fact + HORIZON)
    again = [(type(e).__name__, e.occurred_at, getattr(e, "reason", "")) for e in out.events]
    assert again == [(type(e).__name__, e.occurred_at, getattr(e, "reason", "")) for e in events]


def test_what_if_re_decides_rule_summons_and_leader_duties() -> None:
    receipt = Receipt("c11", "wage_arrears", "petition", "信访", T0, parties=40)  # high
    dispute = register(RULES, receipt, T0)
    apply_fact(dispute, CheckIn(T0 + hours(2), "po/x", department="petition_office"), RULES, T0)
    apply_due(dispute, RULES, T0 + hours(60), T0 + hours(60))
    events = cast("list[Dispute.Event]", dispute.collect_events())
    names = [type(e).__name__ for e in events]
    assert {"Summoned", "CheckedIn", "LeaderRequired", "Notified"} <= set(names)
    out = replay(facts_of(events), PLAIN, T0 + hours(60))
    replayed = [type(e).__name__ for e in out.events]
    # Without summons on routing nobody was summoned: the check-in is refused and reported.
    assert "Summoned" not in replayed and "CheckedIn" not in replayed
    assert "LeaderRequired" not in replayed and "Notified" not in replayed
    assert [(n.event, n.kind) for n in out.notes] == [("CheckedIn", "dropped")]
    assert "has not summoned it" in out.notes[0].detail
