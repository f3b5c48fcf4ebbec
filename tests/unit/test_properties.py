"""Hypothesis properties of the aggregate and the policies (pure, no database)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates.dispute import CLOSE_OUTCOMES, MEDIATION_OUTCOMES, Dispute
from escalation.errors import EscalationError
from escalation.policies.decide import decide, tier_entry
from escalation.policies.due import apply_due
from escalation.policies.rulebook import NOTICES, RuleBook
from tests.helpers import SMALL_RULES, T0

RULES = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")

receipts = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(sorted(RULES.units)),
        "category": st.sampled_from(RULES.categories),
        "source": st.sampled_from(RULES.sources),
        "parties": st.integers(1, 60),
        "amount": st.floats(0, 2_000_000, allow_nan=False),
    }
)
steps = st.lists(
    st.tuples(
        st.sampled_from(["mediate", "tick", "escalate", "supervise", "close", "reopen"]),
        st.floats(0, 120),  # hours since the previous step
        st.integers(0, 10),  # picks an outcome / notice / tier
    ),
    max_size=25,
)


def received(receipt: dict[str, object]) -> Dispute:
    unit = str(receipt["unit"])
    due, schedule = tier_entry(RULES, unit, T0)
    d = Dispute.receive(
        id=uuid4(),
        tier=RULES.unit(unit).tier,
        summary="s",
        location="",
        at=T0,
        actor="intake",
        recorded_at=T0,
        due_at=due,
        schedule=schedule,
        rules_version=RULES.version,
        **receipt,  # type: ignore[arg-type]
    )
    apply_due(d, RULES, T0, T0)
    return d


def act(d: Dispute, kind: str, at: datetime, pick: int) -> None:
    """One outside fact, as the engine would apply it (catch up, act, react)."""
    if kind == "tick":
        apply_due(d, RULES, at, at)
        return
    if d.state.updated_at is not None and at >= d.state.updated_at:
        apply_due(d, RULES, at, at)
    if kind == "mediate":
        d.mediate(outcome=MEDIATION_OUTCOMES[pick % 3], note="", actor="m", at=at, recorded_at=at)
    elif kind == "escalate":
        parent = RULES.parent(d.state.unit)
        target = parent or d.state.unit
        due, schedule = tier_entry(RULES, target, at)
        d.escalate(
            to_unit=target,
            to_tier=RULES.unit(target).tier,
            tiers=RULES.tiers,
            mode="stepwise",
            reason="by hand",
            due_at=due,
            schedule=schedule,
            rule_id=None,
            rules_version=RULES.version,
            actor="clerk",
            at=at,
            recorded_at=at,
        )
    elif kind == "supervise":
        d.supervise(
            notice=NOTICES[pick % 4],
            reason="by hand",
            rule_id=None,
            rules_version=RULES.version,
            actor="lead",
            at=at,
            recorded_at=at,
        )
    elif kind == "close":
        d.close(outcome=CLOSE_OUTCOMES[pick % 6], note="", actor="a", at=at, recorded_at=at)
    elif kind == "reopen":
        due, schedule = tier_entry(RULES, d.state.unit, at)
        d.reopen(
            reason="unsettled",
            due_at=due,
            schedule=schedule,
            rules_version=RULES.version,
            actor="f",
            at=at,
            recorded_at=at,
        )
    apply_due(d, RULES, at, at)


def run(receipt: dict[str, object], plan: list[tuple[str, float, int]]) -> tuple[Dispute, datetime]:
    d = received(receipt)
    at = T0
    for kind, gap, pick in plan:
        at = at + timedelta(hours=gap)
        before = copy.deepcopy(d)
        try:
            act(d, kind, at, pick)
        except EscalationError:
            d = before  # the engine saves nothing of a refused command
    return d, at


@settings(max_examples=150, deadline=None)
@given(receipts, steps)
def test_always_at_one_unit_of_the_tree_never_down_never_past_the_top(
    receipt: dict[str, object], plan: list[tuple[str, float, int]]
) -> None:
    d, _ = run(receipt, plan)
    replayed = None
    previous_rank = -1
    for event in d.collect_events():
        replayed = event.mutate(replayed)
        assert replayed is not None
        s = replayed.state
        assert s.unit in RULES.units
        assert RULES.unit(s.unit).tier == s.tier
        rank = RULES.tier_index(s.tier)
        assert previous_rank <= rank <= len(RULES.tiers) - 1
        previous_rank = rank
        if type(event).__name__ == "Received":
            continue
        assert event.timestamp >= T0
    assert replayed is not None and replayed.state == d.state


@settings(max_examples=150, deadline=None)
@given(receipts, steps, st.floats(0, 400))
def test_deciding_is_deterministic_and_settling_reaches_a_fixpoint(
    receipt: dict[str, object], plan: list[tuple[str, float, int]], later: float
) -> None:
    d, at = run(receipt, plan)
    now = at + timedelta(hours=later)
    assert decide(d.state, RULES, now) == decide(d.state, RULES, now)
    apply_due(d, RULES, now, now)
    assert decide(d.state, RULES, now) == []
    assert apply_due(d, RULES, now, now) == 0


@settings(max_examples=150, deadline=None)
@given(receipts, steps)
def test_each_ladder_notice_at_most_once_per_tier_visit(
    receipt: dict[str, object], plan: list[tuple[str, float, int]]
) -> None:
    d, at = run(receipt, plan)
    apply_due(d, RULES, at + timedelta(days=60), at + timedelta(days=60))
    visit = 0
    issued: set[str] = set()
    for event in d.collect_events():
        name = type(event).__name__
        if name in ("Received", "Escalated", "Reopened"):
            visit += 1
            issued = set()
        elif name == "Supervised" and event.by_rule:  # type: ignore[attr-defined]
            notice = event.notice  # type: ignore[attr-defined]
            assert notice not in issued, f"{notice} twice in visit {visit}"
            issued.add(notice)


@settings(max_examples=100, deadline=None)
@given(receipts)
def test_elevation_rules_put_high_risk_at_the_district(receipt: dict[str, object]) -> None:
    d = received(receipt)
    expected_high = receipt["category"] == "wage_arrears" and (
        int(receipt["parties"]) >= 30 or float(receipt["amount"]) >= 500_000  # type: ignore[arg-type]
    )
    assert (d.state.risk == "high") == expected_high
    if expected_high:
        assert d.state.tier == "district"
        # Elevated unless it was registered at the district in the first place.
        assert d.state.elevated == (RULES.unit(str(receipt["unit"])).tier != "district")


def test_time_only_moves_forward_in_the_log() -> None:
    d, _ = run(
        {"unit": "c11", "category": "family", "source": "walk_in", "parties": 2, "amount": 0.0},
        [("tick", 30, 0), ("mediate", 1, 1), ("mediate", 1, 1), ("tick", 500, 0)],
    )
    times = [e.timestamp for e in d.collect_events()]
    assert times == sorted(times)
    assert T0 + timedelta(hours=500) >= times[-1]
