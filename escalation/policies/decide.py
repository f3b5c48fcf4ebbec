"""The policies: pure functions from (state, rule book, now) to decisions.

No I/O, no clock. ``decide`` returns every decision that is due at ``now``,
earliest first; the engine applies the first, asks again, and stops when the
answer is empty, so decisions always see the state the previous ones made.
Deciding twice on the same state and time gives the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from escalation.aggregates.state import ACCEPTANCE, ESCALATE, FOLLOW_UP, DisputeState
from escalation.policies.casework import casework
from escalation.policies.decisions import (
    Accept,
    AssessRisk,
    Decision,
    Escalate,
    Notify,
    NotifyDuty,
    RequireLeader,
    Route,
    Summon,
)
from escalation.policies.rulebook import (
    NOTICE_NAMES,
    ElevateRule,
    RoutingRule,
    RuleBook,
    StepClock,
)

# Tie-break for decisions taking effect at the same instant.
_ORDER: Final = MappingProxyType(
    {
        Accept: -1,
        AssessRisk: 0,
        Route: 1,
        Escalate: 2,
        Notify: 2,
        # Casework (escalation.policies.casework): a duty notice falls after any
        # move at the same instant, so it is addressed to where the case went.
        Summon: 1,
        RequireLeader: 1,
        NotifyDuty: 3,
    }
)
#: The step clocks' names as reasons say them.
_STEP_NAMES: Final = MappingProxyType(
    {ACCEPTANCE: "acceptance (受理)", FOLLOW_UP: "follow-up (回访)"}
)


def tier_entry(
    rules: RuleBook, unit: str, at: datetime, facts: Mapping[str, object] | None = None
) -> tuple[datetime, tuple[tuple[str, datetime], ...]]:
    """The time limit and the schedule of a visit to ``unit`` beginning at ``at``.

    ``facts`` are the dispute's facts as the visit begins (``visit_facts``):
    its risk picks the limit (``handle_within`` by risk level) and the
    ``notices`` conditions pick which notices it is sent (重点案件督办); None
    means the default limit and every notice. Notices fall at their share of
    the limit, counted in office time when the rule book sets
    ``working_hours`` (so they fall in office hours on working days). A tier
    with a tier above it also schedules the stepwise escalation (逐级上报) at
    the limit, and no notice is scheduled at or after it: the unit would be
    losing the case at that instant.
    """
    tier = rules.tier(rules.unit(unit).tier)
    due = rules.calendar.add(at, tier.limit(None if facts is None else str(facts["risk"])))
    steps = [s for s in tier.notices if _sent(rules, s.notice, facts)]
    calendar = rules.calendar
    schedule: list[tuple[str, datetime]]
    if calendar.has_hours:
        office = calendar.working_time(at, due)
        schedule = [(s.notice, calendar.after_working(at, office * s.at)) for s in steps]
    else:
        span = due - at
        schedule = [(s.notice, at + span * s.at) for s in steps]
    if rules.parent(unit) is not None:
        schedule = [(notice, when) for notice, when in schedule if when < due]
        schedule.append((ESCALATE, due))
    schedule.sort(key=lambda item: item[1])  # stable: ladder order on ties
    return due, tuple(schedule)


def _sent(rules: RuleBook, notice: str, facts: Mapping[str, object] | None) -> bool:
    """Whether a visit with ``facts`` is sent ``notice`` (its ``notices:`` condition holds)."""
    condition = rules.notice_conditions.get(notice)
    return condition is None or facts is None or condition.matches(dict(facts))


def visit_facts(
    state: DisputeState, unit: str, tier: str, risk: str | None = None, *, moved: bool = False
) -> dict[str, object]:
    """The facts of ``state`` as a visit to ``unit`` begins (``moved``: by an escalation)."""
    facts = state.facts()
    facts.update(unit=unit, tier=tier)
    if risk is not None:
        facts["risk"] = risk
    if moved:
        facts["escalations"] = state.escalations + 1
        facts["attempts"] = 0
    return facts


def receipt_facts(rules: RuleBook, state: DisputeState) -> dict[str, object]:
    """The facts of a dispute being registered, with the risk the rules give them."""
    facts = state.facts()
    facts["risk"] = _risk_of(facts, rules)[0]
    return facts


def routing_due(state: DisputeState) -> bool:
    """Whether routing (分类流转) is decided yet, as the six steps order it.

    Only after 先行调解 and 分析研判: once a mediation failed, the dispute was
    escalated or reopened, or it was routed before (the routing follows its
    facts from then on). A routing rule with ``at_once`` routes at receipt.
    """
    return (
        state.attempts > 0
        or state.escalations > 0
        or state.reopened > 0
        or state.department is not None
    )


def step_entry(
    rules: RuleBook,
    clock: StepClock,
    unit: str,
    at: datetime,
    facts: Mapping[str, object] | None = None,
) -> tuple[datetime, tuple[tuple[str, datetime], ...]]:
    """The time limit and notice schedule of a step clock (acceptance, follow-up) from ``at``.

    Its notices fall at their share of its limit (of office time, in office
    hours, when the rule book sets ``working_hours``, as a visit's do);
    without notices of its own it uses the ladder of the tier of ``unit``. A
    notice with a ``notices:`` condition (重点案件督办) goes only to the disputes
    whose ``facts`` match it, as on a visit.
    """
    calendar = rules.calendar
    due = calendar.add(at, clock.within)
    ladder = clock.notices or rules.tier(rules.unit(unit).tier).notices
    steps = [s for s in ladder if _sent(rules, s.notice, facts)]
    if calendar.has_hours:
        office = calendar.working_time(at, due)
        timed = [(s.notice, calendar.after_working(at, office * s.at)) for s in steps]
    else:
        timed = [(s.notice, at + (due - at) * s.at) for s in steps]
    return due, tuple(sorted(timed, key=lambda item: item[1]))


@dataclass(frozen=True)
class Verdict:
    """What the fact-driven rules say about a set of facts."""

    risk: tuple[str, str | None, tuple[str, ...]]  # level, deciding rule id, all matched ids
    route: RoutingRule | None  # first matching routing rule
    elevate: ElevateRule | None  # matching elevation rule lifting highest above the tier


# Applying what is due asks ``decide`` again after every decision while the
# facts rarely change. A section's outcome depends only on the facts its
# conditions read, so verdicts are remembered per (tier, each section's facts),
# and on a miss each section per its own facts (a risk change leaves routing
# alone). The answers are kept in the rule book's own memo (``RuleBook.memo``):
# pure, bounded, safe to drop at any time.
def verdict(state: DisputeState, rules: RuleBook) -> Verdict:
    facts = state.facts()
    tier = state.tier
    risk_key = rules.risk_conditions.key(facts)
    route_key = rules.routing_conditions.key(facts)
    elevate_key = rules.elevate_conditions.key(facts)
    if risk_key is None or route_key is None or elevate_key is None:
        # A fact is missing: evaluating reports which.
        return Verdict(
            _risk_of(facts, rules), _route_of(facts, rules), _elevate_of(facts, tier, rules)
        )
    memo = rules.memo
    return memo.get(
        ("verdict", tier, risk_key, route_key, elevate_key),
        lambda: Verdict(
            risk=memo.get(("risk", risk_key), lambda: _risk_of(facts, rules)),
            route=memo.get(("route", route_key), lambda: _route_of(facts, rules)),
            elevate=memo.get(
                ("elevate", tier, elevate_key), lambda: _elevate_of(facts, tier, rules)
            ),
        ),
    )


def _risk_of(facts: dict[str, object], rules: RuleBook) -> tuple[str, str | None, tuple[str, ...]]:
    combined = rules.risk_conditions.evaluate(facts)
    outcomes = (
        combined if combined is not None else [r.when.matches(facts) for r in rules.risk_rules]
    )
    hits = [r for r, hit in zip(rules.risk_rules, outcomes, strict=True) if hit]
    if not hits:
        return ("low", None, ())
    return (hits[0].level, hits[0].id, tuple(r.id for r in hits))


def _route_of(facts: dict[str, object], rules: RuleBook) -> RoutingRule | None:
    outcomes = rules.routing_conditions.evaluate(facts)
    if outcomes is None:  # first match wins; later conditions are not evaluated
        return next((r for r in rules.routing_rules if r.when.matches(facts)), None)
    return next((r for r, hit in zip(rules.routing_rules, outcomes, strict=True) if hit), None)


def _elevate_of(facts: dict[str, object], tier: str, rules: RuleBook) -> ElevateRule | None:
    outcomes = rules.elevate_conditions.evaluate(facts)
    here = rules.tier_index(tier)
    best = None
    for i, rule in enumerate(rules.elevate_rules):
        target = rules.tier_index(rule.to)
        higher = best is None or target > rules.tier_index(best.to)
        if target > here and higher:
            hit = outcomes[i] if outcomes is not None else rule.when.matches(facts)
            if hit:
                best = rule
    return best


def assess_risk(state: DisputeState, rules: RuleBook) -> tuple[str, str | None, tuple[str, ...]]:
    """(level, deciding rule id, ids of every rule that matched); first match wins."""
    return verdict(state, rules).risk


def decide(state: DisputeState, rules: RuleBook, now: datetime) -> list[Decision]:
    if state.is_paused:  # 中止: no clock runs, and nothing is decided until it resumes
        return []
    if state.is_settled:  # out of the work queue: only the follow-up's notices
        return _step_notices(state, now)
    if not state.is_open:
        return []
    assert state.updated_at is not None
    found = verdict(state, rules)
    decisions: list[Decision] = []
    decisions += _acceptance(state, rules)
    decisions += _step_notices(state, now)
    decisions += _risk(state, rules, found)
    decisions += _routing(state, found)
    decisions += _elevation(state, rules, found)
    decisions += _failed_mediation(state, rules)
    decisions += _schedule(state, rules, now)
    decisions += casework(state, rules, now)
    if state.acceptance == "pending":  # not taken on yet: nothing moves it (受理 first)
        decisions = [d for d in decisions if not isinstance(d, Escalate)]
    decisions.sort(key=lambda d: (d.at, _ORDER[type(d)]))
    return decisions


def _risk(state: DisputeState, rules: RuleBook, found: Verdict) -> list[Decision]:
    if state.risk_assessor is not None:  # a person's judgement (研判) stands over the rules'
        return []
    level, rule_id, matched = found.risk
    if state.risk == level:
        return []
    if rule_id is None:
        reason = "no risk rule matched: low (蓝)"
    else:
        rule = next(r for r in rules.risk_rules if r.id == rule_id)
        reason = f"rule {rule_id} matched ({rule.when.source}): {level}"
    assert state.updated_at is not None
    return [
        AssessRisk(
            at=state.updated_at,
            rule_id=rule_id or "risk/default",
            reason=reason,
            level=level,
            matched=matched,
        )
    ]


def _routing(state: DisputeState, found: Verdict) -> list[Decision]:
    rule = found.route
    if rule is None or state.department == rule.department:
        return []
    if not (rule.at_once or routing_due(state)):
        return []
    assert state.updated_at is not None
    reason = f"rule {rule.id} matched ({rule.when.source}): 分类流转 to {rule.department}"
    if rule.at_once and not routing_due(state):
        reason += " at once"
    return [Route(at=state.updated_at, rule_id=rule.id, reason=reason, department=rule.department)]


def _elevation(state: DisputeState, rules: RuleBook, found: Verdict) -> list[Decision]:
    """提级管理: the matching rule that lifts the dispute highest (first on ties)."""
    best = found.elevate
    if best is None or state.remanded:  # a higher tier handed it down on purpose (交办)
        return []
    assert state.updated_at is not None
    to_unit = rules.ancestor(state.unit, best.to)
    risk = found.risk[0]
    facts = visit_facts(state, to_unit, best.to, risk, moved=True)
    facts["elevated"] = True
    due, schedule = tier_entry(rules, to_unit, state.updated_at, facts)
    limit = rules.tier(best.to).limit(risk)
    reason = (
        (
            f"rule {best.id} matched ({best.when.source}): 提级管理 from {state.tier} "
            f"{state.unit} to {best.to} {to_unit}"
        )
        + _limit_note(rules, best.to, risk)
        + rules.calendar.data_note(due, limit)
    )
    return [
        Escalate(
            at=state.updated_at,
            rule_id=best.id,
            reason=reason,
            to_unit=to_unit,
            to_tier=best.to,
            mode="elevated",
            due_at=due,
            schedule=schedule,
        )
    ]


def _failed_mediation(state: DisputeState, rules: RuleBook) -> list[Decision]:
    """逐级上报 once mediation has failed the allowed number of times."""
    limit = rules.tier(state.tier).max_mediation_attempts
    parent = rules.parent(state.unit)
    if limit is None or state.attempts < limit or parent is None:
        return []
    at = state.last_mediation_at or state.updated_at
    assert at is not None
    why = f"mediation failed {state.attempts} times at {state.tier} {state.unit} (limit {limit})"
    return [_stepwise(state, rules, parent, at, f"{state.tier}/max_mediation_attempts", why)]


def _stepwise(
    state: DisputeState, rules: RuleBook, parent: str, at: datetime, rule_id: str, why: str
) -> Escalate:
    """逐级上报 to ``parent`` at ``at``; ``why`` begins the reason."""
    parent_tier = rules.unit(parent).tier
    due, schedule = tier_entry(
        rules, parent, at, visit_facts(state, parent, parent_tier, moved=True)
    )
    risk = state.risk
    return Escalate(
        at=at,
        rule_id=rule_id,
        reason=f"{why}: 逐级上报 to {parent_tier} {parent}"
        + _limit_note(rules, parent_tier, risk)
        + rules.calendar.data_note(due, rules.tier(parent_tier).limit(risk)),
        to_unit=parent,
        to_tier=parent_tier,
        mode="stepwise",
        due_at=due,
        schedule=schedule,
    )


def _schedule(state: DisputeState, rules: RuleBook, now: datetime) -> list[Decision]:
    """Time-driven actions of the current visit that have fallen due by ``now``."""
    assert state.updated_at is not None
    assert state.due_at is not None
    limit = rules.tier(state.tier).limit(state.risk) if state.tier in rules.tiers else None
    decisions: list[Decision] = []
    for action, when in state.pending():
        if when > now:
            continue
        at = max(when, state.updated_at)  # an event never predates the one before it
        if action == ESCALATE:
            parent = rules.parent(state.unit)
            if parent is None:
                continue
            why = (
                f"time limit at {state.tier} {state.unit} ({limit}) passed at "
                f"{state.due_at.isoformat()}"
            )
            decisions.append(
                _stepwise(state, rules, parent, at, f"{state.tier}/handle_within", why)
            )
        else:
            if rules.calendar.has_hours and not rules.calendar.in_working_hours(at):
                # Caught up (an adopted limit, a visit scheduled before office hours were
                # kept): the letter goes out at the next office hour, if that has come.
                at = rules.calendar.after_working(at, timedelta(0))
                if at > now:
                    continue
            if _leaving_at(state, at):
                continue  # no notice to a unit at the instant the dispute leaves it
            assert state.tier_entered_at is not None
            share = _share(rules, state.tier_entered_at, when, state.due_at)
            reason = (
                f"{share:.0%} of the time limit at {state.tier} {state.unit} ({limit}, due "
                f"{state.due_at.isoformat()}) used: {action} {_letter(action)}"
            ).rstrip()
            decisions.append(
                Notify(
                    at=at, rule_id=f"{state.tier}/notices/{action}", reason=reason, notice=action
                )
            )
    return decisions


def _share(rules: RuleBook, start: datetime, when: datetime, due: datetime) -> float:
    """How much of the limit ``start``..``due`` is used at ``when`` (office time if kept)."""
    calendar = rules.calendar
    if calendar.has_hours:
        office = calendar.working_time(start, due)
        return calendar.working_time(start, when) / office if office else 1.0
    return (when - start) / (due - start)


def _leaving_at(state: DisputeState, when: datetime) -> bool:
    """True if the visit's stepwise escalation falls at or before ``when``.

    Schedules made before notices stopped short of the escalation still list
    a notice at the limit itself (督办函 at 100%); it is not sent.
    """
    return any(action == ESCALATE and at <= when for action, at in state.pending())


def _limit_note(rules: RuleBook, tier: str, risk: str | None) -> str:
    """'' or, when the tier's limit for ``risk`` is not its default, a note saying so."""
    found = rules.tier(tier)
    if risk is None or risk not in found.by_risk:
        return ""
    return f" (time limit {found.by_risk[risk]} for {risk} risk)"


def _letter(notice: str) -> str:
    """The letter a notice is sent as (催办函), "" for a notice without a Chinese name."""
    name = NOTICE_NAMES.get(notice)
    return f"{name}函" if name else ""


def _acceptance(state: DisputeState, rules: RuleBook) -> list[Decision]:
    """受理 at once when the rule book's acceptance mode is ``auto``."""
    if state.acceptance != "pending" or rules.acceptance.mode != "auto":
        return []
    assert state.updated_at is not None
    reason = f"acceptance mode auto: {state.tier} {state.unit} accepts every receipt (受理)"
    return [Accept(at=state.updated_at, rule_id="acceptance/auto", reason=reason)]


def _step_notices(state: DisputeState, now: datetime) -> list[Decision]:
    """Notices of the step clock (an undecided receipt, a follow-up not made) due by ``now``."""
    if state.step is None or state.step_due_at is None:
        return []
    assert state.updated_at is not None
    start = state.settled_at if state.step == FOLLOW_UP else state.received_at
    decisions: list[Decision] = []
    for notice, when in state.step_pending():
        if when > now:
            continue
        span = state.step_due_at - start if start is not None else None
        share = f"{(when - start) / span:.0%} of " if start is not None and span else ""
        reason = (
            f"{share}the {_STEP_NAMES.get(state.step, state.step)} time limit at {state.tier} "
            f"{state.unit} (due {state.step_due_at.isoformat()}) used: {notice} {_letter(notice)}"
        ).rstrip()
        decisions.append(
            Notify(
                at=max(when, state.updated_at),
                rule_id=f"{state.step}/notices/{notice}",
                reason=reason,
                notice=notice,
                about=state.step,
            )
        )
    return decisions
