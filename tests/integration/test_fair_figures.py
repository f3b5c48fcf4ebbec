"""Fair figures.

化解率 with what a unit escalated out, lateness charged per tier visit, intake
and petitions against the period before and a year before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation import EscalationEngine, RuleBook
from escalation.application.figures_report import figures_rows
from escalation.application.periods import Period
from tests.helpers import T0, hours

LATER = T0 + timedelta(days=60)


def test_unit_rates_count_escalations_out_and_charge_the_unit_that_overran(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: LATER) as e:
        day = T0 + hours(1)

        def receive(at: datetime) -> object:
            return e.receive(
                unit="c11", category="family", source="walk_in", summary="s", received_at=at
            )

        d1, d2, d3, d4 = (receive(day) for _ in range(4))
        d5 = receive(day + hours(30))  # its limit passes after the tick below
        e.mediate(d1, outcome="resolved", mediator="m", at=day + hours(2))  # settled at c11
        e.follow_up(d1, outcome="settled", actor="v", at=day + hours(2.5))  # closed at c11
        for d in (d2, d3):  # two failed mediations each: escalated out in time
            e.mediate(d, outcome="failed", mediator="m", at=day + hours(3))
            e.mediate(d, outcome="failed", mediator="m", at=day + hours(4))
        e.tick(day + hours(49))  # d4's 2 days at c11 passed: escalated late, to s1
        e.close(d4, outcome="resolved", actor="s", at=day + hours(60))  # in the street's time
        f = e.figures("2026-03")
        assert e.get(d5).unit == "c11" and e.get(d4).tier == "street"
    c11, s1 = f.units["c11"], f.units["s1"]
    assert (c11.received, c11.escalated_out, c11.closed, c11.resolved) == (5, 3, 1, 1)
    assert c11.resolution_rate == 1 / 4  # not 100%: three left without being resolved there
    assert (c11.visits, c11.on_time) == (4, 3)  # d4 overran at the community
    assert c11.on_time_rate == 3 / 4
    assert (s1.visits, s1.on_time, s1.on_time_rate) == (1, 1, 1.0)  # the street is not charged
    assert (f.visits, f.on_time) == (5, 4)


def test_intake_and_petitions_against_the_period_before_and_a_year_before(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: LATER) as e:

        def receive(at: datetime, source: str) -> None:
            d = e.receive(unit="c11", category="other", source=source, summary="s", received_at=at)
            e.close(d, outcome="withdrawn", actor="c", at=at + hours(1))

        for source in ("petition", "petition", "walk_in", "petition"):  # February: 3 petitions
            receive(datetime(2026, 2, 10, 2, tzinfo=UTC), source)
        for source in ("petition", "walk_in"):  # March 2025: 1 petition
            receive(datetime(2025, 3, 10, 2, tzinfo=UTC), source)
        for source in ("petition", "walk_in", "walk_in", "grid_patrol", "hotline_12345"):
            receive(T0 + hours(2), source)  # March 2026: 5 received, 1 petition
        f = e.figures("2026-03")
        week = e.figures("2026-W10")  # 2-8 March, against 23 February - 1 March
    assert (f.received, f.petitions) == (5, 1)
    assert f.previous is not None and f.year_ago is not None
    assert (f.previous.received, f.previous.petitions) == (4, 3)
    assert (f.year_ago.received, f.year_ago.petitions) == (2, 1)
    assert week.previous is not None and week.previous.received == 0
    rows = dict(figures_rows(f))
    assert rows["  petitions 信访"] == "1"
    assert rows["  received, vs previous period 环比"] == "+25.0% (4)"
    assert rows["  petitions 信访, vs previous period 环比"] == "-66.7% (3)"  # 信访量下降
    assert rows["  received, vs a year before 同比"] == "+150.0% (2)"
    assert rows["  petitions 信访, vs a year before 同比"] == "+0.0% (1)"
    assert not any("环比" in name for name, _ in figures_rows(week))  # nothing then to compare
    assert Period.parse("2026-03").previous() == Period.parse("2026-02")
    assert Period.parse("2026-Q1").previous() == Period.parse("2025-Q4")
    assert Period.parse("2026-Q1").year_before() == Period.parse("2025-Q1")
    assert Period.parse("2024-02-29").year_before() == Period.parse("2023-02-28")
