"""The pure what-if core: replaying facts, hand-worked examples, invariants."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from itertools import pairwise
from typing import cast
from uuid import uuid4
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import CLOSE_OUTCOMES, MEDIATION_OUTCOMES, Dispute
from escalation.application.whatif.outcome import Move, differences, summarise
from escalation.application.whatif.replay import facts_of, replay
from escalation.application.whatif.replay_rules import memoised
from escalation.errors import EscalationError
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Acceptance,
    Closure,
    Fact,
    FollowUp,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Pause,
    Receipt,
    Remand,
    Reopening,
    Resume,
    apply_fact,
    open_dispute,
)
from escalation.policies.rulebook import NOTICES, RuleBook
from tests.helpers import SMALL_RULES, T0, hours

RULES = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
# The community's time limit cut from 2 days to 1.
SHORTER = RuleBook.from_yaml(
    SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day"), source="shorter.yaml"
)


def received(unit: str = "c11", parties: int = 2, category: str = "family") -> Dispute:
    receipt = Receipt(unit, category, "walk_in", "s", T0, parties=parties, actor="intake")
    return open_dispute(RULES, uuid4(), receipt, T0)


def history(d: Dispute, horizon: datetime) -> list[Dispute.Event]:
    """The recorded log of ``d`` as a tick at ``horizon`` would leave it."""
    apply_due(d, RULES, horizon, horizon)
    return cast("list[Dispute.Event]", d.collect_events())


def test_a_shorter_community_limit_escalates_where_the_hand_worked_example_says() -> None:
    # Recorded under a 2-day limit: received Monday 09:00 local, a partial
    # mediation 30 hours later, still at the community (the reminder fell at 24h).
    d = received()
    apply_fact(d, Mediation(T0 + hours(30), "m", outcome="partial"), RULES, T0 + hours(30))
    events = history(d, T0 + hours(30))
    horizon = T0 + hours(30)

    out = replay(facts_of(events), SHORTER, horizon)

    # By hand, 1-day limit: reminder at 50% (12h), warning at 75% (18h), and at
    # 24h the limit passes: 逐级上报 to the parent street s1. The mediation at 30h
    # then happens at s1, where the dispute now is.
    cand = summarise(out.events, horizon)
    assert cand.moves == (
        Move(T0 + hours(24), "community", "street", "s1", "stepwise", "community/handle_within"),
    )
    assert cand.notices == ((T0 + hours(12), "reminder"), (T0 + hours(18), "warning"))
    assert [(n.event, n.kind) for n in out.notes] == [("Mediated", "moved")]
    assert "applied at s1" in out.notes[0].detail
    mediated = [e for e in out.events if isinstance(e, Dispute.Mediated)]
    assert [(m.unit, m.tier) for m in mediated] == [("s1", "street")]
    cur = summarise(events, horizon)
    assert cur.moves == () and cur.notices == ((T0 + hours(24), "reminder"),)
    rows = {what: (a, b) for what, a, b in differences(cur, cand)}
    assert rows["tier reached"] == ("community", "street")
    assert rows["on time"] == ("on time", "overdue")
    assert rows["notices"][0] == "reminder 2026-03-03 01:00Z"  # T0 + 24 h, in UTC
    # As people read it: the rule book's names, local time with its offset.
    shown = {
        w: (a, b) for w, a, b in differences(cur, cand, SHORTER.label, ZoneInfo("Asia/Shanghai"))
    }
    assert shown["tier reached"] == ("社区", "街道")
    assert shown["notices"][0] == "催办函 2026-03-03 09:00 +08:00"
    assert shown["escalations"][1].startswith("街道 2026-03-03 09:00 +08:00 stepwise")
    assert shown.keys() == rows.keys()  # the same differences, only read differently


def test_a_manual_escalation_the_candidate_already_made_is_dropped_and_reported() -> None:
    d = received()
    apply_fact(d, ManualEscalation(T0 + hours(30), "clerk", reason="stuck"), RULES, T0)
    horizon = T0 + hours(31)
    events = history(d, horizon)
    assert [m.rule_id for m in summarise(events, horizon).moves] == [None]

    out = replay(facts_of(events), SHORTER, horizon)

    cand = summarise(out.events, horizon)
    assert [(m.at, m.to_unit, m.rule_id) for m in cand.moves] == [
        (T0 + hours(24), "s1", "community/handle_within")
    ]
    assert [(n.event, n.kind) for n in out.notes] == [("Escalated", "dropped")]
    assert "escalation only goes up" in out.notes[0].detail


def test_a_manual_escalation_still_needed_goes_to_the_tier_it_reached() -> None:
    d = received()
    apply_fact(
        d, ManualEscalation(T0 + hours(3), "clerk", reason="x", to_tier="district"), RULES, T0
    )
    horizon = T0 + hours(4)
    out = replay(facts_of(history(d, horizon)), SHORTER, horizon)
    moves = summarise(out.events, horizon).moves
    assert [(m.to_unit, m.mode, m.rule_id) for m in moves] == [("d1", "elevated", None)]
    assert out.notes == []


def test_a_settled_case_followed_up_closes_wherever_the_candidate_holds_it() -> None:
    d = received()
    apply_fact(d, Mediation(T0 + hours(30), "m", outcome="resolved"), RULES, T0)
    apply_fact(d, FollowUp(T0 + hours(35), "f", outcome="settled"), RULES, T0)
    horizon = T0 + hours(40)
    events = history(d, horizon)
    assert summarise(events, horizon).closed_tier == "community"

    out = replay(facts_of(events), SHORTER, horizon)

    cand = summarise(out.events, horizon)
    assert (cand.status, cand.closed_tier) == ("closed", "street")
    # One command (follow_up, settled) recorded FollowedUp and Closed: one note.
    assert [(n.event, n.kind) for n in out.notes] == [
        ("Mediated", "moved"),
        ("FollowedUp", "moved"),
    ]
    assert [e.unit for e in out.events if isinstance(e, Dispute.Closed)] == ["s1"]


def test_a_resolved_mediation_alone_leaves_it_settled_not_closed() -> None:
    d = received()
    apply_fact(d, Mediation(T0 + hours(5), "m", outcome="resolved"), RULES, T0)
    horizon = T0 + hours(6)
    out = replay(facts_of(history(d, horizon)), RULES, horizon)
    assert summarise(out.events, horizon).status == "settled"
    assert not any(isinstance(e, Dispute.Closed) for e in out.events)


def test_a_fact_the_candidate_state_refuses_is_dropped_and_reported() -> None:
    d = received()
    apply_fact(d, Closure(T0 + hours(5), "a", outcome="withdrawn"), RULES, T0)
    events = history(d, T0 + hours(6))
    closed = events[-1]
    assert isinstance(closed, Dispute.Closed)
    facts = [*facts_of(events), closed]  # the same close twice: the second finds it closed

    out = replay(facts, RULES, T0 + hours(6))

    assert [(n.event, n.kind) for n in out.notes] == [("Closed", "dropped")]
    assert "closed" in out.notes[0].detail
    assert sum(isinstance(e, Dispute.Closed) for e in out.events) == 1


def test_a_dispute_received_at_a_unit_the_candidate_lacks_is_skipped() -> None:
    d = received(unit="c21")
    horizon = T0 + hours(1)
    without = RuleBook.from_yaml(
        SMALL_RULES.replace(
            "  - {id: c21, name: Community 2-1, tier: community, parent: s2}\n", ""
        ),
        source="without-c21.yaml",
    )
    out = replay(facts_of(history(d, horizon)), without, horizon)
    assert out.events == [] and out.dispute is None
    assert [(n.kind, n.event) for n in out.notes] == [("skipped", "Received")]
    assert "c21" in out.notes[0].detail


def test_facts_after_the_horizon_are_left_out() -> None:
    d = received()
    apply_fact(d, Mediation(T0 + hours(50), "m", outcome="resolved"), RULES, T0)
    events = history(d, T0 + hours(50))
    out = replay(facts_of(events), RULES, T0 + hours(10))
    assert all(e.occurred_at <= T0 + hours(10) for e in out.events)
    assert summarise(out.events, T0 + hours(10)).status == "open"


def test_the_memoising_twin_has_the_same_version_and_decisions() -> None:
    twin = memoised(RULES)
    assert twin.version == RULES.version and memoised(twin) is twin
    d = received(parties=45, category="wage_arrears")
    events = history(d, T0 + timedelta(days=20))
    plain = replay(facts_of(events), RULES, T0 + timedelta(days=20))
    quick = replay(facts_of(events), twin, T0 + timedelta(days=20))
    assert summarise(plain.events, T0).decisions == summarise(quick.events, T0).decisions
    assert summarise(quick.events, T0 + timedelta(days=20)).tier == "district"


# ---------------------------------------------------------------- properties

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "mediate",
                "escalate",
                "supervise",
                "close",
                "reopen",
                "follow_up",
                "pause",
                "resume",
                "remand",
                "wait",
            ]
        ),
        st.floats(0, 120),  # hours since the previous step
        st.integers(0, 10),
    ),
    max_size=20,
)
receipts = st.tuples(
    st.sampled_from(sorted(RULES.units)), st.integers(1, 60), st.sampled_from(RULES.categories)
)


def fact(kind: str, at: datetime, pick: int) -> Fact | None:
    if kind == "mediate":
        return Mediation(at, "m", outcome=MEDIATION_OUTCOMES[pick % 3])
    if kind == "escalate":
        return ManualEscalation(at, "clerk", reason="by hand", to_tier=[None, "district"][pick % 2])
    if kind == "supervise":
        return ManualNotice(at, "lead", notice=NOTICES[pick % 4], reason="by hand")
    if kind == "close":
        return Closure(at, "a", outcome=CLOSE_OUTCOMES[pick % 6])
    if kind == "reopen":
        return Reopening(at, "f", reason="unsettled")
    if kind == "follow_up":
        return FollowUp(at, "f", outcome=["settled", "unsettled"][pick % 2])
    if kind == "pause":
        return Pause(at, "p", reason="appraisal")
    if kind == "resume":
        return Resume(at, "p")
    if kind == "remand":
        return Remand(at, "lead", to_unit=sorted(RULES.units)[pick % 6], instructions="do it")
    return None


def live(
    receipt: tuple[str, int, str], plan: list[tuple[str, float, int]]
) -> tuple[Dispute, datetime]:
    """A dispute as the engine would record it: refused commands leave no trace."""
    unit, parties, category = receipt
    d = received(unit, parties, category)
    at = T0
    for kind, gap, pick in plan:
        at = at + timedelta(hours=gap)
        f = fact(kind, at, pick)
        if f is None:
            continue
        before = copy.deepcopy(d)
        try:
            apply_fact(d, f, RULES, at)
        except EscalationError:
            d = before
    return d, at


@settings(max_examples=150, deadline=None)
@given(receipts, steps, st.floats(0, 300))
def test_replaying_under_the_recorded_rules_reproduces_every_decision(
    receipt: tuple[str, int, str], plan: list[tuple[str, float, int]], later: float
) -> None:
    d, at = live(receipt, plan)
    horizon = at + timedelta(hours=later)
    events = history(d, horizon)
    out = replay(facts_of(events), memoised(RULES), horizon)
    assert summarise(out.events, horizon) == summarise(events, horizon)
    assert out.notes == []


@settings(max_examples=100, deadline=None)
@given(receipts, steps, st.sampled_from(["1 day", "3 days", "5 hours"]))
def test_under_any_limit_every_fact_is_applied_or_reported_and_tiers_only_go_up(
    receipt: tuple[str, int, str], plan: list[tuple[str, float, int]], limit: str
) -> None:
    candidate = RuleBook.from_yaml(
        SMALL_RULES.replace("handle_within: 2 days", f"handle_within: {limit}")
    )
    d, at = live(receipt, plan)
    events = history(d, at)
    facts = facts_of(events)
    out = replay(facts, candidate, at)
    applied = [e for e in out.events if not e.by_rule]
    dropped = [n for n in out.notes if n.kind == "dropped"]
    paired = sum(  # a follow-up's Closed or Reopened comes with it, not on its own
        isinstance(a, lifecycle.FollowedUp)
        and isinstance(b, Dispute.Closed | Dispute.Reopened)
        and a.occurred_at == b.occurred_at
        for a, b in pairwise(facts)
    )
    assert len(applied) + len(dropped) + paired >= len(facts)
    assert len(applied) + len(dropped) <= len(facts)
    rank = -1
    for e in out.events:
        if isinstance(e, Dispute.Escalated):
            assert candidate.tier_index(e.to_tier) > rank
            assert candidate.unit(e.to_unit).tier == e.to_tier
            rank = candidate.tier_index(e.to_tier)
        elif isinstance(e, Dispute.Received):
            rank = candidate.tier_index(e.tier)
        elif isinstance(e, lifecycle.Remanded):  # handed down on purpose: up again from there
            assert candidate.tier_index(e.to_tier) < rank
            rank = candidate.tier_index(e.to_tier)


EXPLICIT = RuleBook.from_yaml(
    SMALL_RULES + "acceptance: {mode: explicit, within: 1 day}\n", source="explicit.yaml"
)


def test_auto_acceptance_is_a_decision_the_candidate_re_decides() -> None:
    d = received()
    apply_fact(d, Mediation(T0 + hours(5), "m", outcome="failed"), RULES, T0)
    horizon = T0 + hours(30)
    events = history(d, horizon)
    assert [e.by_rule for e in events if isinstance(e, lifecycle.Accepted)] == [True]

    out = replay(facts_of(events), EXPLICIT, horizon)

    # Under explicit acceptance nobody accepted it: it waits, with the acceptance
    # ladder's notices, and the mediation is refused and reported.
    assert not any(isinstance(e, lifecycle.Accepted) for e in out.events)
    assert out.dispute is not None and out.dispute.state.acceptance == "pending"
    assert [(n.event, n.kind) for n in out.notes] == [("Mediated", "dropped")]
    assert "not been accepted" in out.notes[0].detail
    about = [e.about for e in out.events if isinstance(e, Dispute.Supervised)]
    assert about[:2] == ["acceptance", "acceptance"]


def test_a_persons_acceptance_replays_and_is_dropped_where_the_rules_accept() -> None:
    receipt = Receipt("c11", "family", "walk_in", "s", T0, actor="intake")
    d = open_dispute(EXPLICIT, uuid4(), receipt, T0)
    apply_fact(d, Acceptance(T0 + hours(2), "desk"), EXPLICIT, T0)
    apply_fact(d, Mediation(T0 + hours(5), "m", outcome="failed"), EXPLICIT, T0)
    events = cast("list[Dispute.Event]", d.collect_events())
    horizon = T0 + hours(6)
    same = replay(facts_of(events), EXPLICIT, horizon)
    assert summarise(same.events, horizon) == summarise(events, horizon)
    auto = replay(facts_of(events), RULES, horizon)
    assert [(n.event, n.kind) for n in auto.notes] == [("Accepted", "dropped")]
    assert [e.by_rule for e in auto.events if isinstance(e, lifecycle.Accepted)] == [True]
