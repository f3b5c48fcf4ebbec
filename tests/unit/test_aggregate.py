"""The Dispute aggregate on its own: transitions, refusals, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from escalation.aggregates.dispute import Dispute
from escalation.errors import IllegalTransition, InvalidInput, TimeWentBackwards
from tests.helpers import T0, hours

TIERS = ("community", "street", "district")


def new(**kw: object) -> Dispute:
    args: dict[str, object] = {
        "id": uuid4(),
        "unit": "c11",
        "tier": "community",
        "category": "family",
        "source": "walk_in",
        "parties": 2,
        "amount": 0.0,
        "summary": "s",
        "location": "",
        "at": T0,
        "actor": "intake",
        "recorded_at": T0,
        "due_at": T0 + timedelta(days=2),
        "schedule": [("reminder", T0 + hours(24))],
        "rules_version": "v1",
    }
    args.update(kw)
    return Dispute.receive(**args)  # type: ignore[arg-type]


def escalate(d: Dispute, to_unit: str, to_tier: str, at: datetime) -> None:
    d.escalate(
        to_unit=to_unit,
        to_tier=to_tier,
        tiers=TIERS,
        mode="stepwise",
        reason="r",
        due_at=at + timedelta(days=4),
        schedule=[],
        rule_id=None,
        rules_version="v1",
        actor="a",
        at=at,
        recorded_at=at,
    )


def refused(d: Dispute, exc: type[Exception], match: str, call: object) -> None:
    before = len(d.pending_events)
    with pytest.raises(exc, match=match):
        call()  # type: ignore[operator]
    assert len(d.pending_events) == before


def test_receive_refuses_bad_facts() -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        new(at=datetime(2026, 3, 2, 9))
    with pytest.raises(InvalidInput, match="parties"):
        new(parties=0)
    with pytest.raises(InvalidInput, match="amount"):
        new(amount=-1.0)
    with pytest.raises(InvalidInput, match="amount"):
        new(amount=float("nan"))


def test_illegal_transitions_record_nothing() -> None:
    d = new()
    refused(
        d,
        InvalidInput,
        "outcome",
        lambda: d.mediate(outcome="won", note="", actor="m", at=T0 + hours(1), recorded_at=T0),
    )
    refused(
        d,
        TimeWentBackwards,
        "backwards",
        lambda: d.mediate(outcome="failed", note="", actor="m", at=T0 - hours(1), recorded_at=T0),
    )
    refused(d, IllegalTransition, "only goes up", lambda: escalate(d, "c12", "community", T0))
    escalate(d, "s1", "street", T0 + hours(1))
    escalate(d, "d1", "district", T0 + hours(2))
    refused(d, IllegalTransition, "top tier", lambda: escalate(d, "x", "district", T0 + hours(3)))
    d.close(outcome="withdrawn", note="", actor="a", at=T0 + hours(4), recorded_at=T0)
    refused(
        d,
        IllegalTransition,
        "closed",
        lambda: d.close(outcome="resolved", note="", actor="a", at=T0 + hours(5), recorded_at=T0),
    )
    refused(
        d,
        IllegalTransition,
        "closed",
        lambda: d.mediate(outcome="failed", note="", actor="m", at=T0 + hours(5), recorded_at=T0),
    )
    d.reopen(
        reason="r",
        due_at=T0 + timedelta(days=9),
        schedule=[],
        rules_version="v1",
        actor="f",
        at=T0 + hours(6),
        recorded_at=T0,
    )
    refused(
        d,
        IllegalTransition,
        "only a closed or settled one",
        lambda: d.reopen(
            reason="r",
            due_at=T0 + timedelta(days=9),
            schedule=[],
            rules_version="v1",
            actor="f",
            at=T0 + hours(7),
            recorded_at=T0,
        ),
    )
    assert d.state.reopened == 1 and d.state.status == "open"


def test_events_are_utc_and_replay_to_the_same_state() -> None:
    d = new()
    d.mediate(outcome="failed", note="", actor="m", at=T0 + hours(1), recorded_at=T0)
    escalate(d, "s1", "street", T0 + hours(2))
    d.supervise(
        notice="warning",
        reason="r",
        rule_id="street/notices/warning",
        rules_version="v1",
        actor="rules",
        at=T0 + hours(3),
        recorded_at=T0,
    )
    events = d.collect_events()
    assert all(e.occurred_at.utcoffset() == timedelta(0) for e in events)  # type: ignore[attr-defined]
    assert [e.by_rule for e in events] == [False, False, False, True]  # type: ignore[attr-defined]
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.state == d.state
    assert d.state.attempts == 0 and d.state.notices == ("warning",) and d.state.visit == 2
    assert d.state.updated_at == T0 + hours(3)
    assert d.state.updated_at.tzinfo is not None and d.state.received_at.tzinfo == UTC
