"""The demo's casework: departments check in and report, leaders take red cases.

On each working day of the demo, after the mediation sessions: the analysis
desk revisits a few yellow cases (研判), a leader takes most red cases that
need one (领导包保), the centre summons departments to red cases (吹哨), and
summoned departments check in (报到) and report progress (反馈), not always
in time, so the notices and the department figures have something to show.
On Mondays the weekly review (周会商) meets on last week and records its
decisions: class governance (类案治理) of the largest weak-signal cluster, and
supervision (督办) of the cases longest overdue.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time

from escalation.aggregates.state import LEADER, DisputeState
from escalation.application.engine import EscalationEngine
from escalation.application.reviews import build_review, previous_period
from escalation.application.workload import Workload

CHECK_IN_RATE = 0.7  # a summoned department checks in on a given working day
REPORT_RATE = 0.22  # a department that checked in reports on a given working day
LEADER_RATE = 0.6  # a red case needing a leader gets one on a given working day
SUMMON_RATE = 0.5  # the centre summons departments to a red case on a given day
ASSESS_RATE = 0.01  # the analysis desk revisits a yellow case above the community
HELPERS = ("justice_bureau", "public_security")  # often summoned alongside the lead
MEETING = time(17, 45)  # the weekly review meets after the day's sessions
SUPERVISED = 3  # overdue cases the weekly review puts under supervision (督办)


class Casework:
    def __init__(self, engine: EscalationEngine, workload: Workload, seed: int) -> None:
        self.engine, self.workload = engine, workload
        self.rng = random.Random(f"casework-{seed}")  # noqa: S311 - a seeded demo
        self.commands = 0

    def day(self, day: date, *, first: date | None = None) -> None:
        """The day's casework; on a Monday after ``first``, the weekly review too."""
        if day.weekday() == 0 and (first is None or day > first):
            self._weekly_review(day)
        rules = self.engine.rules
        items = self.engine.queue()
        for item in items:
            revisit = item.risk == "medium" and item.tier != rules.tiers[0]
            if revisit and self.rng.random() < ASSESS_RATE:
                self._assess(item.dispute_id, day)
        for item in items:
            if item.risk == "high":
                self._red_case(self.engine.get(item.dispute_id), day)
        for department in rules.departments:
            for item in self.engine.queue(department=department):
                self._department(self.engine.get(item.dispute_id), department, day)

    def _weekly_review(self, day: date) -> None:
        review = build_review(self.engine, "weekly", previous_period("weekly", day))
        at = self.workload.local(day, MEETING)
        name = f"weekly {review.label}"
        if review.weak_signals:
            top = review.weak_signals[0]
            self._decide(
                list(top.disputes),
                name,
                "class_governance",
                f"类案治理: {top.category} 在 {top.key} 聚集 {top.size} 件, 约谈相关单位",
                f"{top.by}:{top.key}/{top.category}",
                at,
            )
        for line in review.overdue[:SUPERVISED]:
            self._decide([line.dispute_id], name, "supervision", "督办: 限期化解", "", at)

    def _decide(
        self, ids: list[object], review: str, decision: str, note: str, cluster: str, at: datetime
    ) -> None:
        states = [self.engine.get(str(i)) for i in ids]
        if any(s.updated_at is not None and s.updated_at > at for s in states):
            return  # something happened after the meeting time: not this demo's meeting
        self.engine.record_review(
            [s.id for s in states],
            review=review,
            decision=decision,
            note=note,
            cluster=cluster,
            actor="weekly-review",
            at=at,
        )
        self.commands += 1

    def _at(self, state: DisputeState, day: date) -> datetime | None:
        minutes = self.rng.randint(9 * 60, 17 * 60 + 30)
        at = self.workload.local(day, time(minutes // 60, minutes % 60))
        late = state.updated_at is not None and at < state.updated_at
        return None if late or not state.is_open else at

    def _assess(self, dispute_id: object, day: date) -> None:
        state = self.engine.get(str(dispute_id))
        at = self._at(state, day)
        if at is None:
            return
        raise_it = self.rng.random() < 0.5
        self.engine.assess(
            state.id,
            level="high" if raise_it else "low",
            reason="研判: 当事人情绪激烈, 有聚集苗头" if raise_it else "研判: 已部分履行, 风险下降",
            actor="analysis-desk",
            at=at,
        )
        self.commands += 1

    def _red_case(self, state: DisputeState, day: date) -> None:
        rules = self.engine.rules
        people = list(rules.leaders.people)
        if state.duty(LEADER) is not None and people and self.rng.random() < LEADER_RATE:
            at = self._at(state, day)
            if at is not None:
                leader = self.rng.choice(people)
                plan = "一案一策: 包联系、包稳控、包化解"
                self.engine.assign_leader(state.id, leader=leader, plan=plan, actor="centre", at=at)
                self.commands += 1
                state = self.engine.get(str(state.id))
        if not state.summoned and self.rng.random() < SUMMON_RATE:
            at = self._at(state, day)
            lead = state.department or "comprehensive_governance_centre"
            if at is None or lead not in rules.departments:
                return
            helpers = [h for h in HELPERS if h in rules.departments and h != lead]
            others = self.rng.sample(helpers, k=min(len(helpers), self.rng.randint(0, 2)))
            self.engine.summon(
                state.id,
                lead=lead,
                participants=others,
                actor="centre",
                at=at,
                reason="红色案件: 中心吹哨",
            )
            self.commands += 1

    def _department(self, state: DisputeState, department: str, day: date) -> None:
        checked_in = department in state.checked_in
        if self.rng.random() >= (REPORT_RATE if checked_in else CHECK_IN_RATE):
            return
        at = self._at(state, day)
        if at is None:
            return
        actor = f"{department}/liaison"
        if checked_in:
            self.engine.report_progress(
                state.id, department=department, note="进展: 已约谈当事人", actor=actor, at=at
            )
        else:
            self.engine.check_in(state.id, department=department, actor=actor, at=at)
        self.commands += 1
