"""The rules on the centre's casework: summons on routing, leaders, overdue duties.

中心吹哨、部门报到: a routing decision to a department the rule book lists
under ``summon.on_routing`` summons it; each summoned department owes a
check-in (报到) and then regular progress reports (反馈). 领导包保: a
dispute matching ``leaders.required_when`` needs a leader within
``leaders.within``. A duty not done by its due time gets a notice addressed
to whoever owes it, and is due again a period later. Pure, like ``decide``.
"""

from __future__ import annotations

from datetime import datetime

from escalation.aggregates.state import CHECK_IN, FEEDBACK, LEADER, DisputeState
from escalation.policies.decisions import Decision, NotifyDuty, RequireLeader, Summon
from escalation.policies.rulebook import RuleBook

ON_ROUTING = "summon/on_routing"
LEADERS_RULE = "leaders/required_when"
_WHAT = {
    CHECK_IN: "check-in (部门报到)",
    FEEDBACK: "progress report (反馈)",
    LEADER: "leader (领导包保)",
}


def casework(state: DisputeState, rules: RuleBook, now: datetime) -> list[Decision]:
    """What the casework rules decide on an open dispute by ``now``."""
    return [*_summon_on_routing(state, rules), *_leader(state, rules), *_overdue(state, rules, now)]


def leader_required(state: DisputeState, rules: RuleBook) -> bool:
    condition = rules.leaders.required_when
    return condition is not None and condition.matches(state.facts())


def _summon_on_routing(state: DisputeState, rules: RuleBook) -> list[Decision]:
    department = state.department
    if not department or department not in rules.summon.on_routing:
        return []
    if department in state.summoned:
        return []
    assert state.updated_at is not None
    lead = state.lead_department or department
    return [
        Summon(
            at=state.updated_at,
            rule_id=ON_ROUTING,
            reason=(
                f"routed to {department}, which summon.on_routing lists: 中心吹哨 "
                f"({'lead' if lead == department else 'with lead ' + lead})"
            ),
            lead=lead,
            participants=() if lead == department else (department,),
            check_in_due=rules.calendar.add(state.updated_at, rules.summon.check_in_within),
        )
    ]


def _leader(state: DisputeState, rules: RuleBook) -> list[Decision]:
    if state.leader is not None:
        return []
    assert state.updated_at is not None
    awaited = state.duty(LEADER) is not None
    needed = leader_required(state, rules)
    if needed == awaited:
        return []
    condition = rules.leaders.required_when
    source = condition.source if condition is not None else "no condition"
    if needed:
        within = rules.leaders.within
        due = rules.calendar.add(state.updated_at, within)
        reason = f"leaders.required_when matched ({source}): a leader within {within}"
        return [
            RequireLeader(
                at=state.updated_at,
                rule_id=LEADERS_RULE,
                reason=reason,
                required=True,
                leader_due=due,
            )
        ]
    reason = f"leaders.required_when no longer matches ({source}): no leader required"
    return [
        RequireLeader(
            at=state.updated_at,
            rule_id=LEADERS_RULE,
            reason=reason,
            required=False,
            leader_due=None,
        )
    ]


def _overdue(state: DisputeState, rules: RuleBook, now: datetime) -> list[Decision]:
    """A notice on each duty past due by ``now``, due again a period later.

    Decided from the state alone (``now`` only says what is due), so a replay
    issues the same notices as the ticks did; the rule book caps the notices
    on one duty (``summon.notices``, ``leaders.notices``), after which it waits.
    """
    assert state.updated_at is not None
    decisions: list[Decision] = []
    for kind, department, due, count in state.open_duties():
        if due is None or due > now:
            continue
        at = max(due, state.updated_at)  # an event never predates the one before it
        if kind == LEADER:
            period, most = rules.leaders.within, rules.leaders.notices
        else:
            most = rules.summon.notices
            period = (
                rules.summon.check_in_within if kind == CHECK_IN else rules.summon.feedback_every
            )
        again = rules.calendar.add(at, period) if count + 1 < most else None
        addressee = department or state.unit
        reason = (
            f"{_WHAT[kind]} due {due.isoformat()} not done"
            + (f" by {department}" if department else f" at {state.tier} {state.unit}")
            + f": notice {count + 1} of at most {most} to {addressee}"
            + (f", due again {again.isoformat()}" if again else "; no further notice")
        )
        decisions.append(
            NotifyDuty(
                at=at,
                rule_id=f"summon/{kind}" if kind != LEADER else "leaders/within",
                reason=reason,
                duty=kind,
                department=department,
                addressee=addressee,
                next_due=again,
                count=count + 1,
            )
        )
    return decisions
