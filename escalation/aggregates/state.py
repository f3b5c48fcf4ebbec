"""The state of one dispute as policies, the API and projections see it.

A frozen value: the aggregate replaces it on every event, so a state handed
out (by ``engine.get`` or to a policy) never changes under its holder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

#: open: a unit is handling it (in a tier's work queue); settled: mediation reached
#: an agreement and the case waits for its follow-up (回访), out of the work queue;
#: closed: concluded (案结事了, or declined, withdrawn, ...).
Status = Literal["open", "settled", "closed"]
#: What a tier visit's schedule can ask for: one of the notices, or "escalate"
#: when the time limit passes at a tier that has a tier above it.
ESCALATE = "escalate"
#: A duty a dispute is waiting on: (kind, department or "" for the leader, when it
#: falls due, notices issued on it since). Due None: noticed as often as the
#: rules notice a duty; it waits, still owed, without further notices.
Duty = tuple[str, str, datetime | None, int]
#: The duties: a summoned department's check-in (报到) and progress report (反馈),
#: and the leader a dispute requires (领导包保).
CHECK_IN, FEEDBACK, LEADER = "check_in", "feedback", "leader"
#: The clocks besides the tier visit's time limit (``DisputeState.step``): a
#: receipt waiting to be accepted (受理) and a settled case waiting for its
#: follow-up (回访). At most one runs at a time.
ACCEPTANCE = "acceptance"
FOLLOW_UP = "follow_up"


@dataclass(frozen=True)
class DisputeState:
    id: UUID
    version: int
    # Where it is now.
    unit: str
    tier: str
    status: Status
    # Facts given at registration (登记受理).
    category: str
    source: str
    parties: int
    amount: float
    summary: str
    location: str
    received_at: datetime
    received_unit: str
    # Decisions and counters.
    claim: str = ""  # the person's claim (诉求); empty on receipts older than the field
    # The people concerned (name, phone, id_number, address, role); ``parties``
    # stays the head count. Empty on older receipts and once erased.
    people: tuple[dict[str, str], ...] = ()
    erased: bool = False  # personal data destroyed (crypto-shredded); the rest stays
    risk: str | None = None
    risk_rule: str | None = None
    department: str | None = None
    attempts: int = 0  # failed mediations during the current tier visit
    mediations: int = 0
    last_mediation_at: datetime | None = None
    reopened: int = 0
    escalations: int = 0
    elevated: bool = False
    # The current tier visit: when it began, its time limit and its schedule
    # of time-driven actions, fixed when the visit began.
    visit: int = 1
    tier_entered_at: datetime | None = None
    due_at: datetime | None = None
    schedule: tuple[tuple[str, datetime], ...] = ()
    notices: tuple[str, ...] = ()  # notices issued during the current visit
    notices_total: int = 0
    closed_at: datetime | None = None
    outcome: str | None = None
    updated_at: datetime | None = None  # time of the latest event
    request_ids: frozenset[str] = field(default_factory=frozenset)
    # 中心吹哨、部门报到: who leads, who was summoned and who has checked in.
    lead_department: str | None = None
    summoned: tuple[str, ...] = ()
    checked_in: tuple[str, ...] = ()
    # 领导包保 and 研判: the leader, and the person whose risk judgement stands.
    leader: str | None = None
    risk_assessor: str | None = None
    duties: tuple[Duty, ...] = ()  # what the dispute waits on, with its due time
    # Acceptance (受理): receipts older than the step were accepted on receipt.
    acceptance: str = "accepted"  # pending | accepted | declined
    # The clock of the current step (ACCEPTANCE or FOLLOW_UP), beside the tier
    # visit's: its time limit, its notice schedule and the notices issued.
    step: str | None = None
    step_due_at: datetime | None = None
    step_schedule: tuple[tuple[str, datetime], ...] = ()
    step_notices: tuple[str, ...] = ()
    settled_at: datetime | None = None  # when a mediation settled it (agreement reached)
    follow_ups: int = 0
    # 中止: while paused no clock runs; resuming moves them by the paused working time.
    paused_at: datetime | None = None
    pauses: int = 0
    # 交办: handed back down by a higher tier; the visit it began is not re-elevated.
    remands: int = 0
    remanded: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and now > self.due_at

    @property
    def is_settled(self) -> bool:
        return self.status == "settled"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def pending(self) -> tuple[tuple[str, datetime], ...]:
        """Scheduled actions of this visit not yet taken, earliest first."""
        if not self.is_open or self.is_paused:
            return ()
        return tuple((a, t) for a, t in self.schedule if a not in self.notices)

    def step_pending(self) -> tuple[tuple[str, datetime], ...]:
        """Notices of the current step's clock (acceptance, follow-up) not yet issued."""
        if self.step is None or self.is_paused or self.status == "closed":
            return ()
        return tuple((a, t) for a, t in self.step_schedule if a not in self.step_notices)

    def next_due_at(self) -> datetime | None:
        """When the next time-driven action falls due (None: nothing scheduled)."""
        duties = [d[2] for d in self.open_duties() if d[2] is not None]
        pending = [t for _, t in self.pending() + self.step_pending()] + duties
        return min(pending) if pending else None

    def open_duties(self) -> tuple[Duty, ...]:
        """The duties still awaited (none once the dispute is closed, none due while paused)."""
        return self.duties if self.is_open and self.paused_at is None else ()

    def duty(self, kind: str, department: str = "") -> Duty | None:
        return next((d for d in self.duties if d[0] == kind and d[1] == department), None)

    def facts(self) -> dict[str, object]:
        """The variables rule conditions (CEL) are evaluated over."""
        return {
            "category": self.category,
            "source": self.source,
            "parties": self.parties,
            "amount": float(self.amount),
            "risk": self.risk or "low",
            "tier": self.tier,
            "unit": self.unit,
            "attempts": self.attempts,
            "reopened": self.reopened,
            "escalations": self.escalations,
            "elevated": self.elevated,
            "location": self.location,
            "department": self.department or "",
        }


def evolve(state: DisputeState, **changes: object) -> DisputeState:
    """``dataclasses.replace`` without re-running ``__init__``: a copy with changes.

    Events apply on every replay and rebuild, and ``replace`` was the single
    largest cost there; the fields are plain values, so a dict copy is safe.
    """
    new = object.__new__(DisputeState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new
