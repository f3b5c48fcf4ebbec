"""The case's lifecycle around the tier loop, end to end on a real database.

受理 / 不予受理, settled → 回访 → closed, 中止 (pause / resume) and 交办 (remand).
Every refused action writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.import_format import parse_record, record_line
from escalation.application.importer import DisputeRecord, import_disputes
from escalation.entrypoints.cli import app
from escalation.errors import IllegalTransition, InvalidInput
from escalation.policies.facts import FollowUp, Mediation, Receipt, dispute_id_for
from tests.helpers import SMALL_RULES, T0, hours

EXPLICIT = SMALL_RULES + "acceptance: {mode: explicit, within: 1 day}\n"


@pytest.fixture
def explicit(db_url: str) -> Iterator[EscalationEngine]:
    rules = RuleBook.from_yaml(EXPLICIT, source="explicit.yaml")
    with EscalationEngine(rules, url=db_url, clock=lambda: T0) as engine:
        yield engine


def receive(engine: EscalationEngine, **overrides: object) -> UUID:
    args: dict[str, object] = {
        "unit": "c11",
        "category": "family",
        "source": "walk_in",
        "summary": "divorce and custody",
        "received_at": T0,
    }
    args.update(overrides)
    return engine.receive(**args)  # type: ignore[arg-type]


def names(engine: EscalationEngine, dispute_id: UUID) -> list[str]:
    return [type(e).__name__ for e in engine.history(dispute_id)]


def refused(engine: EscalationEngine, dispute_id: UUID, match: str, call: object) -> None:
    """``call`` raises IllegalTransition matching ``match`` and writes nothing."""
    before = len(engine.history(dispute_id))
    with pytest.raises(IllegalTransition, match=match):
        call()  # type: ignore[operator]
    assert len(engine.history(dispute_id)) == before


# ------------------------------------------------------------------ acceptance


def test_the_default_rule_book_accepts_at_once_by_rule(engine: EscalationEngine) -> None:
    did = receive(engine)
    accepted = engine.history(did)[1]
    assert type(accepted).__name__ == "Accepted"
    assert getattr(accepted, "rule_id", None) == "acceptance/auto"
    assert getattr(accepted, "rules_version", None) == engine.rules.version
    assert "auto" in getattr(accepted, "reason", "")
    refused(engine, did, "already accepted", lambda: engine.accept(did, actor="a", at=T0))
    refused(
        engine,
        did,
        "already accepted",
        lambda: engine.decline(did, reason="no", actor="a", at=T0 + hours(1)),
    )


def test_explicit_acceptance_waits_with_notices_and_nothing_moves_it(
    explicit: EscalationEngine,
) -> None:
    # 12 parties at a community: elevated to the street, but only once accepted.
    did = receive(explicit, parties=12)
    state = explicit.get(did)
    assert (state.acceptance, state.step, state.tier) == ("pending", "acceptance", "community")
    assert state.step_due_at == T0 + timedelta(days=1)
    refused(
        explicit,
        did,
        "not been accepted",
        lambda: explicit.mediate(did, outcome="failed", mediator="m", at=T0 + hours(1)),
    )
    explicit.tick(T0 + hours(20))  # the community ladder: 50% and 75% of 1 day
    notices = [e for e in explicit.history(did) if type(e).__name__ == "Supervised"]
    assert [(getattr(n, "notice", ""), getattr(n, "about", "")) for n in notices] == [
        ("reminder", "acceptance"),
        ("warning", "acceptance"),
    ]
    assert [getattr(n, "rule_id", "") for n in notices] == [
        "acceptance/notices/reminder",
        "acceptance/notices/warning",
    ]
    assert explicit.get(did).notices == ()  # the tier visit's own ladder is untouched
    state = explicit.accept(did, actor="desk", at=T0 + hours(21))
    assert (state.acceptance, state.step, state.tier) == ("accepted", None, "street")
    assert names(explicit, did)[-3:] == ["Accepted", "Escalated", "Routed"]
    refused(
        explicit,
        did,
        "already accepted",
        lambda: explicit.decline(did, reason="late", actor="a", at=T0 + hours(22)),
    )


def test_a_decline_ends_it_and_counts_as_no_settlement(explicit: EscalationEngine) -> None:
    did = receive(explicit, parties=12)
    kept = receive(explicit, unit="c12")
    explicit.accept(kept, actor="desk", at=T0 + hours(1))
    explicit.mediate(kept, outcome="resolved", mediator="m", at=T0 + hours(2))
    explicit.follow_up(kept, outcome="settled", actor="v", at=T0 + hours(3))
    with pytest.raises(InvalidInput, match="give a reason"):
        explicit.decline(did, reason="  ", actor="desk", at=T0 + hours(1))
    state = explicit.decline(did, reason="a court case is pending", actor="desk", at=T0 + hours(1))
    assert (state.status, state.outcome, state.acceptance) == ("closed", "declined", "declined")
    assert state.next_due_at() is None
    refused(explicit, did, "closed", lambda: explicit.accept(did, actor="a", at=T0 + hours(2)))
    refused(
        explicit,
        did,
        "never taken on",
        lambda: explicit.reopen(did, reason="again", actor="a", at=T0 + hours(2)),
    )
    figures = explicit.figures("2026-03")
    assert (figures.closed, figures.declined) == (2, 1)
    assert (figures.escalated, figures.elevated) == (0, 0)  # never moved before the decline
    assert figures.settled_within("community") == 1.0  # 1 of 1 handled, the decline left out


# ------------------------------------------------ settled → follow-up → closed


def test_a_settled_dispute_waits_in_the_follow_up_queue(engine: EscalationEngine) -> None:
    did = receive(engine)
    state = engine.mediate(did, outcome="resolved", mediator="m", at=T0 + hours(1))
    assert (state.status, state.settled_at) == ("settled", T0 + hours(1))
    assert state.step_due_at == T0 + hours(1) + timedelta(days=7)  # follow_up default: 7 days
    assert engine.queue() == [] and engine.queue(tier="community") == []
    (item,) = engine.follow_ups(unit="c11")
    assert (item.dispute_id, item.status, item.due_at) == (did, "settled", state.step_due_at)
    assert engine.follow_ups(unit="c12") == []
    refused(
        engine,
        did,
        "settled",
        lambda: engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(2)),
    )
    refused(
        engine,
        did,
        "settled",
        lambda: engine.escalate(did, reason="x", actor="a", at=T0 + hours(2)),
    )


def test_a_missed_follow_up_gets_notices_and_no_escalation(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.mediate(did, outcome="resolved", mediator="m", at=T0 + hours(1))
    engine.tick(T0 + timedelta(days=10))
    events = engine.history(did)
    after = [type(e).__name__ for e in events[events.index(events[-1]) - 1 :]]
    notices = [e for e in events if type(e).__name__ == "Supervised"]
    # The community ladder over 7 days: 50% and 75%; the tier clock is stopped.
    assert [getattr(n, "about", "") for n in notices] == ["follow_up", "follow_up"]
    assert [n.occurred_at for n in notices] == [
        T0 + hours(1) + timedelta(days=3.5),
        T0 + hours(1) + timedelta(days=5.25),
    ]
    assert "Escalated" not in after and engine.get(did).tier == "community"
    assert engine.get(did).status == "settled"


def test_unsettled_follow_up_reopens_where_it_was_settled(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.mediate(did, outcome="resolved", mediator="m", at=T0 + hours(1))
    state = engine.follow_up(
        did, outcome="unsettled", note="工资未付", actor="回访员", at=T0 + hours(30)
    )
    assert (state.status, state.unit, state.reopened, state.step) == ("open", "c11", 1, None)
    assert state.due_at == T0 + hours(30) + timedelta(days=2)
    assert names(engine, did)[-3:] == ["FollowedUp", "Reopened", "Routed"]
    reopened = next(e for e in engine.history(did) if type(e).__name__ == "Reopened")
    assert "工资未付" in getattr(reopened, "reason", "")
    assert [i.dispute_id for i in engine.queue(unit="c11")] == [did]
    assert engine.follow_ups() == []


def test_follow_up_is_only_for_a_settled_dispute(engine: EscalationEngine) -> None:
    did = receive(engine)
    refused(
        engine,
        did,
        "open: it is still being handled",
        lambda: engine.follow_up(did, outcome="settled", actor="v", at=T0 + hours(1)),
    )
    with pytest.raises(InvalidInput, match="did you mean settled"):
        engine.follow_up(did, outcome="setled", actor="v", at=T0 + hours(1))


def test_a_follow_up_close_is_on_time_if_it_settled_in_time(engine: EscalationEngine) -> None:
    late = receive(engine)  # community: 2 days
    engine.mediate(late, outcome="resolved", mediator="m", at=T0 + hours(40))
    engine.follow_up(late, outcome="settled", actor="v", at=T0 + timedelta(days=6))
    reopened = receive(engine, unit="c12")
    engine.mediate(reopened, outcome="resolved", mediator="m", at=T0 + hours(1))
    state = engine.follow_up(reopened, outcome="unsettled", actor="v", at=T0 + hours(2))
    assert state.settled_at is None
    engine.close(reopened, outcome="withdrawn", actor="c", at=T0 + timedelta(days=5))
    figures = engine.figures("2026-03")
    assert figures.closed == 2
    assert figures.units["c11"].on_time == 1  # settled at 40 h, within its 48 h
    assert figures.units["c12"].on_time == 0  # reopened, then closed past its limit


def test_close_is_allowed_on_a_settled_dispute(engine: EscalationEngine) -> None:
    did = receive(engine)
    engine.mediate(did, outcome="resolved", mediator="m", at=T0 + hours(1))
    state = engine.close(did, outcome="judicial_confirmation", actor="c", at=T0 + hours(5))
    assert (state.status, state.outcome, state.step) == ("closed", "judicial_confirmation", None)
    assert engine.follow_ups() == []


# ----------------------------------------------------------- pause and resume


def test_a_pause_stops_the_clocks_and_moves_them_on(engine: EscalationEngine) -> None:
    did = receive(engine)  # community: 2 days, reminder at 24h, warning at 36h
    engine.pause(did, reason="waiting for the appraisal", actor="lead", at=T0 + hours(10))
    engine.tick(T0 + hours(100))  # nothing falls due while paused
    assert names(engine, did)[-1] == "Paused"
    assert engine.get(did).next_due_at() is None
    refused(
        engine,
        did,
        "paused",
        lambda: engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(101)),
    )
    state = engine.resume(did, actor="lead", at=T0 + hours(110))
    assert state.paused_at is None
    assert state.due_at == T0 + hours(48 + 100)
    assert dict(state.schedule)["reminder"] == T0 + hours(24 + 100)
    timeline = engine.timeline(did)
    assert "waiting for the appraisal" in timeline[-2].reason
    assert "100 hours of working time" in timeline[-1].reason
    assert state.due_at.isoformat() in timeline[-1].reason
    refused(engine, did, "not paused", lambda: engine.resume(did, actor="l", at=T0 + hours(111)))
    engine.tick(T0 + hours(125))
    assert names(engine, did)[-1] == "Supervised"


# ------------------------------------------------------------------- remands


def test_a_remand_hands_it_down_with_the_lower_limit(engine: EscalationEngine) -> None:
    # High risk: elevated to the district d1 at receipt.
    did = receive(engine, category="wage_arrears", parties=45)
    assert engine.get(did).tier == "district"
    with pytest.raises(InvalidInput, match="did you mean c11"):
        engine.remand(did, to_unit="c111", instructions="x", actor="d", at=T0 + hours(1))
    state = engine.remand(
        did, to_unit="c11", instructions="先行调解, 三日内反馈", actor="d", at=T0 + hours(1)
    )
    assert (state.unit, state.tier, state.remands, state.remanded) == ("c11", "community", 1, True)
    assert state.due_at == T0 + hours(1) + timedelta(days=2)
    assert state.risk == "high" and names(engine, did)[-1] == "Remanded"  # not re-elevated
    refused(
        engine,
        did,
        "not a unit below",
        lambda: engine.remand(did, to_unit="c12", instructions="x", actor="c", at=T0 + hours(2)),
    )
    figures = engine.figures("2026-03")
    assert figures.remanded == 1 and figures.units["d1"].remanded_out == 1
    assert figures.resolved == 0 and figures.closed == 0
    # Its time limit passes at the community: stepwise to the street, as any visit,
    # where the elevation rule applies again (only the remanded visit is spared).
    engine.tick(T0 + hours(1) + timedelta(days=2))
    moves = [e for e in engine.history(did) if type(e).__name__ == "Escalated"][-2:]
    assert [(getattr(e, "to_unit", ""), getattr(e, "mode", "")) for e in moves] == [
        ("s1", "stepwise"),
        ("d1", "elevated"),
    ]


# ------------------------------------------------------------ command line


def test_the_command_line_runs_each_step(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(EXPLICIT, encoding="utf-8")
    common = ["--db", f"sqlite:///{tmp_path / 'cli.db'}", "--rules", str(rules)]
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, *common])
        assert result.exit_code == 0, result.output
        return result.output

    out = run("receive", "--unit", "c11", "--category", "family", "--source", "walk_in",
              "--summary", "s", "--at", "2026-03-02T09:00:00+08:00")  # fmt: skip
    did = out.split()[0]
    at = ["--at", "2026-03-02T10:00:00+08:00"]
    assert "open" in run("accept", did, "--actor", "desk", *at)
    run("mediate", did, "--outcome", "resolved", "--mediator", "m", *at)
    assert "follow-ups: 1 settled" in run("follow-ups")
    assert "open" in run("follow-up", did, "--outcome", "unsettled", "--actor", "v", *at)
    run("pause", did, "--reason", "appraisal", "--actor", "l", *at)
    run("resume", did, "--actor", "l", "--at", "2026-03-02T11:00:00+08:00")
    later = ["--at", "2026-03-02T12:00:00+08:00"]
    bad = runner.invoke(app, ["decline", did, "--reason", "x", "--actor", "d", *later, *common])
    assert isinstance(bad.exception, IllegalTransition), bad.output
    assert "already accepted" in str(bad.exception)
    bad = runner.invoke(
        app,
        ["remand", did, "--to-unit", "s1", "--instructions", "x", "--actor", "c", *later, *common],
    )
    assert isinstance(bad.exception, IllegalTransition), bad.output
    assert "not a unit below" in str(bad.exception)


# ------------------------------------------------------- imported histories


def test_an_imported_history_carries_its_follow_up(engine: EscalationEngine) -> None:
    receipt = Receipt("c11", "family", "walk_in", "s", T0, request_id="case-1")
    record = DisputeRecord(
        receipt,
        [
            Mediation(T0 + hours(3), "m", outcome="resolved"),
            FollowUp(T0 + hours(50), "v", outcome="settled", note="已履行"),
        ],
    )
    again = parse_record(record_line(record))
    assert list(again.facts) == list(record.facts)
    import_disputes(engine, [again])
    did = dispute_id_for("case-1")
    state = engine.get(did)
    assert (state.status, state.outcome, state.follow_ups) == ("closed", "resolved", 1)
    assert names(engine, did)[-3:] == ["Mediated", "FollowedUp", "Closed"]
