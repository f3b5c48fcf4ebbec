"""The demo: a realistic, seeded month of a Luohu-sized district.

Each day the workload registers new disputes at the units, the holding units
hold mediation sessions (outcomes drawn per tier), and at the end of the day
the engine ticks, so notices and escalations fall where the rules put them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from escalation.application.demo_casework import Casework
from escalation.application.engine import EscalationEngine
from escalation.application.periods import Period
from escalation.application.workload import Workload
from projections.figures import Figures

DayDone = Callable[[date], None]


@dataclass
class DemoResult:
    start: date
    days: int
    received: int = 0
    commands: int = 0
    events: int = 0
    figures: Figures | None = None
    end_at: datetime | None = None


def run_demo(
    engine: EscalationEngine,
    start: date,
    days: int = 30,
    seed: int = 2025,
    per_day: int = 60,
    on_day: DayDone | None = None,
) -> DemoResult:
    rules = engine.rules
    workload = Workload(rules, seed=seed, per_day=per_day)
    result = DemoResult(start=start, days=days)
    casework = Casework(engine, workload, seed)
    for day in workload.days(start, days):
        if rules.calendar.is_workday(day):
            _mediation_sessions(engine, workload, day, result)
            casework.day(day, first=start)  # 研判, 领导包保, 吹哨报到; Mondays 周会商
        for item in workload.intake(day):
            dispute_id = item.receive(engine)
            result.received += 1
            result.commands += 1
            if workload.rng.random() < 0.02:  # 不予受理: outside the centre's remit
                engine.close(
                    dispute_id,
                    outcome="declined",
                    actor="intake-desk",
                    note="不予受理告知",
                    at=item.received_at + timedelta(minutes=30),
                )
                result.commands += 1
        engine.tick(workload.local(day, time(20, 0)))
        if on_day is not None:
            on_day(day)
    result.commands += casework.commands
    _tally(engine, workload, start + timedelta(days=days), result)
    return result


def _mediation_sessions(
    engine: EscalationEngine, workload: Workload, day: date, result: DemoResult
) -> None:
    for item in engine.queue():
        if item.received_at >= workload.local(day, time(0, 0)):
            continue
        if not workload.mediation_today(item.tier):
            continue
        at = workload.working_time(day)
        if item.updated_at is not None and at < item.updated_at:
            continue  # it already moved later today (e.g. an escalation at the deadline)
        result.commands += 1
        roll = workload.rng.random()
        if roll < 0.03:  # the party withdraws (撤回)
            engine.close(item.dispute_id, outcome="withdrawn", actor=f"clerk@{item.unit}", at=at)
            continue
        outcome = workload.mediation_outcome(item.tier, item.risk)
        if outcome == "resolved" and roll > 0.75:
            # A signed mediation agreement, sometimes confirmed by a court (司法确认).
            state = engine.mediate(
                item.dispute_id, outcome="partial", mediator=f"mediator@{item.unit}", at=at
            )
            if state.is_open:
                close = "judicial_confirmation" if roll > 0.93 else "agreement"
                engine.close(item.dispute_id, outcome=close, actor=f"mediator@{item.unit}", at=at)
            continue
        state = engine.mediate(
            item.dispute_id, outcome=outcome, mediator=f"mediator@{item.unit}", at=at
        )
        top = item.tier == engine.rules.tiers[-1]
        if top and state.is_open and outcome == "failed" and workload.rng.random() < 0.3:
            # Mediation exhausted at the district: the parties are guided to court (诉讼).
            engine.close(item.dispute_id, outcome="litigation", actor="district-centre", at=at)


def _tally(engine: EscalationEngine, workload: Workload, end: date, result: DemoResult) -> None:
    """The month's figures, from the read models like any report."""
    result.end_at = workload.local(end, time(0, 0))
    result.events = engine.projections.head()
    result.figures = engine.figures(Period(result.start, end - timedelta(days=1)))
