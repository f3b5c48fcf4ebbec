"""Properties of ``permitted(state)``, over states made up field by field.

The engine itself holds ``permitted`` to the commands' checks in
tests/integration/test_permitted.py; here, what must hold for any state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates.permitted import COMMANDS, permitted
from escalation.aggregates.state import DisputeState, evolve

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TIERS = ("community", "street", "district")
DEPARTMENTS = ("court", "police", "housing")
BASE = DisputeState(
    id=UUID(int=1),
    version=1,
    unit="c11",
    tier="community",
    status="open",
    category="neighbour",
    source="walk_in",
    parties=1,
    amount=0.0,
    summary="",
    location="",
    received_at=T0,
    received_unit="c11",
)


@st.composite
def states(draw: st.DrawFn) -> DisputeState:
    summoned = tuple(draw(st.lists(st.sampled_from(DEPARTMENTS), unique=True)))
    checked_in = tuple(d for d in summoned if draw(st.booleans()))
    return evolve(
        BASE,
        status=draw(st.sampled_from(("open", "settled", "closed"))),
        acceptance=draw(st.sampled_from(("pending", "accepted", "declined"))),
        paused_at=draw(st.sampled_from((None, T0))),
        tier=draw(st.sampled_from(TIERS)),
        erased=draw(st.booleans()),
        summoned=summoned,
        checked_in=checked_in,
    )


@settings(max_examples=300, deadline=None)
@given(states(), st.sampled_from((None, *DEPARTMENTS)))
def test_what_any_state_permits(state: DisputeState, department: str | None) -> None:
    allowed = permitted(state, TIERS, department)
    assert allowed <= set(COMMANDS)
    assert ("erase" in allowed) is not state.erased
    if state.status == "closed":
        assert allowed <= {"reopen", "erase"}
        assert ("reopen" in allowed) is (state.acceptance != "declined")
    if state.status == "open":  # a pause or a resume, never both
        assert len(allowed & {"pause", "resume"}) == 1
        assert ("resume" in allowed) is (state.paused_at is not None)
    assert ("follow_up" in allowed) is (state.status == "settled")
    assert ("accept" in allowed) is ("decline" in allowed)
    if "accept" in allowed:
        assert state.acceptance == "pending" and state.paused_at is None
        assert not allowed & {"mediate", "escalate", "remand"}  # 受理 comes first
    if "escalate" in allowed:
        assert state.tier != TIERS[-1]
    if state.paused_at is not None:
        assert not allowed & {"mediate", "escalate", "remand", "accept", "decline"}
    if department is not None:
        assert ("check_in" in allowed) is (
            state.status == "open"
            and department in state.summoned
            and department not in state.checked_in
        )
        assert ("report_progress" in allowed) is (
            state.status == "open" and department in state.checked_in
        )
