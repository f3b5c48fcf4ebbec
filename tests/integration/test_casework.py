"""中心吹哨、部门报到, 领导包保 and 研判 through the engine, on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.aggregates.dispute import Dispute
from escalation.application.audit.report import dispute_report
from escalation.errors import IllegalTransition, InvalidInput, UnknownDispute
from tests.helpers import T0, hours


@pytest.fixture
def desk(casework_rules: RuleBook, db_url: str) -> Iterator[EscalationEngine]:
    with EscalationEngine(casework_rules, url=db_url, clock=lambda: T0) as engine:
        yield engine


def wages(engine: EscalationEngine, **more: object) -> str:
    values: dict[str, object] = {
        "unit": "c11",
        "category": "wage_arrears",
        "source": "walk_in",
        "summary": "工地欠薪",
        "parties": 3,
        "received_at": T0,
    }
    values.update(more)
    return str(engine.receive(**values))  # type: ignore[arg-type]


def names(engine: EscalationEngine, dispute_id: str) -> list[str]:
    return [type(e).__name__ for e in engine.history(dispute_id)]


def test_a_summoned_department_checks_in_reports_and_has_a_queue(
    desk: EscalationEngine,
) -> None:
    did = wages(desk)
    s = desk.summon(
        did,
        lead="human_resources_bureau",
        participants=["court"],
        actor="centre-desk",
        at=T0 + hours(1),
    )
    assert s.summoned == ("human_resources_bureau", "court")
    assert s.lead_department == "human_resources_bureau"
    assert [i.dispute_id for i in desk.queue(department="court")] == [s.id]
    assert desk.queue(department="petition_office") == []
    s = desk.check_in(did, department="court", actor="court/li", at=T0 + hours(2))
    assert s.checked_in == ("court",)
    # The court's first report falls due feedback_every (2 days) after it checked in.
    assert ("feedback", "court", T0 + hours(2) + timedelta(days=2), 0) in s.duties
    s = desk.report_progress(
        did, department="court", note="立案调解", actor="court/li", at=T0 + hours(20)
    )
    assert ("feedback", "court", T0 + hours(20) + timedelta(days=2), 0) in s.duties
    desk.close(did, outcome="agreement", actor="centre-desk", at=T0 + hours(21))
    assert desk.queue(department="court") == []
    # Closed before the bureau's check-in fell due: not charged to it.
    figures = {f.department: f for f in desk.department_figures("2026-03")}
    assert (figures["human_resources_bureau"].summoned, figures["court"].summoned) == (1, 1)
    assert figures["human_resources_bureau"].check_in_rate is None
    assert figures["court"].check_in_rate == 1
    assert figures["court"].on_time_feedback_rate == 1


def test_a_missed_check_in_and_report_get_notices_addressed_to_the_department(
    desk: EscalationEngine,
) -> None:
    did = wages(desk)
    desk.summon(did, lead="human_resources_bureau", participants=["court"], actor="desk")
    desk.check_in(did, department="human_resources_bureau", actor="hr", at=T0 + hours(1))
    desk.tick(T0 + timedelta(days=3))
    notices = [e for e in desk.history(did) if isinstance(e, Dispute.Notified)]
    # The court never checks in: a notice a day, three at most; the bureau's
    # first report (due two days after its check-in) never comes.
    assert [(n.duty, n.addressee, n.count, n.occurred_at) for n in notices] == [
        ("check_in", "court", 1, T0 + hours(24)),
        ("check_in", "court", 2, T0 + hours(48)),
        ("feedback", "human_resources_bureau", 1, T0 + hours(49)),
        ("check_in", "court", 3, T0 + hours(72)),
    ]
    assert notices[0].rule_id == "summon/check_in"
    assert notices[0].rules_version == desk.rules.version
    assert "court" in notices[0].reason
    assert notices[-1].next_due is None and "no further notice" in notices[-1].reason
    assert desk.tick(T0 + timedelta(days=3)).total == 0  # nothing more is due yet
    assert desk.tick(T0 + timedelta(days=30)).events["Notified"] == 2  # the bureau's 2nd, 3rd
    # Still owed, without further notices: nothing makes the dispute due for them.
    assert [(d[0], d[1], d[2]) for d in desk.get(did).duties] == [
        ("check_in", "court", None),
        ("feedback", "human_resources_bureau", None),
    ]
    # Figures per department.
    figures = {f.department: f for f in desk.department_figures("2026-03")}
    assert figures["court"].check_in_rate == 0
    assert figures["human_resources_bureau"].check_in_rate == 1
    assert figures["human_resources_bureau"].on_time_feedback_rate == 0
    assert figures["human_resources_bureau"].led == 1


def test_on_time_feedback_is_counted(desk: EscalationEngine) -> None:
    did = wages(desk)
    desk.summon(did, lead="court", actor="desk", at=T0 + hours(1))
    desk.check_in(did, department="court", actor="court/li", at=T0 + hours(30))  # late
    desk.report_progress(did, department="court", note="a", actor="court/li", at=T0 + hours(40))
    # Due at 88 h: missed (a notice), then reported late.
    desk.report_progress(did, department="court", note="b", actor="court/li", at=T0 + hours(90))
    desk.report_progress(did, department="court", note="c", actor="court/li", at=T0 + hours(100))
    desk.tick(T0 + hours(200))  # due at 148 h: never came
    (court,) = desk.department_figures("2026-03", department="court")
    assert (court.summoned, court.checked_in, court.checked_in_on_time) == (1, 1, 0)
    # Missed: due at 88 h (then late), 148 h and again 196 h.
    assert (court.reports_on_time, court.reports_missed) == (2, 3)
    assert court.on_time_feedback_rate == pytest.approx(2 / 5)


def test_routing_to_a_listed_department_summons_it_by_rule(desk: EscalationEngine) -> None:
    did = wages(desk, source="petition", category="family")
    # Routing (分类流转) follows the failed first mediation (先行调解).
    desk.mediate(did, outcome="failed", mediator="m", at=T0 + hours(1))
    history = desk.history(did)
    (summoned,) = [e for e in history if isinstance(e, Dispute.Summoned)]
    assert summoned.lead == "petition_office"
    assert summoned.rule_id == "summon/on_routing"
    assert summoned.rules_version == desk.rules.version
    assert "petition_office" in summoned.reason
    assert names(desk, did).index("Routed") < names(desk, did).index("Summoned")
    # Not listed under on_routing: routed, not summoned.
    other = wages(desk)
    desk.mediate(other, outcome="failed", mediator="m", at=T0 + hours(1))
    assert desk.get(other).department is not None
    assert desk.get(other).summoned == ()


def test_wrong_departments_and_states_are_refused_and_write_nothing(
    desk: EscalationEngine,
) -> None:
    did = wages(desk)
    before = len(desk.history(did))
    with pytest.raises(InvalidInput, match="did you mean 'court'"):
        desk.summon(did, lead="cort", actor="desk")
    with pytest.raises(InvalidInput, match="unknown department"):
        desk.check_in(did, department="police", actor="x")
    with pytest.raises(IllegalTransition, match="has not summoned it"):
        desk.check_in(did, department="court", actor="court/li")
    desk.summon(did, lead="court", actor="desk")
    before = len(desk.history(did))
    with pytest.raises(IllegalTransition, match="checks in first"):
        desk.report_progress(did, department="court", note="x", actor="court/li")
    with pytest.raises(IllegalTransition, match="already summoned"):
        desk.summon(did, lead="court", actor="desk")
    desk.check_in(did, department="court", actor="court/li")
    with pytest.raises(IllegalTransition, match="already checked in"):
        desk.check_in(did, department="court", actor="court/li")
    assert len(desk.history(did)) == before + 1


@pytest.mark.parametrize("actor", ["court", "court/li"])
def test_a_department_cannot_escalate_close_or_summon(desk: EscalationEngine, actor: str) -> None:
    did = wages(desk)
    before = len(desk.history(did))
    with pytest.raises(IllegalTransition, match="centre drives procedure"):
        desk.escalate(did, reason="too hard", actor=actor)
    with pytest.raises(IllegalTransition, match="centre drives procedure"):
        desk.close(did, outcome="agreement", actor=actor)
    with pytest.raises(IllegalTransition, match="centre drives procedure"):
        desk.summon(did, lead="human_resources_bureau", actor=actor)
    with pytest.raises(IllegalTransition, match="centre drives procedure"):
        desk.assign_leader(did, leader="wang", plan="x", actor=actor)
    assert len(desk.history(did)) == before
    desk.close(did, outcome="agreement", actor="courtyard-desk")  # not a department id


def test_a_high_risk_dispute_requires_a_leader_and_gets_notices_until_one_is_assigned(
    desk: EscalationEngine,
) -> None:
    did = wages(desk, parties=40)  # mass-wage: high, elevated to the district
    required = [e for e in desk.history(did) if isinstance(e, Dispute.LeaderRequired)]
    assert [(r.required, r.leader_due, r.rule_id) for r in required] == [
        (True, T0 + timedelta(days=1), "leaders/required_when")
    ]
    desk.tick(T0 + hours(30))
    (notice,) = [e for e in desk.history(did) if isinstance(e, Dispute.Notified)]
    assert (notice.duty, notice.addressee) == ("leader", "d1")  # the unit holding the case
    at = T0 + hours(31)
    s = desk.assign_leader(did, leader="王书记", plan="一案一策: 先垫付", actor="desk", at=at)
    assert s.leader == "wang"  # named by the rule book's name
    assert not [d for d in s.duties if d[0] == "leader"]
    assert desk.tick(T0 + hours(80)).events["Notified"] == 0
    with pytest.raises(InvalidInput, match="did you mean wang"):
        desk.assign_leader(did, leader="wamg", plan="x", actor="desk")
    with pytest.raises(InvalidInput, match="plan"):
        desk.assign_leader(did, leader="li", plan="  ", actor="desk")


def test_a_persons_assessment_stands_over_the_rules(desk: EscalationEngine) -> None:
    did = wages(desk, parties=12)  # rule "many": medium, elevated to the street
    assert desk.get(did).risk == "medium"
    s = desk.assess(did, level="high", reason="workers gathering at the site", actor="analyst")
    assert (s.risk, s.risk_assessor, s.risk_rule) == ("high", "analyst", None)
    assert s.tier == "district"  # the elevation rule reads the person's level
    assert any(d[0] == "leader" for d in s.duties)
    # Facts change (a reopening would make the rules re-assess): the person's level stands.
    desk.mediate(did, outcome="failed", mediator="m", at=T0 + hours(2))
    assert desk.get(did).risk == "high"
    assessed = [e for e in desk.history(did) if isinstance(e, Dispute.RiskAssessed)]
    assert len(assessed) == 1  # the rules' one, at receipt
    s = desk.assess(did, level="low", reason="wages paid", actor="analyst2", at=T0 + hours(3))
    assert (s.risk, s.risk_assessor) == ("low", "analyst2")
    assert not any(d[0] == "leader" for d in s.duties)  # no longer required
    rows = desk.timeline(did)
    why = [r.reason for r in rows if r.event == "Assessed"]
    assert why == ["workers gathering at the site", "wages paid"]
    report = dispute_report(desk, did)  # the audit why-table: who judged, and why
    assert "workers gathering at the site" in report and "analyst2" in report
    # Reopened twice, the rules would say high (rule "repeat"): the person's low stands.
    for n in (4, 6):
        desk.close(did, outcome="agreement", actor="desk", at=T0 + hours(n))
        desk.reopen(did, reason="not paid", actor="desk", at=T0 + hours(n + 1))
    s = desk.get(did)
    assert (s.reopened, s.risk, s.tier) == (2, "low", "district")
    with pytest.raises(InvalidInput, match="unknown risk level"):
        desk.assess(did, level="red", reason="x", actor="a")
    with pytest.raises(InvalidInput, match="give a reason"):
        desk.assess(did, level="high", reason=" ", actor="a")


def test_a_review_records_its_decisions_on_the_disputes_concerned(
    desk: EscalationEngine,
) -> None:
    ids = [wages(desk, location="黄贝岭村口") for _ in range(3)]
    desk.close(ids[0], outcome="agreement", actor="desk", at=T0 + hours(2))
    states = desk.record_review(
        ids,
        review="weekly 2026-W10",
        decision="class_governance",
        note="类案治理: 约谈总包单位, 建立工资专户",
        cluster="location:黄贝岭村口/wage_arrears",
        actor="weekly-meeting",
        at=T0 + hours(3),
    )
    assert [s.id for s in states] == [UUID(i) for i in ids]
    assert states[0].status == "closed"  # a closed member of the cluster gets it too
    for did in ids:
        (decided,) = [e for e in desk.history(did) if isinstance(e, Dispute.ReviewDecided)]
        assert (decided.review, decided.decision, decided.actor) == (
            "weekly 2026-W10",
            "class_governance",
            "weekly-meeting",
        )
        assert decided.cluster == "location:黄贝岭村口/wage_arrears"
    rows = desk.timeline(ids[1])
    assert rows[-1].event == "ReviewDecided"


def test_a_review_decision_refused_for_one_dispute_is_written_for_none(
    desk: EscalationEngine,
) -> None:
    a, b = wages(desk), wages(desk)
    desk.mediate(b, outcome="failed", mediator="m", at=T0 + hours(5))
    sizes = [len(desk.history(a)), len(desk.history(b))]

    def decide(ids: list[str], **more: object) -> object:
        values: dict[str, object] = {
            "review": "daily 2026-03-02",
            "decision": "supervision",
            "note": "督办",
            "actor": "daily-meeting",
            "at": T0 + hours(3),
        }
        values.update(more)
        return desk.record_review(ids, **values)  # type: ignore[arg-type]

    with pytest.raises(IllegalTransition, match="nothing was recorded"):
        decide([a, b])  # b's last event is later than the decision
    with pytest.raises(UnknownDispute):
        decide([a, "00000000-0000-0000-0000-000000000001"])
    with pytest.raises(InvalidInput, match="did you mean supervision"):
        decide([a], decision="supervise")
    with pytest.raises(InvalidInput, match="note"):
        decide([a], note=" ")
    with pytest.raises(InvalidInput, match="disputes"):
        decide([])
    assert [len(desk.history(a)), len(desk.history(b))] == sizes
