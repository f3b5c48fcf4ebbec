"""``RulesApplied``: a rule book change reached an open dispute.

When a rule book is activated, each open dispute it changes gets one
``RulesApplied`` (a decision: it carries ``rule_id`` and the new
``rules_version``). It sets the current visit's deadline and notice schedule
(unchanged when in-flight disputes keep theirs, recomputed when they adopt
the new limits) and dates the dispute at the activation, so the decisions
the new rules take next are dated then, not at some earlier event.

It lives outside ``dispute.py`` because it is an addition to the event
catalogue made by the rule-book work; the aggregate applies it like any of
its own events (projections need nothing new).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal, get_args

from eventsourcing.utils import register_topic

from escalation.aggregates.dispute import Dispute, require_aware
from escalation.errors import IllegalTransition, InvalidInput, TimeWentBackwards, shown

#: What open disputes do when a rule book is activated: ``keep`` the deadline
#: and schedule their current visit began with, or ``adopt`` the new limits.
InFlight = Literal["keep", "adopt"]
IN_FLIGHT_MODES: Final[tuple[InFlight, ...]] = get_args(InFlight)
RULE_ID: Final = "rules/activated"


class RulesApplied(Dispute.Event):
    TOPIC = "escalation/Dispute.RulesApplied"

    in_flight: str  # keep | adopt
    due_at: datetime
    schedule: list[tuple[str, datetime]]
    rule_id: str
    rules_version: str
    reason: str

    def apply(self, aggregate: Dispute) -> None:
        # JSON gives lists back for tuples: normalise, as the aggregate does.
        schedule = tuple((str(a), t) for a, t in self.schedule)
        self.advance(aggregate, due_at=self.due_at, schedule=schedule)


# eventsourcing registers the stored names of events nested in an aggregate when
# the aggregate class is made; this one lives outside the class body.
register_topic(RulesApplied.TOPIC, RulesApplied)


def apply_rules(
    dispute: Dispute,
    *,
    in_flight: str,
    due_at: datetime,
    schedule: Sequence[tuple[str, datetime]],
    rules_version: str,
    reason: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
) -> None:
    """Record ``RulesApplied`` on an open dispute; refuses like the aggregate's commands."""
    require_aware("at", at)
    s = dispute.state
    if in_flight not in IN_FLIGHT_MODES:
        raise InvalidInput(f"unknown in-flight mode {shown(in_flight)}; use keep or adopt")
    if not s.is_open:
        raise IllegalTransition(f"dispute {s.id} is closed; a rule change does not reach it")
    if s.updated_at is not None and at < s.updated_at:
        raise TimeWentBackwards(
            f"cannot apply rules to dispute {s.id} at {at.isoformat()}: its last event is at "
            f"{s.updated_at.isoformat()}"
        )
    dispute.trigger_event(
        event_class=RulesApplied,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        in_flight=in_flight,
        due_at=due_at,
        schedule=list(schedule),
        rule_id=RULE_ID,
        rules_version=rules_version,
        reason=reason,
    )
