"""The Dispute aggregate and its events (the catalogue of DESIGN.md).

Command methods check the transition, then trigger one event; ``apply``
methods only assign state, so replaying the log reads no clock and decides
nothing. Every value that needed a calendar, a clock or a rule book
(deadlines, schedules, targets) is computed by the caller and carried in the
event, so history replays the same forever, whatever the rules become.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import Aggregate

from escalation.aggregates.state import (
    ACCEPTANCE,
    CHECK_IN,
    FEEDBACK,
    FOLLOW_UP,
    LEADER,
    DisputeState,
    Duty,
    evolve,
)
from escalation.errors import IllegalTransition, InvalidInput, TimeWentBackwards, shown

MEDIATION_OUTCOMES = ("resolved", "failed", "partial")
CLOSE_OUTCOMES = (
    "resolved",
    "agreement",
    "judicial_confirmation",
    "litigation",
    "withdrawn",
    "declined",
)
ESCALATION_MODES = ("stepwise", "elevated")

Schedule = Sequence[tuple[str, datetime]]
#: What a duty notice (``Notified``) is about: a department's check-in or
#: progress report, or the leader a dispute requires.
DUTIES = (CHECK_IN, FEEDBACK, LEADER)
#: What a review meeting (日研判, 周会商, …) may decide on a dispute.
REVIEW_DECISIONS = ("assignment", "supervision", "class_governance", "other")


def _without(duties: tuple[Duty, ...], kind: str, department: str = "") -> tuple[Duty, ...]:
    return tuple(d for d in duties if (d[0], d[1]) != (kind, department))


def require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise InvalidInput(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{name}={value.isoformat()} has no timezone; pass an aware datetime "
            "(e.g. datetime(..., tzinfo=timezone.utc))"
        )


#: What ending a step's clock (acceptance, follow-up) sets.
STEP_CLEARED: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "step": None,
        "step_due_at": None,
        "step_schedule": (),
        "step_notices": (),
    }
)


def as_schedule(raw: Schedule) -> tuple[tuple[str, datetime], ...]:
    # JSON gives lists back for tuples: normalise on the way in.
    return tuple((str(a), t) for a, t in raw)


class Dispute(Aggregate):
    """One dispute's life: received at a unit, mediated, escalated, closed.

    ``TOPIC`` is the stored name of each class (docs/log-format.md): it never
    changes when a class moves or is renamed. ``class_version`` counts schema
    changes; ``upcast_vN_vN+1`` brings a stored older form up to date.
    """

    TOPIC = "escalation/Dispute"
    class_version = 1

    if TYPE_CHECKING:  # assigned by the events' apply; not __init__ arguments
        state: DisputeState

    class Event(Aggregate.Event):
        """Base of every dispute event: who did it and when it was written."""

        # Version 2: the hash chain moved out of the events into the stored
        # records (digest scheme 2), so ``prev_hash`` is no longer a field.
        class_version = 2

        actor: str
        recorded_at: datetime

        #: Fields holding personal data (people, their words, where they live),
        #: stored sealed with the dispute's data key (docs/personal-data.md).
        PERSONAL: ClassVar[tuple[str, ...]] = ()
        #: Fields holding personal data when a person wrote them; a rule's are rule text.
        PERSONAL_BY_PEOPLE: ClassVar[tuple[str, ...]] = ()

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.pop("prev_hash", None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 3 of an event with personal fields: they may be stored sealed.

            The mapper opens sealed fields before upcasting; a version-2 event
            stored them in plain text, which reads as it was.
            """

        def personal_fields(self) -> tuple[str, ...]:
            """The fields of this event that hold personal data."""
            return self.PERSONAL if self.by_rule else self.PERSONAL + self.PERSONAL_BY_PEOPLE

        @property
        def occurred_at(self) -> datetime:
            """When it happened (business time), timezone-aware UTC."""
            return self.timestamp

        @property
        def by_rule(self) -> bool:
            """True for decisions a policy took, False for facts from outside."""
            return getattr(self, "rule_id", None) is not None

        def advance(self, aggregate: Dispute, **changes: Any) -> None:
            aggregate.state = evolve(
                aggregate.state,
                version=self.originator_version,
                updated_at=self.timestamp,
                **changes,
            )

        def remember_request(self, aggregate: Dispute, request_id: str | None) -> None:
            if request_id:
                aggregate.state = evolve(
                    aggregate.state, request_ids=aggregate.state.request_ids | {request_id}
                )

    class Created(Event, Aggregate.Created):
        # eventsourcing's base creation event; disputes are created by Received.
        TOPIC = "escalation/Dispute.Created"

    class Received(Event, Aggregate.Created):
        TOPIC = "escalation/Dispute.Received"
        # Version 2 also adds the person's claim (诉求), empty on older receipts.
        # Version 3 adds the people (parties as data), stores personal fields
        # sealed, and adds the acceptance clock (受理): when accepting is due and
        # its notices, None on older receipts, which were accepted on receipt.
        class_version = 3
        PERSONAL = ("summary", "claim", "location", "people")

        unit: str
        tier: str
        category: str
        source: str
        parties: int
        amount: float
        summary: str
        location: str
        request_id: str | None
        due_at: datetime
        schedule: list[tuple[str, datetime]]
        rules_version: str
        claim: str
        people: list[dict[str, str]]
        acceptance_due_at: datetime | None
        acceptance_schedule: list[tuple[str, datetime]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.pop("prev_hash", None)
            state["claim"] = ""

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["people"] = []
            state["acceptance_due_at"] = None
            state["acceptance_schedule"] = []

        def apply(self, aggregate: Dispute) -> None:
            aggregate.state = DisputeState(
                id=self.originator_id,
                version=self.originator_version,
                unit=self.unit,
                tier=self.tier,
                status="open",
                category=self.category,
                source=self.source,
                parties=self.parties,
                amount=self.amount,
                summary=self.summary,
                claim=self.claim,
                people=tuple(self.people),
                location=self.location,
                received_at=self.timestamp,
                received_unit=self.unit,
                tier_entered_at=self.timestamp,
                due_at=self.due_at,
                schedule=as_schedule(self.schedule),
                updated_at=self.timestamp,
            )
            if self.acceptance_due_at is not None:  # waits for 受理 (or a rule accepts it)
                aggregate.state = evolve(
                    aggregate.state,
                    acceptance="pending",
                    step=ACCEPTANCE,
                    step_due_at=self.acceptance_due_at,
                    step_schedule=as_schedule(self.acceptance_schedule),
                )
            self.remember_request(aggregate, self.request_id)

    class RiskAssessed(Event):
        TOPIC = "escalation/Dispute.RiskAssessed"

        level: str
        matched: list[str]
        rule_id: str | None
        rules_version: str
        reason: str

        def apply(self, aggregate: Dispute) -> None:
            self.advance(aggregate, risk=self.level, risk_rule=self.rule_id)

    class Routed(Event):
        TOPIC = "escalation/Dispute.Routed"

        department: str
        rule_id: str | None
        rules_version: str
        reason: str

        def apply(self, aggregate: Dispute) -> None:
            self.advance(aggregate, department=self.department)

    class Mediated(Event):
        TOPIC = "escalation/Dispute.Mediated"
        # Version 3 adds the follow-up clock: a resolved mediation settles the
        # dispute (an agreement, not yet 案结事了) and starts it. Older events
        # have none: their resolved mediation was followed by its own Closed.
        # Its personal fields may be stored sealed.
        class_version = 3
        PERSONAL = ("note",)

        outcome: str
        unit: str
        tier: str
        note: str
        request_id: str | None
        follow_up_due_at: datetime | None
        follow_up_schedule: list[tuple[str, datetime]]

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["follow_up_due_at"] = None
            state["follow_up_schedule"] = []

        @property
        def settles(self) -> bool:
            """True if it moved the dispute to ``settled`` (version 3 and later)."""
            return self.outcome == "resolved" and self.follow_up_due_at is not None

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            self.advance(
                aggregate,
                mediations=s.mediations + 1,
                attempts=s.attempts + (1 if self.outcome == "failed" else 0),
                last_mediation_at=self.timestamp,
            )
            if self.settles:
                self.advance(
                    aggregate,
                    status="settled",
                    settled_at=self.timestamp,
                    step=FOLLOW_UP,
                    step_due_at=self.follow_up_due_at,
                    step_schedule=as_schedule(self.follow_up_schedule),
                    step_notices=(),
                )
            self.remember_request(aggregate, self.request_id)

    class Escalated(Event):
        TOPIC = "escalation/Dispute.Escalated"
        class_version = 3  # personal fields may be stored sealed
        PERSONAL_BY_PEOPLE = ("reason",)

        from_unit: str
        from_tier: str
        to_unit: str
        to_tier: str
        mode: str  # stepwise (逐级上报) or elevated (提级管理)
        reason: str
        due_at: datetime
        schedule: list[tuple[str, datetime]]
        rule_id: str | None
        rules_version: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            self.advance(
                aggregate,
                unit=self.to_unit,
                tier=self.to_tier,
                escalations=s.escalations + 1,
                elevated=s.elevated or self.mode == "elevated",
                attempts=0,
                visit=s.visit + 1,
                tier_entered_at=self.timestamp,
                due_at=self.due_at,
                schedule=as_schedule(self.schedule),
                notices=(),
                remanded=False,
            )
            self.remember_request(aggregate, self.request_id)

    class Supervised(Event):
        TOPIC = "escalation/Dispute.Supervised"
        # Version 3 adds ``about``: which clock the notice is about ("" the tier
        # visit's time limit, as every older notice; "acceptance"; "follow_up").
        # A reason a person wrote may be stored sealed.
        class_version = 3
        PERSONAL_BY_PEOPLE = ("reason",)

        notice: str
        unit: str
        tier: str
        reason: str
        rule_id: str | None
        rules_version: str
        request_id: str | None
        about: str

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["about"] = ""

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            if self.about:
                self.advance(
                    aggregate,
                    step_notices=(*s.step_notices, self.notice),
                    notices_total=s.notices_total + 1,
                )
            else:
                self.advance(
                    aggregate,
                    notices=(*s.notices, self.notice),
                    notices_total=s.notices_total + 1,
                )
            self.remember_request(aggregate, self.request_id)

    class Closed(Event):
        TOPIC = "escalation/Dispute.Closed"
        class_version = 3  # personal fields may be stored sealed
        PERSONAL = ("note",)

        outcome: str
        unit: str
        tier: str
        note: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            self.advance(
                aggregate,
                status="closed",
                closed_at=self.timestamp,
                outcome=self.outcome,
                paused_at=None,  # a close ends a pause too
                **STEP_CLEARED,
            )
            self.remember_request(aggregate, self.request_id)

    class Reopened(Event):
        TOPIC = "escalation/Dispute.Reopened"
        class_version = 3  # personal fields may be stored sealed
        PERSONAL = ("reason",)

        unit: str
        tier: str
        reason: str
        due_at: datetime
        schedule: list[tuple[str, datetime]]
        rules_version: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            self.advance(
                aggregate,
                status="open",
                closed_at=None,
                outcome=None,
                reopened=s.reopened + 1,
                attempts=0,
                visit=s.visit + 1,
                tier_entered_at=self.timestamp,
                due_at=self.due_at,
                schedule=as_schedule(self.schedule),
                notices=(),
                paused_at=None,
                remanded=False,
                settled_at=None,
                **STEP_CLEARED,
            )
            self.remember_request(aggregate, self.request_id)

    # ------------------------------------------- 吹哨报到, 领导包保 and 研判

    class Summoned(Event):
        """中心吹哨: the centre summons departments, one of them leading."""

        TOPIC = "escalation/Dispute.Summoned"
        PERSONAL_BY_PEOPLE = ("reason",)

        lead: str
        participants: list[str]
        check_in_due: datetime  # each newly summoned department checks in by then
        rule_id: str | None
        rules_version: str
        reason: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            new = [d for d in dict.fromkeys([self.lead, *self.participants]) if d not in s.summoned]
            self.advance(
                aggregate,
                lead_department=self.lead,
                summoned=(*s.summoned, *new),
                duties=(*s.duties, *((CHECK_IN, d, self.check_in_due, 0) for d in new)),
            )
            self.remember_request(aggregate, self.request_id)

    class CheckedIn(Event):
        """部门报到: a summoned department reports for duty; its first report is due."""

        TOPIC = "escalation/Dispute.CheckedIn"

        department: str
        feedback_due: datetime
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            s = aggregate.state
            duties = _without(s.duties, CHECK_IN, self.department)
            self.advance(
                aggregate,
                checked_in=(*s.checked_in, self.department),
                duties=(*duties, (FEEDBACK, self.department, self.feedback_due, 0)),
            )
            self.remember_request(aggregate, self.request_id)

    class ProgressReported(Event):
        """反馈: a department reports progress on the substance; the next is due later."""

        TOPIC = "escalation/Dispute.ProgressReported"
        PERSONAL = ("note",)

        department: str
        note: str
        feedback_due: datetime
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            duties = _without(aggregate.state.duties, FEEDBACK, self.department)
            self.advance(
                aggregate, duties=(*duties, (FEEDBACK, self.department, self.feedback_due, 0))
            )
            self.remember_request(aggregate, self.request_id)

    class LeaderRequired(Event):
        """The rules found the dispute needs a leader (领导包保) by ``leader_due``, or no longer."""

        TOPIC = "escalation/Dispute.LeaderRequired"

        required: bool
        # Not ``due_at``: readers take a ``due_at`` for the visit's time limit.
        leader_due: datetime | None
        rule_id: str | None
        rules_version: str
        reason: str

        def apply(self, aggregate: Dispute) -> None:
            duties = _without(aggregate.state.duties, LEADER)
            if self.required and self.leader_due is not None:
                duties = (*duties, (LEADER, "", self.leader_due, 0))
            self.advance(aggregate, duties=duties)

    class LeaderAssigned(Event):
        """领导包保: the leader who answers for the case, with the plan (一案一策)."""

        TOPIC = "escalation/Dispute.LeaderAssigned"
        PERSONAL = ("plan",)

        leader: str
        plan: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            duties = _without(aggregate.state.duties, LEADER)
            self.advance(aggregate, leader=self.leader, duties=duties)
            self.remember_request(aggregate, self.request_id)

    class Assessed(Event):
        """研判: a person's risk judgement; the rules' assessment does not override it."""

        TOPIC = "escalation/Dispute.Assessed"
        PERSONAL = ("reason",)

        level: str
        previous: str | None  # the level before, whoever set it
        reason: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            self.advance(aggregate, risk=self.level, risk_rule=None, risk_assessor=self.actor)
            self.remember_request(aggregate, self.request_id)

    class Notified(Event):
        """A notice that a duty is overdue, addressed to whoever owes it.

        A department for its check-in or report, the unit holding the case for
        a missing leader. ``next_due`` is when it is due again if still not done
        (None after the last notice the rules issue on one duty); ``count`` is
        this notice's number on the duty.
        """

        TOPIC = "escalation/Dispute.Notified"

        duty: str  # check_in | feedback | leader
        department: str  # whose duty ("" for the leader)
        addressee: str  # the department, or the unit holding the case
        next_due: datetime | None
        count: int
        rules_version: str
        rule_id: str | None
        reason: str

        def apply(self, aggregate: Dispute) -> None:
            duties = _without(aggregate.state.duties, self.duty, self.department)
            owed = (self.duty, self.department, self.next_due, self.count)
            self.advance(aggregate, duties=(*duties, owed))

    class ReviewDecided(Event):
        """What a review meeting (日研判, 周会商, …) decided on this dispute.

        Assignments, supervision, class governance (类案治理) of a weak-signal
        cluster: the meeting's decision on the record, on each dispute it
        concerns. The actions it leads to are their own commands.
        """

        TOPIC = "escalation/Dispute.ReviewDecided"
        PERSONAL = ("note",)

        review: str  # the meeting, e.g. "weekly 2026-W36"
        decision: str  # assignment | supervision | class_governance | other
        note: str  # what was decided
        cluster: str  # the weak-signal cluster it concerns ("" if none)
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            self.advance(aggregate)
            self.remember_request(aggregate, self.request_id)

    class Erased(Event):
        """The dispute's personal data was destroyed (its data key shredded).

        Carries who, why and when, never personal data: the reason is a
        ground such as "retention period ended" or a person's request.
        """

        TOPIC = "escalation/Dispute.Erased"
        class_version = 1  # new with personal data: none of the base's older forms

        reason: str
        request_id: str | None

        def apply(self, aggregate: Dispute) -> None:
            self.advance(aggregate, erased=True)
            self.remember_request(aggregate, self.request_id)

    # ---------------------------------------------------------------- commands

    @classmethod
    def receive(
        cls,
        *,
        id: UUID,
        unit: str,
        tier: str,
        category: str,
        source: str,
        parties: int,
        amount: float,
        summary: str,
        location: str,
        at: datetime,
        actor: str,
        recorded_at: datetime,
        due_at: datetime,
        schedule: Schedule,
        rules_version: str,
        request_id: str | None = None,
        claim: str = "",
        people: Sequence[dict[str, str]] = (),
        acceptance_due_at: datetime | None = None,
        acceptance_schedule: Schedule = (),
    ) -> Dispute:
        require_aware("received_at", at)
        if len(people) > parties:
            raise InvalidInput(
                f"parties ({parties}) is the head count: at least the {len(people)} people given"
            )
        if parties < 1:
            raise InvalidInput(f"parties must be at least 1, got {parties}")
        if not math.isfinite(amount) or amount < 0:
            raise InvalidInput(f"amount must be a finite number ≥ 0 (yuan), got {amount}")
        if due_at <= at:
            raise InvalidInput("due_at must be after the time of receipt")
        return cls._create(
            cls.Received,
            id=id,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            unit=unit,
            tier=tier,
            category=category,
            source=source,
            parties=parties,
            amount=float(amount),
            summary=summary,
            location=location,
            request_id=request_id,
            due_at=due_at,
            schedule=list(schedule),
            rules_version=rules_version,
            claim=claim,
            people=[dict(p) for p in people],
            acceptance_due_at=acceptance_due_at,
            acceptance_schedule=list(acceptance_schedule),
        )

    def _check(
        self, at: datetime, *, must_be_open: bool = True, what: str, settled_ok: bool = False
    ) -> None:
        require_aware("at", at)
        s = self.state
        if must_be_open and s.is_settled and not settled_ok:
            raise IllegalTransition(
                f"cannot {what} dispute {s.id}: it was settled (agreement reached) at "
                f"{s.settled_at.isoformat() if s.settled_at else '?'} and waits for its "
                "follow-up (回访); record the follow-up first"
            )
        if must_be_open and not s.is_open and not (settled_ok and s.is_settled):
            raise IllegalTransition(
                f"cannot {what} dispute {s.id}: it was closed ({s.outcome}) at "
                f"{s.closed_at.isoformat() if s.closed_at else '?'}; reopen it first"
            )
        if s.updated_at is not None and at < s.updated_at:
            raise TimeWentBackwards(
                f"cannot {what} dispute {s.id} at {at.isoformat()}: its last event is "
                f"at {s.updated_at.isoformat()} and time cannot go backwards"
            )

    def assess_risk(
        self,
        *,
        level: str,
        matched: Sequence[str],
        rule_id: str | None,
        rules_version: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        self._check(at, what="assess the risk of")
        self.trigger_event(
            event_class=self.RiskAssessed,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            level=level,
            matched=list(matched),
            rule_id=rule_id,
            rules_version=rules_version,
            reason=reason,
        )

    def route(
        self,
        *,
        department: str,
        rule_id: str | None,
        rules_version: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        self._check(at, what="route")
        self.trigger_event(
            event_class=self.Routed,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            department=department,
            rule_id=rule_id,
            rules_version=rules_version,
            reason=reason,
        )

    def mediate(
        self,
        *,
        outcome: str,
        note: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
        follow_up_due_at: datetime | None = None,
        follow_up_schedule: Schedule = (),
    ) -> None:
        if outcome not in MEDIATION_OUTCOMES:
            raise InvalidInput(
                f"unknown mediation outcome {shown(outcome)}; "
                f"use one of {', '.join(MEDIATION_OUTCOMES)}"
            )
        self._check(at, what="mediate")
        self._check_running("mediate")
        self._check_accepted("mediate")
        if outcome == "resolved" and follow_up_due_at is None:
            raise InvalidInput("a resolved mediation needs the follow-up's due time")
        self.trigger_event(
            event_class=self.Mediated,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            outcome=outcome,
            unit=self.state.unit,
            tier=self.state.tier,
            note=note,
            request_id=request_id,
            follow_up_due_at=follow_up_due_at if outcome == "resolved" else None,
            follow_up_schedule=list(follow_up_schedule) if outcome == "resolved" else [],
        )

    def check_action(
        self, at: datetime, *, what: str, must_be_open: bool = True, settled_ok: bool = False
    ) -> None:
        """Refuse ``what`` at ``at`` if the dispute's state or time does not allow it.

        Open (or settled, with ``settled_ok``) unless ``must_be_open`` is False,
        and never before its latest event: what every command checks first.
        """
        self._check(at, what=what, must_be_open=must_be_open, settled_ok=settled_ok)

    def check_accepted(self, what: str) -> None:
        """Refuse ``what`` on a receipt not accepted yet."""
        self._check_accepted(what)

    def check_running(self, what: str) -> None:
        """Refuse ``what`` while the dispute is paused."""
        self._check_running(what)

    def _check_accepted(self, what: str) -> None:
        """Refuse ``what`` on a receipt not accepted yet (受理 comes first)."""
        s = self.state
        if s.acceptance == "pending":
            raise IllegalTransition(
                f"cannot {what} dispute {s.id}: it has not been accepted (受理) yet; "
                "accept it first, or decline it"
            )

    def _check_running(self, what: str) -> None:
        """Refuse ``what`` while the dispute is paused (中止)."""
        s = self.state
        if s.paused_at is not None:
            raise IllegalTransition(
                f"cannot {what} dispute {s.id}: it is paused (中止) since "
                f"{s.paused_at.isoformat()}; resume it first"
            )

    def escalate(
        self,
        *,
        to_unit: str,
        to_tier: str,
        tiers: Sequence[str],
        mode: str,
        reason: str,
        due_at: datetime,
        schedule: Schedule,
        rule_id: str | None,
        rules_version: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        """Move the dispute up to ``to_unit``; ``tiers`` is the order, lowest first."""
        self._check(at, what="escalate")
        self._check_running("escalate")
        self._check_accepted("escalate")
        s = self.state
        if mode not in ESCALATION_MODES:
            raise InvalidInput(f"unknown escalation mode {shown(mode)}; use stepwise or elevated")
        self.check_escalation(to_tier, tiers)
        self.trigger_event(
            event_class=self.Escalated,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            from_unit=s.unit,
            from_tier=s.tier,
            to_unit=to_unit,
            to_tier=to_tier,
            mode=mode,
            reason=reason,
            due_at=due_at,
            schedule=list(schedule),
            rule_id=rule_id,
            rules_version=rules_version,
            request_id=request_id,
        )

    def check_escalation(self, to_tier: str | None, tiers: Sequence[str]) -> None:
        """Refuse (IllegalTransition) an escalation that does not go up.

        ``tiers`` is the order, lowest first; ``to_tier`` None means there is
        no unit above the dispute's own (it is at the top). The one place that
        says when escalating is allowed: ``escalate`` and the manual-escalation
        fact (which must know before it looks for a target) both ask here.
        """
        s = self.state
        if to_tier is not None and (s.tier not in tiers or to_tier not in tiers):
            raise InvalidInput(f"tier {shown(s.tier)} or {shown(to_tier)} is not in the rule book")
        if to_tier is None or tiers.index(s.tier) == len(tiers) - 1:
            raise IllegalTransition(
                f"dispute {s.id} is already at the top tier ({s.tier}, unit {s.unit}); "
                "there is nothing above to escalate to"
            )
        if tiers.index(to_tier) <= tiers.index(s.tier):
            raise IllegalTransition(
                f"cannot move dispute {s.id} from {s.tier} to {to_tier}: escalation only goes up"
            )

    def supervise(
        self,
        *,
        notice: str,
        reason: str,
        rule_id: str | None,
        rules_version: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
        about: str = "",
    ) -> None:
        self._check(at, what="issue a notice on", settled_ok=True)
        self.trigger_event(
            event_class=self.Supervised,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            notice=notice,
            unit=self.state.unit,
            tier=self.state.tier,
            reason=reason,
            rule_id=rule_id,
            rules_version=rules_version,
            request_id=request_id,
            about=about,
        )

    def close(
        self,
        *,
        outcome: str,
        note: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        if outcome not in CLOSE_OUTCOMES:
            raise InvalidInput(
                f"unknown close outcome {shown(outcome)}; use one of {', '.join(CLOSE_OUTCOMES)}"
            )
        self._check(at, what="close", settled_ok=True)
        self.trigger_event(
            event_class=self.Closed,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            outcome=outcome,
            unit=self.state.unit,
            tier=self.state.tier,
            note=note,
            request_id=request_id,
        )

    def reopen(
        self,
        *,
        reason: str,
        due_at: datetime,
        schedule: Schedule,
        rules_version: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, must_be_open=False, what="reopen")
        if self.state.is_open:
            raise IllegalTransition(
                f"dispute {self.state.id} is open; only a closed or settled one reopens"
            )
        if self.state.acceptance == "declined":
            raise IllegalTransition(
                f"dispute {self.state.id} was declined (不予受理): it was never taken on, so "
                "it does not reopen; register it again if it now falls within the remit"
            )
        self.trigger_event(
            event_class=self.Reopened,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            unit=self.state.unit,
            tier=self.state.tier,
            reason=reason,
            due_at=due_at,
            schedule=list(schedule),
            rules_version=rules_version,
            request_id=request_id,
        )

    # ------------------------------------------- 吹哨报到, 领导包保 and 研判

    def summon(
        self,
        *,
        lead: str,
        participants: Sequence[str],
        check_in_due: datetime,
        rule_id: str | None,
        rules_version: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, what="summon departments to")
        s = self.state
        named = list(dict.fromkeys([lead, *participants]))
        if all(d in s.summoned for d in named) and lead == s.lead_department:
            raise IllegalTransition(
                f"{', '.join(named)} already summoned to dispute {s.id} (lead {s.lead_department})"
            )
        self.trigger_event(
            event_class=self.Summoned,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            lead=lead,
            participants=[d for d in named if d != lead],
            check_in_due=check_in_due,
            rule_id=rule_id,
            rules_version=rules_version,
            reason=reason,
            request_id=request_id,
        )

    def _check_summoned(self, department: str, what: str) -> None:
        s = self.state
        if department not in s.summoned:
            summoned = ", ".join(s.summoned) or "none yet"
            raise IllegalTransition(
                f"cannot {what} for {department} on dispute {s.id}: the centre has not "
                f"summoned it (summoned: {summoned})"
            )

    def check_in(
        self,
        *,
        department: str,
        feedback_due: datetime,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, what="check in on")
        self._check_summoned(department, "check in")
        if department in self.state.checked_in:
            raise IllegalTransition(f"{department} has already checked in on dispute {self.id}")
        self.trigger_event(
            event_class=self.CheckedIn,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            department=department,
            feedback_due=feedback_due,
            request_id=request_id,
        )

    def report_progress(
        self,
        *,
        department: str,
        note: str,
        feedback_due: datetime,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, what="report progress on")
        self._check_summoned(department, "report progress")
        if department not in self.state.checked_in:
            raise IllegalTransition(
                f"{department} has not checked in on dispute {self.id}; it checks in first"
            )
        self.trigger_event(
            event_class=self.ProgressReported,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            department=department,
            note=note,
            feedback_due=feedback_due,
            request_id=request_id,
        )

    def require_leader(
        self,
        *,
        required: bool,
        leader_due: datetime | None,
        rule_id: str | None,
        rules_version: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        self._check(at, what="require a leader on")
        self.trigger_event(
            event_class=self.LeaderRequired,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            required=required,
            leader_due=leader_due,
            rule_id=rule_id,
            rules_version=rules_version,
            reason=reason,
        )

    def assign_leader(
        self,
        *,
        leader: str,
        plan: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, what="assign a leader to")
        if self.state.leader == leader:
            raise IllegalTransition(f"{leader} already leads dispute {self.id}")
        self.trigger_event(
            event_class=self.LeaderAssigned,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            leader=leader,
            plan=plan,
            request_id=request_id,
        )

    def assess(
        self,
        *,
        level: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        self._check(at, what="assess the risk of")
        self.trigger_event(
            event_class=self.Assessed,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            level=level,
            previous=self.state.risk,
            reason=reason,
            request_id=request_id,
        )

    def notify(
        self,
        *,
        duty: str,
        department: str,
        addressee: str,
        next_due: datetime | None,
        count: int,
        rule_id: str | None,
        rules_version: str,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        self._check(at, what="issue a notice on")
        if duty not in DUTIES:
            raise InvalidInput(f"unknown duty {shown(duty)}; use one of {', '.join(DUTIES)}")
        self.trigger_event(
            event_class=self.Notified,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            duty=duty,
            department=department,
            addressee=addressee,
            next_due=next_due,
            count=count,
            rule_id=rule_id,
            rules_version=rules_version,
            reason=reason,
        )

    def record_review(
        self,
        *,
        review: str,
        decision: str,
        note: str,
        cluster: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        """A review's decision; closed disputes too (a cluster's class governance)."""
        self._check(at, must_be_open=False, what="record a review decision on")
        if decision not in REVIEW_DECISIONS:
            raise InvalidInput(
                f"unknown review decision {shown(decision)}; "
                f"use one of {', '.join(REVIEW_DECISIONS)}"
            )
        self.trigger_event(
            event_class=self.ReviewDecided,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            review=review,
            decision=decision,
            note=note,
            cluster=cluster,
            request_id=request_id,
        )

    def erase(
        self,
        *,
        reason: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
        request_id: str | None = None,
    ) -> None:
        """Record that the dispute's personal data is destroyed (the store shreds the key)."""
        self._check(at, must_be_open=False, what="erase")
        if self.state.erased:
            raise IllegalTransition(f"dispute {self.state.id} was erased already")
        self.trigger_event(
            event_class=self.Erased,
            timestamp=at,
            actor=actor,
            recorded_at=recorded_at,
            reason=reason,
            request_id=request_id,
        )
