"""The demo: a realistic, seeded month of a Luohu-sized district.

Each day the workload registers new disputes at the units, the holding units
hold mediation sessions (outcomes drawn per tier), and at the end of the day
the engine ticks, so notices and escalations fall where the rules put them.

The lifecycle around the loop is exercised too: receipts are accepted or
declined (受理 / 不予受理) when the rule book asks for a person's acceptance,
settled disputes get their follow-up (回访: most held, some reopen), a few
cases are paused for an appraisal and resumed days later (中止), and the
district hands some cases back down to where they came from (交办).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from escalation.application.demo_casework import Casework
from escalation.application.engine import EscalationEngine, QueueItem
from escalation.application.periods import Period
from escalation.application.workload import (
    FOLLOW_UP_HELD,
    FOLLOW_UP_RATE,
    PAUSE_RATE,
    REMAND_RATE,
    Workload,
)
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
    paused: dict[UUID, date] = {}  # paused disputes and the day each is resumed
    for day in workload.days(start, days):
        if rules.calendar.is_workday(day):
            _resumptions(engine, workload, day, paused, result)
            _follow_ups(engine, workload, day, result)
            _mediation_sessions(engine, workload, day, result, paused)
            casework.day(day, first=start)  # 研判, 领导包保, 吹哨报到; Mondays 周会商
        for item in workload.intake(day):
            dispute_id = item.receive(engine)
            result.received += 1
            result.commands += 1
            _acceptance(engine, workload, dispute_id, item.received_at, result)
        engine.tick(workload.local(day, time(20, 0)))
        if on_day is not None:
            on_day(day)
    result.commands += casework.commands
    _tally(engine, workload, start + timedelta(days=days), result)
    return result


def _acceptance(
    engine: EscalationEngine,
    workload: Workload,
    dispute_id: UUID,
    received_at: datetime,
    result: DemoResult,
) -> None:
    """受理 half an hour after receipt, or 不予受理 for a matter outside the centre's remit."""
    at = received_at + timedelta(minutes=30)
    declined = workload.rng.random() < 0.02
    if engine.rules.acceptance.mode == "explicit":
        if declined:
            engine.decline(
                dispute_id, reason="不予受理告知: 不属于受理范围", actor="intake-desk", at=at
            )
        else:
            engine.accept(dispute_id, actor="intake-desk", at=at)
        result.commands += 1
    elif declined:  # accepted on receipt by the rule book: the desk closes it as declined
        engine.close(
            dispute_id, outcome="declined", actor="intake-desk", note="不予受理告知", at=at
        )
        result.commands += 1


def _follow_ups(
    engine: EscalationEngine, workload: Workload, day: date, result: DemoResult
) -> None:
    """回访 of settled disputes: most agreements are found kept; the rest reopen."""
    for item in engine.follow_ups():
        if workload.rng.random() >= FOLLOW_UP_RATE:
            continue
        at = workload.working_time(day)
        if item.updated_at is not None and at < item.updated_at:
            continue
        held = workload.rng.random() < FOLLOW_UP_HELD
        engine.follow_up(
            item.dispute_id,
            outcome="settled" if held else "unsettled",
            actor=f"follow-up@{item.unit}",
            note="" if held else "协议未履行",
            at=at,
        )
        result.commands += 1


def _resumptions(
    engine: EscalationEngine,
    workload: Workload,
    day: date,
    paused: dict[UUID, date],
    result: DemoResult,
) -> None:
    for dispute_id, until in sorted(paused.items(), key=lambda p: (p[1], p[0])):
        if until > day:
            continue
        del paused[dispute_id]
        state = engine.get(dispute_id)
        at = workload.working_time(day)
        if state.updated_at is not None and at < state.updated_at:
            at = state.updated_at
        engine.resume(dispute_id, actor=f"lead@{state.unit}", at=at)
        result.commands += 1


def _mediation_sessions(
    engine: EscalationEngine,
    workload: Workload,
    day: date,
    result: DemoResult,
    paused: dict[UUID, date],
) -> None:
    for item in engine.queue():
        if item.received_at >= workload.local(day, time(0, 0)) or item.dispute_id in paused:
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
        if _paused_or_remanded(engine, workload, item, day, at, paused):
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


def _paused_or_remanded(
    engine: EscalationEngine,
    workload: Workload,
    item: QueueItem,
    day: date,
    at: datetime,
    paused: dict[UUID, date],
) -> bool:
    """中止 for an appraisal now and then; at the top tier, 交办 back down sometimes."""
    if workload.rng.random() < PAUSE_RATE:
        engine.pause(
            item.dispute_id, reason="等待鉴定结果 (appraisal)", actor=f"lead@{item.unit}", at=at
        )
        paused[item.dispute_id] = day + timedelta(days=workload.rng.randint(3, 10))
        return True
    if item.tier != engine.rules.tiers[-1] or workload.rng.random() >= REMAND_RATE:
        return False
    origin = engine.get(item.dispute_id).received_unit
    if engine.rules.tier_index(engine.rules.unit(origin).tier) >= engine.rules.tier_index(
        item.tier
    ):
        return False  # registered at the top tier: nobody below to hand it to
    engine.remand(
        item.dispute_id,
        to_unit=origin,
        instructions="交办属地先行调解, 五个工作日内反馈",
        actor=f"lead@{item.unit}",
        at=at,
    )
    return True


def _tally(engine: EscalationEngine, workload: Workload, end: date, result: DemoResult) -> None:
    """The month's figures, from the read models like any report."""
    result.end_at = workload.local(end, time(0, 0))
    result.events = engine.projections.head()
    result.figures = engine.figures(Period(result.start, end - timedelta(days=1)))
