"""Every dispute event of the catalogue is mapped wherever events are mapped.

Each reads the same in the history, the audit timeline and the what-if.

A new event class added to the catalogue without a line of text, a chart marker
or a forecast kind fails here, instead of showing as a bare name, a grey dot or
a "rules" decision.
"""

from __future__ import annotations

import typing
from datetime import UTC
from typing import cast
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation import RuleBook
from escalation.aggregates.catalogue import DISPUTE_EVENTS
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rules_applied import apply_rules
from escalation.application.audit.html import MARKERS
from escalation.application.event_text import LINES, codes, decided_by, describe
from escalation.application.whatif.open_disputes import KINDS
from escalation.policies.facts import (
    Assessment,
    CheckIn,
    Closure,
    Decline,
    FollowUp,
    LeaderAssignment,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Pause,
    ProgressReport,
    Receipt,
    Remand,
    Reopening,
    Resume,
    ReviewDecision,
    Summons,
    apply_fact,
    register,
)
from tests.helpers import T0, hours


def decisions() -> set[str]:
    """The events a rule can take: those with a ``rule_id`` field."""
    return {n for n, cls in DISPUTE_EVENTS.items() if "rule_id" in typing.get_type_hints(cls)}


def test_every_dispute_event_has_a_line_a_marker_and_if_a_decision_a_kind() -> None:
    assert set(LINES) == set(DISPUTE_EVENTS.values())
    assert set(MARKERS) == set(DISPUTE_EVENTS)
    assert set(KINDS) == decisions()


def one_of_each(rules: RuleBook) -> list[Dispute.Event]:
    receipt = Receipt(
        "c11", "wage_arrears", "walk_in", "工地拖欠工资", T0, parties=12, amount=42_000
    )
    dispute = register(rules, receipt, T0)
    for fact in (
        Mediation(T0 + hours(1), "m", outcome="failed", note="no show"),
        ManualNotice(T0 + hours(2), "lead", notice="warning", reason="slow"),
        ManualEscalation(T0 + hours(3), "clerk", reason="asked by the parties"),
        Closure(T0 + hours(4), "lead", outcome="agreement", note="signed"),
        Reopening(T0 + hours(5), "follow-up", reason="payment not made"),
        Summons(T0 + hours(6), "desk", lead="human_resources_bureau", participants=("court",)),
        CheckIn(T0 + hours(7), "hr-zhang", department="human_resources_bureau"),
        ProgressReport(T0 + hours(8), "hr-zhang", department="human_resources_bureau"),
        Assessment(T0 + hours(9), "analyst", level="high", reason="workers gathering"),
        # The court never checks in and the leader comes late: notices to each.
        LeaderAssignment(T0 + hours(40), "desk", leader="wang", plan="pay by Friday"),
        ReviewDecision(
            T0 + hours(41),
            "weekly-meeting",
            review="weekly 2026-W10",
            decision="supervision",
            note="督办: pay within 3 days",
        ),
    ):
        apply_fact(dispute, fact, rules, T0)
    s = dispute.state
    assert s.due_at is not None
    apply_rules(
        dispute,
        in_flight="adopt",
        due_at=s.due_at,
        schedule=s.schedule,
        rules_version=rules.version,
        reason="the new book went live",
        actor="admin",
        at=T0 + hours(50),
        recorded_at=T0,
    )
    dispute.erase(reason="retention ended", actor="dpo", at=T0 + hours(51), recorded_at=T0)
    # The lifecycle on a dispute of its own: paused, remanded, settled, followed up.
    life = register(rules, receipt, T0)
    for fact in (
        Mediation(T0 + hours(1), "m", outcome="failed", note="no show"),
        ManualNotice(T0 + hours(2), "lead", notice="warning", reason="slow"),
        ManualEscalation(T0 + hours(3), "clerk", reason="asked by the parties"),
        Closure(T0 + hours(4), "lead", outcome="agreement", note="signed"),
        Reopening(T0 + hours(5), "follow-up", reason="payment not made"),
        Pause(T0 + hours(5.2), "lead", reason="waiting for the appraisal"),
        Resume(T0 + hours(5.4), "lead"),
        Remand(T0 + hours(5.6), "lead", to_unit="c11", instructions="meet on site"),
        Mediation(T0 + hours(7), "m", outcome="resolved", note="agreement signed"),
        FollowUp(T0 + hours(8), "visitor", outcome="settled", note="paid"),
    ):
        apply_fact(life, fact, rules, T0)
    explicit = RuleBook.from_yaml(
        rules.text + "acceptance: {mode: explicit, within: 1 day}\n", source="explicit.yaml"
    )
    declined = register(explicit, receipt, T0)
    apply_fact(declined, Decline(T0 + hours(1), "desk", reason="a court case"), explicit, T0)
    events = dispute.collect_events() + life.collect_events() + declined.collect_events()
    return cast("list[Dispute.Event]", events)


def test_the_lines_say_what_happened_never_why(casework_rules: RuleBook) -> None:
    events = one_of_each(casework_rules)
    assert {type(e).__name__ for e in events} == set(DISPUTE_EVENTS)
    lines = {type(e).__name__: describe(e) for e in reversed(events)}  # the first of each
    assert lines["Received"] == "wage_arrears from walk_in at community c11, 12 parties"
    assert lines["Mediated"] == "mediation failed at street s1"
    assert lines["Closed"].startswith("closed: agreement at ")
    assert lines["RulesApplied"].startswith("rules applied (adopt): due ")
    assert lines["Summoned"] == "summoned human_resources_bureau (lead) with court"
    assert lines["CheckedIn"] == "human_resources_bureau checked in"
    assert lines["Assessed"] == "risk high by analyst (was medium)"
    assert lines["LeaderAssigned"] == "leader wang"
    assert lines["ReviewDecided"] == "weekly 2026-W10: supervision"
    notices = {describe(e) for e in events if isinstance(e, Dispute.Notified)}
    assert notices == {"check-in overdue: notice to court", "leader overdue: notice to d1"}
    assert lines["Accepted"] == "accepted (受理) at community c11"
    assert lines["Remanded"] == "remanded district d1 → community c11"
    assert lines["FollowedUp"] == "follow-up settled at community c11"
    # Not accepted yet, it was not elevated (parties >= 10) before the decline.
    assert lines["Declined"] == "declined (不予受理) at community c11"
    settled = [e for e in events if isinstance(e, Dispute.Mediated) and e.settles]
    assert [describe(e) for e in settled] == ["settled (agreement) at community c11"]
    for e in events:
        reason = getattr(e, "reason", "")
        assert not reason or reason not in describe(e, detail=True, rule=True), e


def test_detail_adds_what_people_wrote_and_rule_adds_who_decided(
    casework_rules: RuleBook,
) -> None:
    events = one_of_each(casework_rules)
    first = {type(e).__name__: e for e in reversed(events)}  # the first of each kind
    received = describe(first["Received"], detail=True)
    assert received.endswith("12 parties, ¥42,000: 工地拖欠工资")
    assert describe(first["Mediated"], detail=True).endswith(": no show")
    assert describe(first["RiskAssessed"], detail=True) == "risk medium (matched many)"
    by_hand = [e for e in events if isinstance(e, Dispute.Escalated) and e.rule_id is None]
    assert by_hand and describe(by_hand[0], rule=True).endswith(" [by hand]")
    assert describe(first["RiskAssessed"], rule=True) == "risk medium [many]"
    assert describe(first["Received"], rule=True) == describe(first["Received"])
    assert decided_by(first["Closed"]) is None


def test_labels_name_the_codes_people_read(casework_rules: RuleBook) -> None:
    events = one_of_each(casework_rules)
    first = {type(e).__name__: e for e in reversed(events)}
    label = casework_rules.label
    received = describe(first["Received"], label=label)
    assert received == "劳资纠纷 from 群众来访 at 社区 c11, 12 parties"
    assert describe(first["Supervised"], label=label) == "预警函 at 街道 s1"
    assert describe(first["Supervised"]) == "warning notice at street s1"
    summoned = describe(first["Summoned"], label=label)
    assert summoned == f"summoned {label('departments', 'human_resources_bureau')} (lead) with 法院"
    assert describe(first["Closed"], label=label).startswith("closed: 达成协议 at ")
    assert describe(first["Assessed"], label=label) == "risk 高（红） by analyst (was 中（黄）)"
    assert describe(first["FollowedUp"], label=label) == "follow-up 案结事了 at 社区 c11"
    assert describe(first["Remanded"], label=label) == "remanded 区 d1 → 社区 c11"
    assert describe(first["LeaderAssigned"], label=label) == "leader 王书记"  # leaders.people


@given(name=st.text(alphabet="社区街道法院函ABC", min_size=1, max_size=8))
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_without_a_label_the_codes_stay_and_with_one_no_code_field_leaks(
    casework_rules: RuleBook, name: str
) -> None:
    events = one_of_each(casework_rules)
    for e in events:
        # None and the code labeller are the API's lines, unchanged.
        assert describe(e, detail=True, rule=True, label=codes) == describe(
            e, detail=True, rule=True
        )
    coded = {"category", "source", "tier", "department", "outcome", "notice", "level", "lead"}
    for e in events:
        line = describe(e, label=lambda kind, code: name)
        for field_name in coded & set(vars(e)):
            code = vars(e)[field_name]
            # A code is named by the label (it may still appear inside a unit id or a word).
            assert not isinstance(code, str) or not code or f" {code} " not in f" {line} ", (
                e,
                field_name,
            )


def test_times_in_a_line_read_in_the_zone_given(casework_rules: RuleBook) -> None:
    events = one_of_each(casework_rules)
    required = next(e for e in events if isinstance(e, Dispute.LeaderRequired) and e.required)
    utc = describe(required)
    assert utc == f"leader required by {required.leader_due.astimezone(UTC):%Y-%m-%d %H:%M}Z"
    local = describe(required, zone=ZoneInfo("Asia/Shanghai"))
    shanghai = required.leader_due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local == f"leader required by {shanghai:%Y-%m-%d %H:%M} +08:00"
