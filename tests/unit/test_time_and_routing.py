"""Time limits, office hours, key-case supervision and routing order (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.aggregates.dispute import Dispute
from escalation.errors import RulesError
from escalation.policies.calendar import WorkCalendar
from escalation.policies.decide import step_entry, tier_entry
from escalation.policies.due import apply_due
from escalation.policies.durations import Duration
from escalation.policies.facts import Mediation, Receipt, apply_fact, register
from escalation.policies.rulebook import RuleBook
from tests.helpers import SMALL_RULES, T0

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT = RuleBook.default()
OFFICE = WorkCalendar("cn-workdays", working_hours=((9 * 60, 12 * 60), (14 * 60, 18 * 60)))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def receive(rules: RuleBook, at: datetime, **facts: object) -> Dispute:
    values: dict[str, object] = {
        "unit": "huangbei-c01",
        "category": "neighbour",
        "source": "walk_in",
        "summary": "s",
        "received_at": at,
    }
    values.update(facts)
    return register(rules, Receipt(**values), at)  # type: ignore[arg-type]


def fail_mediation(rules: RuleBook, dispute: Dispute, at: datetime) -> None:
    apply_fact(dispute, Mediation(at, "m", outcome="failed"), rules, at)


def names(dispute: Dispute) -> list[str]:
    """The names of the events written since the last call (collecting them)."""
    return [type(e).__name__ for e in dispute.collect_events()]


# --------------------------------------------------------------------- office time


def test_office_time_skips_lunch_nights_weekends_and_holidays() -> None:
    thursday = date(2026, 9, 24)  # Friday 25th is the Mid-Autumn holiday, then a weekend
    start = local(thursday, 17)
    assert OFFICE.working_time(start, local(thursday, 18)) == timedelta(hours=1)
    assert OFFICE.working_time(local(thursday, 11), local(thursday, 15)) == timedelta(hours=2)
    # One more office hour after Thursday 17:00 ends the day; two fall on Monday 28th at 10:00.
    assert OFFICE.after_working(start, timedelta(hours=1)) == local(thursday, 18)
    assert OFFICE.after_working(start, timedelta(hours=2)) == local(date(2026, 9, 28), 10)
    # National Day week (1-7 October) has no office hours; Saturday 10th is a make-up workday.
    assert OFFICE.working_time(local(date(2026, 10, 1), 0), local(date(2026, 10, 8), 0)) == (
        timedelta(0)
    )
    assert OFFICE.after_working(local(date(2026, 9, 30), 18, 1), timedelta(0)) == local(
        date(2026, 10, 8), 9
    )
    assert OFFICE.in_working_hours(local(date(2026, 10, 10), 9, 30))
    assert not OFFICE.in_working_hours(local(date(2026, 10, 11), 9, 30))  # Sunday
    assert not OFFICE.in_working_hours(local(date(2026, 9, 29), 12, 30))  # lunch
    assert OFFICE.in_working_hours(local(date(2026, 9, 29), 12, 0))  # the end of a span counts


def test_a_zero_amount_inside_office_hours_is_the_instant_itself() -> None:
    at = local(date(2026, 9, 29), 10, 17)
    assert OFFICE.after_working(at, timedelta(0)) == at
    assert OFFICE.after_working(local(date(2026, 9, 29), 12, 30), timedelta(0)) == local(
        date(2026, 9, 29), 14
    )


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ("[]", "list the office hours"),
        ('["9-12"]', "write office hours like 09:00-12:00"),
        ('["12:00-09:00"]', "must end after it starts"),
        ('["09:00-12:00", "11:00-18:00"]', "must begin after the previous span ends"),
    ],
)
def test_bad_working_hours_are_refused(hours: str, problem: str) -> None:
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(SMALL_RULES + f"working_hours: {hours}\n", source="t.yaml")
    assert any(p[2] == "working_hours" and problem in p[3] for p in caught.value.problems)


def test_bad_notice_conditions_are_refused_with_the_key_and_a_hint() -> None:
    cases = {
        "notices:\n  supervision: {whn: 'true'}\n": "did you mean 'when'?",
        "notices:\n  supervison: {when: 'true'}\n": "expected 'reminder'",
        "notices:\n  supervision: {when: 'risk == \"hgh\"'}\n": "did you mean 'high'?",
        "notices:\n  supervision: {when: 'parties'}\n": "true or false",
    }
    for section, hint in cases.items():
        with pytest.raises(RulesError) as caught:
            RuleBook.from_yaml(SMALL_RULES + section, source="t.yaml")
        assert any(p[2].startswith("notices.") and hint in p[3] for p in caught.value.problems), (
            caught.value.problems
        )


# ------------------------------------------------------------------ limits by risk


def test_handle_within_by_risk_gives_red_cases_the_short_clock() -> None:
    district = DEFAULT.tier("district")
    assert district.limit(None) == district.limit("low") == Duration(30, "workdays")
    assert district.limit("high") == Duration(10, "workdays")
    # A mass wage case is red at receipt and elevated to the district: 10 workdays, not 30.
    at = local(date(2026, 9, 1), 10)
    d = receive(DEFAULT, at, category="wage_arrears", parties=40, amount=600_000.0)
    s = d.state
    assert (s.risk, s.tier, s.elevated) == ("high", "district", True)
    assert s.due_at == DEFAULT.calendar.add(at, Duration(10, "workdays"))
    escalated = next(e for e in d.collect_events() if isinstance(e, Dispute.Escalated))
    assert "time limit 10 workdays for high risk" in escalated.reason


def test_a_plain_limit_and_the_default_apply_to_everyone_else() -> None:
    at = local(date(2026, 9, 1), 10)
    d = receive(DEFAULT, at)
    assert d.state.risk == "low"
    assert d.state.due_at == DEFAULT.calendar.add(at, Duration(5, "workdays"))
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    assert small.tier("street").by_risk == {}
    assert small.tier("street").limit("high") == Duration(4, "days")


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        ("{high: 2 days}", "give a default limit too"),
        ("{default: 2 days, red: 1 day}", "is not a risk level"),
        ("{default: 2 weeks}", "unknown unit 'weeks'"),
    ],
)
def test_bad_limits_by_risk_are_refused(limit: str, problem: str) -> None:
    text = SMALL_RULES.replace("handle_within: 2 days", f"handle_within: {limit}")
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="t.yaml")
    assert any("handle_within" in p[2] and problem in p[3] for p in caught.value.problems)


# ------------------------------------------------------------------------- notices


def test_notices_fall_in_office_hours_at_shares_of_office_time() -> None:
    at = local(date(2026, 9, 29), 10)  # Tuesday; the community has 5 workdays
    due, schedule = tier_entry(DEFAULT, "huangbei-c01", at, {**_facts(), "risk": "low"})
    office = DEFAULT.calendar.working_time(at, due)
    for notice, when in schedule:
        if notice == "escalate":
            assert when == due
            continue
        assert DEFAULT.calendar.in_working_hours(when), (notice, when)
        share = DEFAULT.calendar.working_time(at, when) / office
        step = next(s for s in DEFAULT.tier("community").notices if s.notice == notice)
        assert share == pytest.approx(step.at)
    # Five workdays from 29 September run past National Day: the reminder waits for 8 October.
    reminder = dict(schedule)["reminder"]
    assert reminder.astimezone(SHANGHAI).date() >= date(2026, 10, 8)


def test_supervision_goes_to_key_cases_and_never_at_the_escalation() -> None:
    at = local(date(2026, 9, 1), 10)
    routine = dict(tier_entry(DEFAULT, "huangbei", at, {**_facts(), "tier": "street"})[1])
    key = dict(
        tier_entry(DEFAULT, "huangbei", at, {**_facts(), "tier": "street", "amount": 600_000.0})[1]
    )
    assert "supervision" not in routine
    assert "supervision" in key
    assert key["supervision"] < key["escalate"]  # 18:00 of the last day, before midnight
    # Without office hours a 100% notice would fall with the escalation: it is not scheduled.
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    street = dict(tier_entry(small, "s1", at, {**_facts(), "tier": "street", "unit": "s1"})[1])
    assert "supervision" not in street
    district = dict(tier_entry(small, "d1", at, {**_facts(), "tier": "district", "unit": "d1"})[1])
    assert "supervision" in district  # the top tier has no escalation to lose the case to


def test_an_old_schedule_with_a_notice_at_the_limit_escalates_without_it() -> None:
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    d = receive(small, at, unit="c11", category="other")
    # As stored before: a warning at the limit, then the escalation at the same instant.
    due = d.state.due_at
    assert due is not None
    d.state = _with_schedule(d.state, (("warning", due), ("escalate", due)))
    apply_due(d, small, due, due)
    written = names(d)
    assert written[-2:] == ["Escalated", "Routed"]  # escalated, then routed (分析研判)
    assert d.state.notices == () and d.state.unit == "s1"
    assert "Supervised" not in written


def test_letters_scheduled_outside_office_hours_go_out_at_the_next_office_hour() -> None:
    received = local(date(2026, 9, 1), 10)
    saturday, sunday, monday = date(2026, 9, 5), date(2026, 9, 6), date(2026, 9, 7)
    # A visit scheduled before office hours were kept: letters at night and at the weekend.
    late = (("reminder", local(saturday, 3)), ("warning", local(sunday, 23)))
    d = receive(DEFAULT, received)
    d.state = _with_schedule(d.state, (*late, ("escalate", local(monday, 18))))
    apply_due(d, DEFAULT, local(monday, 8), received)
    assert "Supervised" not in names(d)  # not before Monday's office hours
    apply_due(d, DEFAULT, local(monday, 10), received)
    sent = [e for e in d.collect_events() if isinstance(e, Dispute.Supervised)]
    assert [(e.notice, e.occurred_at) for e in sent] == [
        ("reminder", local(monday, 9)),
        ("warning", local(monday, 9)),
    ]
    # Had the escalation fallen before 09:00, the letters would not have gone out at all.
    early = receive(DEFAULT, received)
    early.state = _with_schedule(early.state, (*late, ("escalate", local(monday, 8, 30))))
    apply_due(early, DEFAULT, local(monday, 10), received)
    assert "Supervised" not in names(early)
    assert early.state.tier == "street"


def _with_schedule(state: object, schedule: tuple[tuple[str, datetime], ...]) -> object:
    from escalation.aggregates.state import evolve

    return evolve(state, schedule=schedule)  # type: ignore[arg-type]


def _facts() -> dict[str, object]:
    return {
        "category": "neighbour",
        "source": "walk_in",
        "parties": 2,
        "amount": 1000.0,
        "risk": "low",
        "tier": "community",
        "unit": "huangbei-c01",
        "attempts": 0,
        "reopened": 0,
        "escalations": 0,
        "elevated": False,
        "location": "",
        "department": "",
    }


# ------------------------------------------------------------------------- routing


def test_routing_waits_for_the_first_failed_mediation() -> None:
    at = local(date(2026, 9, 1), 10)
    d = receive(DEFAULT, at, category="family", source="hotline_12345")
    assert d.state.department is None
    assert "Routed" not in names(d)
    apply_fact(d, Mediation(at + timedelta(hours=1), "m", outcome="partial"), DEFAULT, at)
    assert d.state.department is None  # a partial outcome is still 先行调解 in progress
    fail_mediation(DEFAULT, d, at + timedelta(hours=2))
    assert d.state.department == "womens_federation"


def test_petitions_go_to_the_petition_office_at_once() -> None:
    at = local(date(2026, 9, 1), 10)
    d = receive(DEFAULT, at, category="other", source="petition")
    routed = [e for e in d.collect_events() if isinstance(e, Dispute.Routed)]
    assert [(e.department, e.occurred_at, e.rule_id) for e in routed] == [
        ("petition_office", at, "petition")
    ]
    assert routed[0].reason.endswith("at once")


def test_category_comes_before_source() -> None:
    at = local(date(2026, 9, 1), 10)
    # A red real-estate case handed over by the police: the housing bureau, not the justice bureau.
    estate = receive(
        DEFAULT, at, category="real_estate", source="police_referral", amount=1_500_000.0
    )
    assert estate.state.risk == "high" and estate.state.tier == "district"
    assert estate.state.department == "housing_bureau"  # elevation is the analysis step
    # A wage-arrears petition: labour inspection, not the petition office.
    wages = receive(DEFAULT, at, category="wage_arrears", source="petition", parties=3)
    assert wages.state.department is None  # not routed at receipt: the wage rule is not at_once
    fail_mediation(DEFAULT, wages, at + timedelta(hours=1))
    assert wages.state.department == "human_resources_bureau"
    # What has no competent department follows the source: 警调对接 for the police's.
    police = receive(DEFAULT, at, category="neighbour", source="police_referral")
    fail_mediation(DEFAULT, police, at + timedelta(hours=1))
    assert police.state.department == "justice_bureau"
    hotline = receive(DEFAULT, at, category="neighbour", source="hotline_12345")
    fail_mediation(DEFAULT, hotline, at + timedelta(hours=1))
    assert hotline.state.department == "community_mediation_committee"


def test_an_at_once_key_keeps_old_rule_books_at_their_version() -> None:
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    explicit = SMALL_RULES.replace(
        "department: petition_office}", "department: petition_office, at_once: false}"
    )
    assert RuleBook.from_yaml(explicit, source="t.yaml").version == small.version
    at_once = SMALL_RULES.replace(
        "department: petition_office}", "department: petition_office, at_once: true}"
    )
    assert RuleBook.from_yaml(at_once, source="t.yaml").version != small.version


# ------------------------------------------------------------------------ property

histories = st.lists(
    st.tuples(
        st.sampled_from(["failed", "partial", "tick"]),
        st.integers(1, 6 * 24 * 60),  # minutes since the previous step
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(u for u in DEFAULT.units if DEFAULT.units[u].tier != "district")),
    st.sampled_from(DEFAULT.categories),
    st.sampled_from(DEFAULT.sources),
    st.integers(1, 60),
    st.floats(0, 2_000_000, allow_nan=False),
    st.integers(0, 120 * 24 * 60),  # minutes after 2026-08-01 00:00 Shanghai
    histories,
)
def test_every_rule_notice_in_office_hours_never_as_the_case_leaves(
    unit: str,
    category: str,
    source: str,
    parties: int,
    amount: float,
    offset: int,
    history: list[tuple[str, int]],
) -> None:
    at = local(date(2026, 8, 1), 0) + timedelta(minutes=offset)
    d = receive(
        DEFAULT, at, unit=unit, category=category, source=source, parties=parties, amount=amount
    )
    for kind, minutes in history:
        at += timedelta(minutes=minutes)
        if not d.state.is_open:
            break
        if kind == "tick":
            apply_due(d, DEFAULT, at, at)
        else:
            apply_fact(d, Mediation(at, "m", outcome=kind), DEFAULT, at)
    apply_due(d, DEFAULT, at + timedelta(days=90), at)
    events = d.collect_events()
    leaving = {(e.occurred_at, e.from_unit) for e in events if isinstance(e, Dispute.Escalated)}
    for e in events:
        if isinstance(e, Dispute.Supervised) and e.rule_id is not None:
            assert DEFAULT.calendar.in_working_hours(e.occurred_at), e.reason
            assert (e.occurred_at, e.unit) not in leaving, e.reason
            if e.notice == "supervision":  # 重点案件督办 only
                assert d.state.risk == "high" or d.state.amount >= 500_000 or parties >= 30


def test_step_clocks_send_the_key_cases_notice_to_key_cases_only() -> None:
    # 重点案件督办 holds for the follow-up and acceptance ladders too, not only for visits.
    rules = RuleBook.from_yaml(
        SMALL_RULES + "notices: {supervision: {when: 'risk == \"high\"'}}\n", source="key.yaml"
    )
    plain = {"risk": "low", "amount": 0.0, "parties": 1, "tier": "street", "unit": "s1"}
    ordinary = step_entry(rules, rules.follow_up, "s1", T0, plain)[1]
    key = step_entry(rules, rules.follow_up, "s1", T0, {**plain, "risk": "high"})[1]
    assert "supervision" not in [n for n, _ in ordinary]
    assert "supervision" in [n for n, _ in key]
