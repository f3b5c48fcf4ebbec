"""The demo: a realistic, seeded month of a Luohu-sized district.

Each day the workload registers new disputes at the units, the holding units
hold mediation sessions (outcomes drawn per tier), and at the end of the day
the engine ticks, so notices and escalations fall where the rules put them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID

from escalation.engine import EscalationEngine
from escalation.workload import Workload

DayDone = Callable[[date], None]


@dataclass
class DemoResult:
    start: date
    days: int
    received: int = 0
    commands: int = 0
    events: Counter[str] = field(default_factory=Counter)
    closed_at_tier: Counter[str] = field(default_factory=Counter)
    resolved_at_tier: Counter[str] = field(default_factory=Counter)
    escalated: int = 0
    elevated: int = 0
    notices: Counter[str] = field(default_factory=Counter)
    closed_on_time: int = 0
    closed: int = 0
    open_overdue: int = 0
    open_at_end: int = 0
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
    for day in workload.days(start, days):
        if rules.calendar.is_workday(day):
            _mediation_sessions(engine, workload, day, result)
        for item in workload.intake(day):
            engine.receive(
                unit=item.unit,
                category=item.category,
                source=item.source,
                summary=item.summary,
                parties=item.parties,
                amount=item.amount,
                location=item.location,
                received_at=item.received_at,
                request_id=item.request_id,
                actor="intake-desk",
            )
            result.received += 1
            result.commands += 1
        engine.tick(workload.local(day, time(20, 0)))
        if on_day is not None:
            on_day(day)
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
        outcome = workload.mediation_outcome(item.tier, item.risk)
        engine.mediate(item.dispute_id, outcome=outcome, mediator=f"mediator@{item.unit}", at=at)
        result.commands += 1


def _tally(engine: EscalationEngine, workload: Workload, end: date, result: DemoResult) -> None:
    """The month's figures, read back from the event log."""
    engine.catch_up()
    late: set[UUID] = set()  # missed a tier's time limit at some point
    recorder = engine.store.recorder
    position = 0
    while True:
        page = recorder.select_notifications(start=position + 1, limit=5000)
        if not page:
            break
        position = page[-1].id
        for notification in page:
            event = engine.store.mapper.to_domain_event(notification)
            name = type(event).__name__
            result.events[name] += 1
            if name == "Escalated":
                if event.mode == "elevated":  # type: ignore[attr-defined]
                    result.elevated += 1
                else:
                    result.escalated += 1
                if str(event.rule_id).endswith("/handle_within"):  # type: ignore[attr-defined]
                    late.add(event.originator_id)
            elif name == "Supervised":
                result.notices[event.notice] += 1  # type: ignore[attr-defined]
            elif name == "Closed":
                tier = event.tier  # type: ignore[attr-defined]
                result.closed += 1
                result.closed_at_tier[tier] += 1
                if event.outcome == "resolved":  # type: ignore[attr-defined]
                    result.resolved_at_tier[tier] += 1
                if event.originator_id not in late:
                    result.closed_on_time += 1
    end_at = result.end_at = workload.local(end, time(0, 0))
    open_items = engine.queue()
    result.open_at_end = len(open_items)
    result.open_overdue = sum(1 for i in open_items if i.overdue(end_at))
