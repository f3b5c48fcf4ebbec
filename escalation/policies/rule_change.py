"""Bringing an open dispute under a newly activated rule book (pure).

``keep`` (the default): the current visit keeps the deadline and notice
schedule it was given when it began. ``adopt``: the visit gets what the new
rules would have given it from the moment it began (a shorter limit can thus
be already passed: the escalation then happens at the activation). Either
way risk, routing, elevation and mediation-attempt limits are re-decided at
the activation. Disputes the new rules do not change get no event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rules_applied import apply_rules
from escalation.policies.decide import decide, tier_entry, visit_facts
from escalation.policies.due import apply_due
from escalation.policies.rulebook import RuleBook


def apply_rule_change(
    dispute: Dispute,
    rules: RuleBook,
    *,
    at: datetime,
    in_flight: str,
    actor: str,
    recorded_at: datetime,
) -> bool:
    """Apply ``rules`` to ``dispute`` at ``at``; True if it changed (events are pending)."""
    s = dispute.state
    if not s.is_open or s.tier_entered_at is None or s.updated_at is None:
        return False
    at = max(at, s.updated_at)
    due, schedule = s.due_at, s.schedule
    if in_flight == "adopt":
        facts = visit_facts(s, s.unit, s.tier)
        due, schedule = tier_entry(rules, s.unit, s.tier_entered_at, facts)
    assert due is not None
    moved = (due, schedule) != (s.due_at, s.schedule)
    # What the new rules would do at once, had the dispute been touched at ``at``.
    probe = replace(s, updated_at=at, due_at=due, schedule=schedule)
    if not moved and not decide(probe, rules, at):
        return False
    limit = rules.tier(s.tier).limit(s.risk)
    reason = f"rule book {rules.version} activated: the {s.tier} visit " + (
        f"adopts its limit ({limit}), due {due.isoformat()}" if moved else "keeps its deadline"
    )
    apply_rules(
        dispute,
        in_flight=in_flight,
        due_at=due,
        schedule=schedule,
        rules_version=rules.version,
        reason=reason,
        actor=actor,
        at=at,
        recorded_at=recorded_at,
    )
    apply_due(dispute, rules, at, recorded_at)
    return True
