"""Applying decisions: ask ``decide``, apply the first as an event, repeat.

Pure like the rest of the core: the caller passes ``now`` and the time the
events are recorded. Applying one decision at a time lets each later
decision see the state the earlier ones made (an elevation resets the
schedule, a risk change can trigger an elevation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.lifecycle import accept
from escalation.policies.decide import decide
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
from escalation.policies.rulebook import RuleBook

RULES_ACTOR = "rules"
MAX_DECISIONS = 64  # far above any real chain; a rule book that loops is stopped here


def apply_due(dispute: Dispute, rules: RuleBook, now: datetime, recorded_at: datetime) -> int:
    """Apply every decision due by ``now``; returns how many were applied."""
    applied = 0
    while applied < MAX_DECISIONS:
        decisions = decide(dispute.state, rules, now)
        if not decisions:
            return applied
        apply_decision(dispute, decisions[0], rules, recorded_at)
        applied += 1
        # A notice changes neither the facts nor the schedule, so the notices
        # queued behind it in time order stand as decided: apply them without
        # asking again (catching up after downtime issues several in a row).
        for decision in decisions[1:]:
            if not isinstance(decisions[0], Notify) or not isinstance(decision, Notify):
                break
            apply_decision(dispute, decision, rules, recorded_at)
            applied += 1
    raise RuntimeError(
        f"policies kept deciding on dispute {dispute.id}; the rule book loops "
        f"(last decisions: {decide(dispute.state, rules, now)[:3]})"
    )


def apply_decision(
    dispute: Dispute, decision: Decision, rules: RuleBook, recorded_at: datetime
) -> None:
    common: dict[str, Any] = {
        "rule_id": decision.rule_id,
        "rules_version": rules.version,
        "reason": decision.reason,
        "actor": RULES_ACTOR,
        "at": decision.at,
        "recorded_at": recorded_at,
    }
    if isinstance(decision, AssessRisk):
        dispute.assess_risk(level=decision.level, matched=decision.matched, **common)
    elif isinstance(decision, Route):
        dispute.route(department=decision.department, **common)
    elif isinstance(decision, Escalate):
        dispute.escalate(
            to_unit=decision.to_unit,
            to_tier=decision.to_tier,
            tiers=rules.tiers,
            mode=decision.mode,
            due_at=decision.due_at,
            schedule=decision.schedule,
            **common,
        )
    elif isinstance(decision, Notify):
        dispute.supervise(notice=decision.notice, about=decision.about, **common)
    elif isinstance(decision, Summon):
        dispute.summon(
            lead=decision.lead,
            participants=decision.participants,
            check_in_due=decision.check_in_due,
            **common,
        )
    elif isinstance(decision, RequireLeader):
        dispute.require_leader(required=decision.required, leader_due=decision.leader_due, **common)
    elif isinstance(decision, NotifyDuty):
        dispute.notify(
            duty=decision.duty,
            department=decision.department,
            addressee=decision.addressee,
            next_due=decision.next_due,
            count=decision.count,
            **common,
        )
    elif isinstance(decision, Accept):
        accept(dispute, **common)
    else:  # pragma: no cover - a new Decision type must be wired here
        raise TypeError(f"unhandled decision {decision!r}")
