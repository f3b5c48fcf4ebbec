"""The lifecycle around the tier loop: acceptance, follow-up, pauses, remands.

受理 / 不予受理 (``Accepted``, ``Declined``), 回访 (``FollowedUp``), 中止
(``Paused``, ``Resumed``) and 交办 (``Remanded``): dispute events like the
aggregate's own, kept apart from ``dispute.py`` as ``RulesApplied`` is, with
their commands as functions of the dispute. Each command checks the
transition, then triggers one event; each ``apply`` only assigns state. What
needed a calendar or a rule book (moved deadlines, a remand's time limit) is
computed by the caller (``escalation.policies.facts``) and carried in the event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from eventsourcing.utils import register_topic

from escalation.aggregates.dispute import STEP_CLEARED, Dispute, Schedule, as_schedule
from escalation.errors import IllegalTransition, InvalidInput, shown

#: What a follow-up (回访) finds: the agreement held (案结事了) or it did not.
FOLLOW_UP_OUTCOMES: Final[tuple[str, ...]] = ("settled", "unsettled")


class Accepted(Dispute.Event):
    """受理: the receipt is taken on (by a person, or by the rule ``acceptance/auto``)."""

    TOPIC = "escalation/Dispute.Accepted"

    unit: str
    tier: str
    rule_id: str | None
    rules_version: str
    reason: str
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        self.advance(aggregate, acceptance="accepted", **STEP_CLEARED)
        self.remember_request(aggregate, self.request_id)


class Declined(Dispute.Event):
    """不予受理: the receipt is refused; the dispute ends, outcome ``declined``."""

    TOPIC = "escalation/Dispute.Declined"
    PERSONAL = ("reason",)

    unit: str
    tier: str
    reason: str
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        self.advance(
            aggregate,
            acceptance="declined",
            status="closed",
            closed_at=self.timestamp,
            outcome="declined",
            **STEP_CLEARED,
        )
        self.remember_request(aggregate, self.request_id)


class FollowedUp(Dispute.Event):
    """回访: whether a settled agreement held. A Closed or a Reopened follows it."""

    TOPIC = "escalation/Dispute.FollowedUp"
    PERSONAL = ("note",)

    outcome: str  # settled | unsettled
    unit: str
    tier: str
    note: str
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        # The Closed or Reopened recorded with it ends the follow-up clock.
        s = aggregate.state
        self.advance(aggregate, follow_ups=s.follow_ups + 1)
        self.remember_request(aggregate, self.request_id)


class Paused(Dispute.Event):
    """中止: every clock of the dispute stops until it is resumed."""

    TOPIC = "escalation/Dispute.Paused"
    PERSONAL = ("reason",)

    unit: str
    tier: str
    reason: str
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        s = aggregate.state
        self.advance(aggregate, paused_at=self.timestamp, pauses=s.pauses + 1)
        self.remember_request(aggregate, self.request_id)


class Resumed(Dispute.Event):
    """The clocks run again, each deadline moved by the paused working time."""

    TOPIC = "escalation/Dispute.Resumed"

    unit: str
    tier: str
    paused_at: datetime
    paused_seconds: float  # working time paused, in seconds
    reason: str  # what moved, for the why-trail
    due_at: datetime | None
    schedule: list[tuple[str, datetime]]
    step_due_at: datetime | None
    step_schedule: list[tuple[str, datetime]]
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        self.advance(
            aggregate,
            paused_at=None,
            due_at=self.due_at,
            schedule=as_schedule(self.schedule),
            step_due_at=self.step_due_at,
            step_schedule=as_schedule(self.step_schedule),
        )
        self.remember_request(aggregate, self.request_id)


class Remanded(Dispute.Event):
    """交办: a higher tier hands the case down to a unit below it, with instructions."""

    TOPIC = "escalation/Dispute.Remanded"
    PERSONAL = ("instructions",)

    from_unit: str
    from_tier: str
    to_unit: str
    to_tier: str
    instructions: str
    due_at: datetime
    schedule: list[tuple[str, datetime]]
    rules_version: str
    request_id: str | None

    def apply(self, aggregate: Dispute) -> None:
        s = aggregate.state
        self.advance(
            aggregate,
            unit=self.to_unit,
            tier=self.to_tier,
            remands=s.remands + 1,
            remanded=True,
            attempts=0,
            visit=s.visit + 1,
            tier_entered_at=self.timestamp,
            due_at=self.due_at,
            schedule=as_schedule(self.schedule),
            notices=(),
        )
        self.remember_request(aggregate, self.request_id)


#: The events of this module, in catalogue order.
LIFECYCLE_EVENTS: Final[tuple[type[Dispute.Event], ...]] = (
    Accepted,
    Declined,
    FollowedUp,
    Paused,
    Resumed,
    Remanded,
)

# eventsourcing registers the stored names of events nested in an aggregate when
# the aggregate class is made; these live outside the class body.
for _event in LIFECYCLE_EVENTS:
    register_topic(_event.TOPIC, _event)  # type: ignore[attr-defined]


def accept(
    dispute: Dispute,
    *,
    rule_id: str | None,
    rules_version: str,
    reason: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """受理: take on a receipt that waits for acceptance."""
    dispute.check_action(at, what="accept")
    dispute.check_running("accept")
    _check_pending(dispute, "accept")
    dispute.trigger_event(
        event_class=Accepted,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        unit=dispute.state.unit,
        tier=dispute.state.tier,
        rule_id=rule_id,
        rules_version=rules_version,
        reason=reason,
        request_id=request_id,
    )


def decline(
    dispute: Dispute,
    *,
    reason: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """不予受理: refuse a receipt that waits for acceptance; the dispute ends."""
    dispute.check_action(at, what="decline")
    dispute.check_running("decline")
    _check_pending(dispute, "decline")
    dispute.trigger_event(
        event_class=Declined,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        unit=dispute.state.unit,
        tier=dispute.state.tier,
        reason=reason,
        request_id=request_id,
    )


def _check_pending(dispute: Dispute, what: str) -> None:
    s = dispute.state
    if s.acceptance != "pending":
        raise IllegalTransition(
            f"cannot {what} dispute {s.id}: it was already {s.acceptance}; only a receipt "
            "waiting for acceptance (受理) can be accepted or declined"
        )


def follow_up(
    dispute: Dispute,
    *,
    outcome: str,
    note: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """回访 on a settled dispute; the caller then closes or reopens it."""
    if outcome not in FOLLOW_UP_OUTCOMES:
        raise InvalidInput(
            f"unknown follow-up outcome {shown(outcome)}; "
            f"use one of {', '.join(FOLLOW_UP_OUTCOMES)}"
        )
    dispute.check_action(at, must_be_open=False, what="follow up")
    s = dispute.state
    if not s.is_settled:
        state = "open: it is still being handled" if s.is_open else f"closed ({s.outcome})"
        raise IllegalTransition(
            f"cannot follow up dispute {s.id}: it is {state}; only a settled dispute "
            "(a mediation reached an agreement) gets a follow-up (回访)"
        )
    dispute.trigger_event(
        event_class=FollowedUp,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        outcome=outcome,
        unit=s.unit,
        tier=s.tier,
        note=note,
        request_id=request_id,
    )


def pause(
    dispute: Dispute,
    *,
    reason: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """中止: stop every clock of an open dispute."""
    dispute.check_action(at, what="pause")
    dispute.check_running("pause")
    dispute.trigger_event(
        event_class=Paused,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        unit=dispute.state.unit,
        tier=dispute.state.tier,
        reason=reason,
        request_id=request_id,
    )


def resume(
    dispute: Dispute,
    *,
    paused_seconds: float,
    reason: str,
    due_at: datetime | None,
    schedule: Schedule,
    step_due_at: datetime | None,
    step_schedule: Schedule,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """Restart the clocks; the caller moved each deadline by the paused working time."""
    dispute.check_action(at, what="resume")
    s = dispute.state
    if s.paused_at is None:
        raise IllegalTransition(f"cannot resume dispute {s.id}: it is not paused")
    if paused_seconds < 0:
        raise InvalidInput("the paused working time cannot be negative")
    dispute.trigger_event(
        event_class=Resumed,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        unit=s.unit,
        tier=s.tier,
        paused_at=s.paused_at,
        paused_seconds=float(paused_seconds),
        reason=reason,
        due_at=due_at,
        schedule=list(schedule),
        step_due_at=step_due_at,
        step_schedule=list(step_schedule),
        request_id=request_id,
    )


def remand(
    dispute: Dispute,
    *,
    to_unit: str,
    to_tier: str,
    below: bool,
    instructions: str,
    due_at: datetime,
    schedule: Schedule,
    rules_version: str,
    actor: str,
    at: datetime,
    recorded_at: datetime,
    request_id: str | None = None,
) -> None:
    """交办 down to ``to_unit``; ``below`` says the caller found it under the holder."""
    dispute.check_action(at, what="remand")
    dispute.check_running("remand")
    dispute.check_accepted("remand")
    s = dispute.state
    if not below:
        raise IllegalTransition(
            f"cannot remand dispute {s.id} to {to_unit} ({to_tier}): it is not a unit "
            f"below {s.tier} {s.unit}, which holds the dispute; a case is handed back "
            "down only to a unit under the one holding it"
        )
    dispute.trigger_event(
        event_class=Remanded,
        timestamp=at,
        actor=actor,
        recorded_at=recorded_at,
        from_unit=s.unit,
        from_tier=s.tier,
        to_unit=to_unit,
        to_tier=to_tier,
        instructions=instructions,
        due_at=due_at,
        schedule=list(schedule),
        rules_version=rules_version,
        request_id=request_id,
    )
