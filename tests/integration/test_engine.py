"""The engine end to end on a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.errors import (
    IllegalTransition,
    InvalidInput,
    RuleEvaluationError,
    StorageError,
    TimeWentBackwards,
    UnknownDispute,
)
from tests.helpers import T0, hours, recomputed_chain


def receive(engine: EscalationEngine, **overrides: object) -> UUID:
    args: dict[str, object] = {
        "unit": "c11",
        "category": "family",
        "source": "walk_in",
        "summary": "divorce and custody",
        "parties": 2,
        "amount": 0,
        "received_at": T0,
    }
    args.update(overrides)
    return engine.receive(**args)  # type: ignore[arg-type]


def names(engine: EscalationEngine, dispute_id: UUID) -> list[str]:
    return [type(e).__name__ for e in engine.history(dispute_id)]


def test_receive_assesses_routes_and_queues(engine: EscalationEngine) -> None:
    did = receive(engine)
    state = engine.get(did)
    assert (state.unit, state.tier, state.status, state.risk) == ("c11", "community", "open", "low")
    assert state.department is None  # 分类流转 comes after 先行调解
    assert state.due_at == T0 + timedelta(days=2)
    assert names(engine, did) == ["Received", "Accepted", "RiskAssessed"]
    accepted = engine.history(did)[1]
    assert (accepted.actor, getattr(accepted, "rule_id", None)) == ("rules", "acceptance/auto")
    assert state.acceptance == "accepted" and state.step is None
    assert [i.dispute_id for i in engine.queue(unit="c11")] == [did]
    assert engine.queue(unit="c12") == []
    assert [i.dispute_id for i in engine.queue(tier="community")] == [did]


def test_mass_wage_case_is_elevated_to_the_district_at_receipt(engine: EscalationEngine) -> None:
    did = receive(engine, category="wage_arrears", parties=45, amount=900_000)
    state = engine.get(did)
    assert (state.unit, state.tier, state.risk, state.elevated) == ("d1", "district", "high", True)
    escalated = [e for e in engine.history(did) if type(e).__name__ == "Escalated"]
    assert len(escalated) == 1
    e = escalated[0]
    assert (e.mode, e.rule_id, e.from_unit, e.to_unit) == ("elevated", "high-risk", "c11", "d1")  # type: ignore[attr-defined]
    assert e.rules_version == engine.rules.version  # type: ignore[attr-defined]
    assert "提级管理" in e.reason  # type: ignore[attr-defined]
    assert engine.queue(tier="community") == []
    assert [i.colour for i in engine.queue(tier="district")] == ["red"]


def test_failed_mediations_escalate_stepwise(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.mediate(did, outcome="failed", mediator="m1", at=T0 + hours(2))
    assert engine.get(did).tier == "community"
    assert engine.get(did).department == "governance_centre"  # routed once mediation failed
    state = engine.mediate(did, outcome="failed", mediator="m1", at=T0 + hours(3))
    assert (state.unit, state.tier, state.attempts) == ("s1", "street", 0)
    assert state.due_at == T0 + hours(3) + timedelta(days=4)
    assert names(engine, did)[-1] == "Escalated"
    assert [i.dispute_id for i in engine.queue(unit="s1")] == [did]


def test_resolved_mediation_settles_and_the_follow_up_closes(engine: EscalationEngine) -> None:
    did = receive(engine)
    state = engine.mediate(did, outcome="resolved", mediator="m1", at=T0 + hours(1))
    assert (state.status, state.outcome, state.step) == ("settled", None, "follow_up")
    assert names(engine, did)[-1] == "Mediated"
    assert engine.queue() == []
    assert [i.dispute_id for i in engine.follow_ups(unit="c11")] == [did]
    state = engine.follow_up(did, outcome="settled", actor="回访员", at=T0 + hours(30))
    assert (state.status, state.outcome) == ("closed", "resolved")
    assert names(engine, did)[-2:] == ["FollowedUp", "Closed"]
    assert engine.follow_ups() == [] and engine.queue() == []


def test_tick_issues_the_ladder_then_escalates_at_the_deadline(engine: EscalationEngine) -> None:
    did = receive(engine)
    report = engine.tick(T0 + hours(24))  # 50% of 2 days
    assert report.events == {"Supervised": 1}
    assert engine.get(did).notices == ("reminder",)
    report = engine.tick(T0 + hours(49))  # past 75% and the deadline
    # The escalation is the analysis step: routing follows it at once.
    assert report.events == {"Supervised": 1, "Escalated": 1, "Routed": 1}
    history = engine.history(did)
    warning, escalated, routed = history[-3], history[-2], history[-1]
    assert warning.occurred_at == T0 + hours(36)  # dated when it fell due, not at the tick
    assert escalated.occurred_at == routed.occurred_at == T0 + hours(48)
    state = engine.get(did)
    assert (state.unit, state.notices) == ("s1", ())
    assert state.due_at == T0 + hours(48) + timedelta(days=4)


def test_a_second_tick_at_the_same_time_changes_nothing(engine: EscalationEngine) -> None:
    ids = [receive(engine, unit=u) for u in ("c11", "c12", "c21")]
    first = engine.tick(T0 + timedelta(days=30))
    assert first.total > 0
    before = [len(engine.history(i)) for i in ids]
    second = engine.tick(T0 + timedelta(days=30))
    assert second.total == 0 and second.disputes == 0
    assert [len(engine.history(i)) for i in ids] == before


def test_top_tier_deadline_does_not_escalate_further(engine: EscalationEngine) -> None:
    did = receive(engine, category="wage_arrears", parties=40)
    engine.tick(T0 + timedelta(days=60))
    state = engine.get(did)
    assert state.tier == "district" and state.status == "open"
    assert state.overdue(T0 + timedelta(days=60))
    assert set(state.notices) == {"reminder", "supervision"}
    assert engine.tick(T0 + timedelta(days=90)).total == 0


def test_commands_catch_up_on_what_fell_due_before_them(engine: EscalationEngine) -> None:
    did = receive(engine)
    # No tick ran; a mediation three days later finds the case already at the street.
    state = engine.mediate(did, outcome="partial", mediator="m2", at=T0 + timedelta(days=3))
    assert state.tier == "street"
    mediated = engine.history(did)[-1]
    assert type(mediated).__name__ == "Mediated" and mediated.unit == "s1"  # type: ignore[attr-defined]


def test_manual_escalate_supervise_close_reopen(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.escalate(did, reason="party asked", actor="clerk", at=T0 + hours(1))
    assert engine.get(did).unit == "s1"
    engine.supervise(did, notice="warning", actor="lead", at=T0 + hours(2))
    engine.escalate(did, reason="hard case", actor="lead", at=T0 + hours(3))
    assert engine.get(did).unit == "d1"
    with pytest.raises(IllegalTransition, match="top tier"):
        engine.escalate(did, reason="again", actor="lead", at=T0 + hours(4))
    engine.close(did, outcome="agreement", actor="lead", at=T0 + hours(5))
    with pytest.raises(IllegalTransition, match="closed"):
        engine.close(did, outcome="resolved", actor="lead", at=T0 + hours(6))
    with pytest.raises(IllegalTransition, match="closed"):
        engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(6))
    state = engine.reopen(did, reason="payment not made", actor="follow-up", at=T0 + hours(7))
    assert (state.status, state.reopened, state.unit) == ("open", 1, "d1")
    manual = [e for e in engine.history(did) if not e.by_rule]
    assert [type(e).__name__ for e in manual] == [
        "Received",
        "Escalated",
        "Supervised",
        "Escalated",
        "Closed",
        "Reopened",
    ]


def test_manual_elevation_skips_levels(engine: EscalationEngine) -> None:
    did = receive(engine)
    state = engine.escalate(did, reason="public safety", actor="lead", to_tier="district", at=T0)
    assert (state.unit, state.elevated) == ("d1", True)


def test_request_ids_make_commands_idempotent(engine: EscalationEngine) -> None:
    a = receive(engine, request_id="req-1")
    b = receive(engine, request_id="req-1")
    assert a == b
    assert len(engine.queue()) == 1
    engine.mediate(a, outcome="failed", mediator="m", at=T0 + hours(1), request_id="med-1")
    engine.mediate(a, outcome="failed", mediator="m", at=T0 + hours(1), request_id="med-1")
    state = engine.get(a)
    assert state.mediations == 1 and state.tier == "community"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"unit": "nowhere"}, "unknown unit 'nowhere'"),
        ({"unit": "c1l"}, "did you mean .*c11"),
        ({"category": "divorce"}, "unknown category"),
        ({"source": "fax"}, "unknown source"),
        ({"amount": -5}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"parties": 0}, "parties"),
        ({"summary": ""}, "summary"),
        ({"received_at": datetime(2026, 3, 2, 9, 0)}, "timezone"),
    ],
)
def test_bad_receive_input_is_refused_and_writes_nothing(
    engine: EscalationEngine, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        receive(engine, **overrides)
    assert engine.store.recorder.max_notification_id() is None


def test_bad_commands_write_nothing(engine: EscalationEngine) -> None:
    did = receive(engine)
    count = len(engine.history(did))
    with pytest.raises(InvalidInput, match="unknown mediation outcome"):
        engine.mediate(did, outcome="won", mediator="m", at=T0 + hours(1))
    with pytest.raises(InvalidInput, match="unknown close outcome"):
        engine.close(did, outcome="done", actor="a", at=T0 + hours(1))
    with pytest.raises(InvalidInput, match="unknown notice"):
        engine.supervise(did, notice="scold", actor="a", at=T0 + hours(1))
    with pytest.raises(InvalidInput, match="timezone"):
        engine.mediate(did, outcome="failed", mediator="m", at=datetime(2026, 3, 2, 12))
    with pytest.raises(TimeWentBackwards, match="backwards"):
        engine.mediate(did, outcome="failed", mediator="m", at=T0 - hours(1))
    with pytest.raises(UnknownDispute):
        engine.mediate(UUID(int=7), outcome="failed", mediator="m", at=T0 + hours(1))
    with pytest.raises(InvalidInput, match="not a dispute id"):
        engine.get("not-a-uuid")
    assert len(engine.history(did)) == count


def test_state_at_shows_the_past(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.tick(T0 + timedelta(days=3))
    assert engine.state_at(did, T0 + hours(1)).tier == "community"
    assert engine.state_at(did, T0 + hours(30)).notices == ("reminder",)
    assert engine.state_at(did, T0 + timedelta(days=3)).tier == "street"
    with pytest.raises(UnknownDispute, match="had not been received"):
        engine.state_at(did, T0 - hours(1))


def test_replaying_history_rebuilds_the_live_state(engine: EscalationEngine) -> None:
    did = receive(engine, category="wage_arrears", parties=12)
    engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(5))
    engine.tick(T0 + timedelta(days=20))
    live = engine.get(did)
    replayed = None
    for event in engine.history(did):
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.state == live


def test_a_new_process_sees_everything(small_rules: RuleBook, db_url: str, tmp_path: Path) -> None:
    with EscalationEngine(small_rules, url=db_url) as engine:
        did = receive(engine)
        engine.tick(T0 + timedelta(days=3))
        expected = engine.get(did)
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(small_rules.text, encoding="utf-8")
    code = (
        "import sys\n"
        "from escalation import EscalationEngine, RuleBook\n"
        f"e = EscalationEngine(RuleBook.load({str(rules_file)!r}), url={db_url!r})\n"
        f"s = e.get({str(did)!r})\n"
        "q = e.queue(unit='s1')\n"
        "print(s.unit, s.tier, s.version, len(q), q[0].dispute_id)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["s1", "street", str(expected.version), "1", str(did)]


@pytest.mark.parametrize("kind", ["missing-dir", "not-a-database", "not-a-url"])
def test_a_bad_database_path_is_a_clear_error(
    small_rules: RuleBook, tmp_path: Path, kind: str
) -> None:
    if kind == "missing-dir":
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    elif kind == "not-a-database":
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"this is not a sqlite file at all" * 200)
        url = f"sqlite:///{junk}"
    else:
        url = str(tmp_path / "x.db")
    with pytest.raises(StorageError, match="database"):
        EscalationEngine(small_rules, url=url)


def test_stored_history_forms_an_unbroken_hash_chain(engine: EscalationEngine) -> None:
    from escalation.adapters.log_digests import GENESIS
    from escalation.application.audit.log import dispute_rows

    did = receive(engine, category="wage_arrears", parties=12, amount=123_456.78)
    engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(2))
    engine.tick(T0 + timedelta(days=9))
    seals = [r.seal for r in dispute_rows(engine.store, did)]
    chain = recomputed_chain(engine, did)
    assert len(chain) == len(engine.history(did)) > 5
    assert [s.digest for s in seals if s] == chain  # sealed as the stored bytes say
    assert [s.prev for s in seals if s] == [GENESIS, *chain[:-1]]
    assert {s.scheme for s in seals if s} == {2}


def test_a_rule_that_fails_at_run_time_is_reported_only_when_reached(tmp_path: Path) -> None:
    # Routing takes the first match: a later rule that errs for this dispute's
    # category must not matter when an earlier one matched (sections are
    # evaluated as one CEL program, falling back to one by one on errors).
    text = RuleBook.default().text.replace(
        "  - id: police-referral\n",
        "  - id: picky\n    when: '{\"other\": true}[category]'\n"
        "    department: justice_bureau\n  - id: police-referral\n",
        1,
    )
    rules = RuleBook.from_yaml(text)
    unit = next(u.id for u in rules.units.values() if u.tier == "community")
    with EscalationEngine(rules, url=f"sqlite:///{tmp_path / 'picky.db'}") as engine:
        petition = receive(engine, unit=unit, source="petition", category="family")
        assert engine.get(petition).department == "petition_office"
        with pytest.raises(RuleEvaluationError, match="category"):
            receive(engine, unit=unit, source="walk_in", category="family")
