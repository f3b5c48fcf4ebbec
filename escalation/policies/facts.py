"""Facts from outside and how they are applied: the one place that says so.

A fact is something people did (a mediation, a hand-made escalation, a
notice, a close, a reopening). ``apply_fact`` does what the engine does with
each: apply what fell due before it, record it, let the policies react. The
engine's commands, the bulk importer and replays all go through here, so a
history imported or replayed is decided exactly as it would have been live.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState
from escalation.aggregates.times import as_utc
from escalation.errors import RequestConflict
from escalation.policies.decide import receipt_facts, step_entry, tier_entry, visit_facts
from escalation.policies.due import apply_due
from escalation.policies.inputs import ReceiveInput, require_known, validated
from escalation.policies.rulebook import RuleBook

_REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "escalation:request")


@dataclass(frozen=True)
class Receipt:
    """A dispute registered at a unit (登记受理): the fact that opens its history."""

    unit: str
    category: str
    source: str
    summary: str
    received_at: datetime
    parties: int = 1
    amount: float = 0.0
    location: str = ""
    request_id: str | None = None  # the platform's own case number: re-imports skip it
    actor: str = "import"
    claim: str = ""  # what the person asks for (诉求)
    # The people concerned: name, phone, id_number, address, role (checked by inputs).
    people: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Fact:
    at: datetime  # aware UTC
    actor: str
    request_id: str | None = None


@dataclass(frozen=True)
class Mediation(Fact):
    outcome: str = "failed"
    note: str = ""


@dataclass(frozen=True)
class ManualEscalation(Fact):
    reason: str = ""
    to_tier: str | None = None  # None: the parent unit (逐级); a higher tier: 提级


@dataclass(frozen=True)
class ManualNotice(Fact):
    notice: str = "reminder"
    reason: str = ""


@dataclass(frozen=True)
class Closure(Fact):
    outcome: str = "resolved"
    note: str = ""


@dataclass(frozen=True)
class Reopening(Fact):
    reason: str = ""


@dataclass(frozen=True)
class Summons(Fact):
    """中心吹哨 by the centre: ``lead`` and the other departments summoned."""

    lead: str = ""
    participants: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class CheckIn(Fact):
    """部门报到: a summoned department checks in."""

    department: str = ""


@dataclass(frozen=True)
class ProgressReport(Fact):
    """反馈: a department that checked in reports progress."""

    department: str = ""
    note: str = ""


@dataclass(frozen=True)
class LeaderAssignment(Fact):
    """领导包保: a leader takes the case, with the plan (一案一策)."""

    leader: str = ""
    plan: str = ""


@dataclass(frozen=True)
class Assessment(Fact):
    """研判: a person's risk judgement."""

    level: str = "low"
    reason: str = ""


@dataclass(frozen=True)
class ReviewDecision(Fact):
    """What a review meeting decided on the dispute (日研判, 周会商, …)."""

    review: str = ""
    decision: str = "other"
    note: str = ""
    cluster: str = ""


@dataclass(frozen=True)
class Acceptance(Fact):
    """受理 by a person (with ``acceptance: {mode: explicit}``)."""


@dataclass(frozen=True)
class Decline(Fact):
    reason: str = ""  # 不予受理: why the centre does not take it on


@dataclass(frozen=True)
class FollowUp(Fact):
    outcome: str = "settled"  # 回访: settled (案结事了) | unsettled (reopens)
    note: str = ""


@dataclass(frozen=True)
class Pause(Fact):
    reason: str = ""  # 中止: waiting for an appraisal, a party abroad, ...


@dataclass(frozen=True)
class Resume(Fact):
    pass


@dataclass(frozen=True)
class Remand(Fact):
    to_unit: str = ""  # 交办: a unit below the one holding the dispute
    instructions: str = ""


def register(rules: RuleBook, receipt: Receipt, recorded_at: datetime) -> Dispute:
    """The receipt fact: a validated dispute with the policies applied at receipt.

    The id derives from the request id when there is one, so the same request
    registered twice (a retry, a re-import) collides in the store.
    """
    cmd = validated(ReceiveInput, "receive", **vars(receipt))
    require_known("unit", cmd.unit, rules.units)
    require_known("category", cmd.category, rules.categories)
    require_known("source", cmd.source, rules.sources)
    dispute_id = dispute_id_for(cmd.request_id) if cmd.request_id else uuid4()
    checked = Receipt(**cmd.model_dump(exclude={"people"}), people=tuple(cmd.people_stored()))
    return open_dispute(rules, dispute_id, checked, recorded_at)


def open_dispute(
    rules: RuleBook, dispute_id: UUID, receipt: Receipt, recorded_at: datetime
) -> Dispute:
    """Open the dispute ``receipt`` registers and apply what the policies decide at once.

    The one place a receipt becomes a ``Dispute.receive``: ``register`` calls
    it on validated input, replays on a recorded receipt (``receipt_of``).
    """
    at = as_utc(receipt.received_at)
    tier = rules.unit(receipt.unit).tier
    # The receipt's own facts, risk included, set the first visit's limit and notices.
    registered = DisputeState(
        id=dispute_id,
        version=0,
        unit=receipt.unit,
        tier=tier,
        status="open",
        category=receipt.category,
        source=receipt.source,
        parties=receipt.parties,
        amount=receipt.amount,
        summary=receipt.summary,
        location=receipt.location,
        received_at=at,
        received_unit=receipt.unit,
    )
    facts = receipt_facts(rules, registered)
    due, schedule = tier_entry(rules, receipt.unit, at, facts)
    acceptance_due, acceptance_schedule = step_entry(
        rules, rules.acceptance, receipt.unit, at, facts
    )
    dispute = Dispute.receive(
        id=dispute_id,
        unit=receipt.unit,
        tier=tier,
        category=receipt.category,
        source=receipt.source,
        parties=receipt.parties,
        amount=receipt.amount,
        summary=receipt.summary,
        location=receipt.location,
        at=at,
        actor=receipt.actor,
        recorded_at=recorded_at,
        due_at=due,
        schedule=schedule,
        rules_version=rules.version,
        request_id=receipt.request_id,
        claim=receipt.claim,
        people=receipt.people,
        acceptance_due_at=acceptance_due,
        acceptance_schedule=acceptance_schedule,
    )
    apply_due(dispute, rules, at, recorded_at)
    return dispute


def receipt_of(event: Dispute.Received) -> Receipt:
    """The receipt a recorded ``Received`` event was made from."""
    return Receipt(
        unit=event.unit,
        category=event.category,
        source=event.source,
        summary=event.summary,
        received_at=event.occurred_at,
        parties=event.parties,
        amount=event.amount,
        location=event.location,
        request_id=event.request_id,
        actor=event.actor,
        claim=event.claim,
        people=tuple(event.people),
    )


def dispute_id_for(request_id: str) -> UUID:
    """The id of the dispute registered by ``request_id``."""
    return uuid5(_REQUEST_NAMESPACE, request_id)


def apply_fact(dispute: Dispute, fact: Fact, rules: RuleBook, recorded_at: datetime) -> None:
    """Catch up to ``fact.at``, record the fact, then let the policies react."""
    state = dispute.state
    if state.updated_at is None or fact.at >= state.updated_at:
        apply_due(dispute, rules, fact.at, recorded_at)  # what fell due before this fact
    _record(dispute, fact, rules, recorded_at)
    apply_due(dispute, rules, fact.at, recorded_at)


def _record(dispute: Dispute, fact: Fact, rules: RuleBook, recorded_at: datetime) -> None:
    common: dict[str, Any] = {"actor": fact.actor, "at": fact.at, "recorded_at": recorded_at}
    if isinstance(fact, Mediation):
        # A resolved mediation settles the case (an agreement), to be followed up.
        due, schedule = step_entry(
            rules, rules.follow_up, dispute.state.unit, fact.at, dispute.state.facts()
        )
        dispute.mediate(
            outcome=fact.outcome,
            note=fact.note,
            request_id=fact.request_id,
            follow_up_due_at=due,
            follow_up_schedule=schedule,
            **common,
        )
    elif isinstance(fact, LIFECYCLE_FACTS):
        record_lifecycle(dispute, fact, rules, recorded_at)
    elif isinstance(fact, ManualEscalation):
        _escalate(dispute, fact, rules, recorded_at)
    elif isinstance(fact, ManualNotice):
        dispute.supervise(
            notice=fact.notice,
            reason=fact.reason or f"{fact.notice} issued by {fact.actor}",
            rule_id=None,
            rules_version=rules.version,
            request_id=fact.request_id,
            **common,
        )
    elif isinstance(fact, Closure):
        dispute.close(outcome=fact.outcome, note=fact.note, request_id=fact.request_id, **common)
    elif isinstance(fact, Reopening):
        s = dispute.state
        facts = visit_facts(s, s.unit, s.tier)
        facts["reopened"] = s.reopened + 1
        due, schedule = tier_entry(rules, s.unit, fact.at, facts)
        dispute.reopen(
            reason=fact.reason,
            due_at=due,
            schedule=schedule,
            rules_version=rules.version,
            request_id=fact.request_id,
            **common,
        )
    elif not _record_casework(dispute, fact, rules, common):  # pragma: no cover
        raise TypeError(f"unhandled fact {fact!r}")  # a new Fact type must be wired here


def _record_casework(dispute: Dispute, fact: Fact, rules: RuleBook, common: dict[str, Any]) -> bool:
    """Record a casework fact (吹哨报到, 领导包保, 研判); False if ``fact`` is none of them."""
    request = fact.request_id
    if isinstance(fact, Summons):
        dispute.summon(
            lead=fact.lead,
            participants=fact.participants,
            check_in_due=rules.calendar.add(fact.at, rules.summon.check_in_within),
            rule_id=None,
            rules_version=rules.version,
            reason=fact.reason or f"中心吹哨 by {fact.actor}",
            request_id=request,
            **common,
        )
    elif isinstance(fact, CheckIn | ProgressReport):
        due = rules.calendar.add(fact.at, rules.summon.feedback_every)
        if isinstance(fact, CheckIn):
            dispute.check_in(
                department=fact.department, feedback_due=due, request_id=request, **common
            )
        else:
            dispute.report_progress(
                department=fact.department,
                note=fact.note,
                feedback_due=due,
                request_id=request,
                **common,
            )
    elif isinstance(fact, LeaderAssignment):
        dispute.assign_leader(leader=fact.leader, plan=fact.plan, request_id=request, **common)
    elif isinstance(fact, Assessment):
        dispute.assess(level=fact.level, reason=fact.reason, request_id=request, **common)
    elif isinstance(fact, ReviewDecision):
        dispute.record_review(
            review=fact.review,
            decision=fact.decision,
            note=fact.note,
            cluster=fact.cluster,
            request_id=request,
            **common,
        )
    else:
        return False
    return True


def _escalate(
    dispute: Dispute, fact: ManualEscalation, rules: RuleBook, recorded_at: datetime
) -> None:
    s = dispute.state
    parent = rules.parent(s.unit)
    target_tier = None if parent is None else (fact.to_tier or rules.unit(parent).tier)
    if target_tier is not None:  # names these rules do not know: refused with close matches
        rules.tier(target_tier)
        rules.tier(s.tier)
    dispute.check_escalation(target_tier, rules.tiers)  # from the top, or not upward: refused
    assert target_tier is not None  # refused above otherwise
    target = rules.ancestor(s.unit, target_tier)
    facts = visit_facts(s, target, target_tier, moved=True)
    facts["elevated"] = s.elevated or target != parent
    due, schedule = tier_entry(rules, target, fact.at, facts)
    dispute.escalate(
        to_unit=target,
        to_tier=target_tier,
        tiers=rules.tiers,
        mode="stepwise" if target == parent else "elevated",
        reason=fact.reason,
        due_at=due,
        schedule=schedule,
        rule_id=None,
        rules_version=rules.version,
        actor=fact.actor,
        at=fact.at,
        recorded_at=recorded_at,
        request_id=fact.request_id,
    )


LIFECYCLE_FACTS = (Acceptance, Decline, FollowUp, Pause, Resume, Remand)


def record_lifecycle(dispute: Dispute, fact: Fact, rules: RuleBook, recorded_at: datetime) -> None:
    """Acceptance, decline, follow-up, pause, resume and remand, as their events."""
    common: dict[str, Any] = {
        "actor": fact.actor,
        "at": fact.at,
        "recorded_at": recorded_at,
        "request_id": fact.request_id,
    }
    s = dispute.state
    if isinstance(fact, Acceptance):
        lifecycle.accept(
            dispute,
            rule_id=None,
            rules_version=rules.version,
            reason=f"accepted (受理) by {fact.actor}",
            **common,
        )
    elif isinstance(fact, Decline):
        lifecycle.decline(dispute, reason=fact.reason, **common)
    elif isinstance(fact, FollowUp):
        lifecycle.follow_up(dispute, outcome=fact.outcome, note=fact.note, **common)
        after: dict[str, Any] = {"actor": fact.actor, "at": fact.at, "recorded_at": recorded_at}
        if fact.outcome == "settled":  # the agreement held: 案结事了
            dispute.close(outcome="resolved", note=fact.note, **after)
        else:  # back to the unit that settled it, with a new time limit
            due, schedule = tier_entry(rules, s.unit, fact.at)
            why = "follow-up (回访) found the agreement not kept"
            dispute.reopen(
                reason=f"{why}: {fact.note}" if fact.note else why,
                due_at=due,
                schedule=schedule,
                rules_version=rules.version,
                **after,
            )
    elif isinstance(fact, Pause):
        lifecycle.pause(dispute, reason=fact.reason, **common)
    elif isinstance(fact, Resume):
        _resume(dispute, fact, rules, recorded_at)
    elif isinstance(fact, Remand):
        target = rules.unit(fact.to_unit)  # an unknown unit: refused with close matches
        due, schedule = tier_entry(rules, target.id, fact.at)
        lifecycle.remand(
            dispute,
            to_unit=target.id,
            to_tier=target.tier,
            below=is_below(rules, target.id, s.unit),
            instructions=fact.instructions,
            due_at=due,
            schedule=schedule,
            rules_version=rules.version,
            **common,
        )
    else:  # pragma: no cover - LIFECYCLE_FACTS and the branches above go together
        raise TypeError(f"unhandled fact {fact!r}")


def is_below(rules: RuleBook, unit: str, holder: str) -> bool:
    """True if ``unit`` is under ``holder`` in the unit tree (a child, a grandchild, ...)."""
    parent = rules.unit(unit).parent
    while parent is not None:
        if parent == holder:
            return True
        parent = rules.unit(parent).parent
    return False


def _resume(dispute: Dispute, fact: Resume, rules: RuleBook, recorded_at: datetime) -> None:
    """Every deadline and notice of the dispute moved on by the working time it was paused."""
    s = dispute.state
    since = s.paused_at or fact.at  # not paused: ``resume`` refuses it below
    paused = rules.calendar.workday_time(since, fact.at) if fact.at > since else timedelta(0)

    def moved(when: datetime) -> datetime:
        return rules.calendar.add_workday_time(when, paused)

    due = moved(s.due_at) if s.due_at is not None else None
    step_due = moved(s.step_due_at) if s.step_due_at is not None else None
    reason = (
        f"paused (中止) since {since.isoformat()}: {_hours(paused)} of working time; "
        f"time limit moved from {s.due_at.isoformat() if s.due_at else '-'} "
        f"to {due.isoformat() if due else '-'}"
    )
    lifecycle.resume(
        dispute,
        paused_seconds=paused.total_seconds(),
        reason=reason,
        due_at=due,
        schedule=[(a, moved(t)) for a, t in s.schedule],
        step_due_at=step_due,
        step_schedule=[(a, moved(t)) for a, t in s.step_schedule],
        actor=fact.actor,
        at=fact.at,
        recorded_at=recorded_at,
        request_id=fact.request_id,
    )


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours and hours % 24 == 0:
        days = hours / 24
        return f"{days:g} day" + ("" if days == 1 else "s")
    return f"{round(hours, 1):g} hours"


_RECORDED_AS: dict[type[Fact], tuple[type[Dispute.Event], str, tuple[str, ...]]] = {
    Mediation: (Dispute.Mediated, "mediate", ("outcome", "note")),
    ManualEscalation: (Dispute.Escalated, "escalate", ("reason", "to_tier")),
    ManualNotice: (Dispute.Supervised, "supervise", ("notice", "reason")),
    Closure: (Dispute.Closed, "close", ("outcome", "note")),
    Reopening: (Dispute.Reopened, "reopen", ("reason",)),
    Summons: (Dispute.Summoned, "summon", ("lead",)),
    CheckIn: (Dispute.CheckedIn, "check_in", ("department",)),
    ProgressReport: (Dispute.ProgressReported, "report_progress", ("department", "note")),
    LeaderAssignment: (Dispute.LeaderAssigned, "assign_leader", ("leader", "plan")),
    Assessment: (Dispute.Assessed, "assess", ("level", "reason")),
    ReviewDecision: (
        Dispute.ReviewDecided,
        "record_review",
        ("review", "decision", "note", "cluster"),
    ),
    Acceptance: (lifecycle.Accepted, "accept", ()),
    Decline: (lifecycle.Declined, "decline", ("reason",)),
    FollowUp: (lifecycle.FollowedUp, "follow_up", ("outcome", "note")),
    Pause: (lifecycle.Paused, "pause", ("reason",)),
    Resume: (lifecycle.Resumed, "resume", ()),
    Remand: (lifecycle.Remanded, "remand", ("to_unit", "instructions")),
}


def check_same_request(
    events: Sequence[Dispute.Event], fact: Fact, *, explicit_at: bool = True
) -> None:
    """Refuse ``fact`` if its request id was first used for another command or payload.

    The recorded event of the first request carries its facts; a repeat must
    match them (its time too, when the caller gave one).
    """
    first = next((e for e in events if getattr(e, "request_id", None) == fact.request_id), None)
    if first is None:  # pragma: no cover - the state knew the id, so an event has it
        return
    event_type, command, names = _RECORDED_AS[type(fact)]
    if not isinstance(first, event_type):
        raise RequestConflict(
            f"request {fact.request_id!r} was already used by {_described(first)}; "
            f"it cannot be used again for {command}"
        )
    given: dict[str, Any] = {name: getattr(fact, name) for name in names}
    if isinstance(fact, ManualNotice) and not fact.reason:
        given["reason"] = f"{fact.notice} issued by {fact.actor}"
    if isinstance(fact, ManualEscalation) and fact.to_tier is None:
        del given["to_tier"]  # the parent unit's tier, whichever it was
    given["actor"] = fact.actor
    if explicit_at:
        given["occurred_at"] = fact.at
    _compare(fact.request_id, first, given)


def check_same_receipt(first: Dispute.Received, receipt: Receipt, *, explicit_at: bool) -> None:
    """Refuse ``receipt`` if its request id was first used to register another dispute."""
    given: dict[str, Any] = {
        "unit": receipt.unit,
        "category": receipt.category,
        "source": receipt.source,
        "summary": receipt.summary,
        "parties": receipt.parties,
        "amount": receipt.amount,
        "location": receipt.location,
        "claim": receipt.claim,
        "people": list(receipt.people),
        "actor": receipt.actor,
    }
    if explicit_at:
        given["occurred_at"] = as_utc(receipt.received_at)
    _compare(receipt.request_id, first, given)


def _compare(request_id: str | None, first: Dispute.Event, given: dict[str, Any]) -> None:
    personal = first.personal_fields()
    differ = [
        # Personal fields are named, never shown: messages reach logs.
        name if name in personal else f"{name} {getattr(first, name)!r} then, {value!r} now"
        for name, value in given.items()
        if getattr(first, name) != value
    ]
    if differ:
        raise RequestConflict(
            f"request {request_id!r} was already used by {_described(first)} "
            f"with other values ({'; '.join(differ)}); give this request its own id"
        )


def _described(event: Dispute.Event) -> str:
    return f"{type(event).__name__} at {event.occurred_at.isoformat()} by {event.actor!r}"
