"""What policies decide. Plain values; the engine turns each into one event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Decision:
    at: datetime  # when it took effect: the fact that caused it, or when it fell due
    rule_id: str
    reason: str


@dataclass(frozen=True)
class AssessRisk(Decision):
    level: str
    matched: tuple[str, ...]


@dataclass(frozen=True)
class Route(Decision):
    department: str


@dataclass(frozen=True)
class Escalate(Decision):
    to_unit: str
    to_tier: str
    mode: str  # "stepwise" (逐级上报) or "elevated" (提级管理)
    due_at: datetime
    schedule: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class Notify(Decision):
    notice: str
    about: str = ""  # the clock: "" the tier visit's, "acceptance" or "follow_up"


@dataclass(frozen=True)
class Summon(Decision):
    """中心吹哨 by a rule: routing sent the dispute to a department it summons."""

    lead: str
    participants: tuple[str, ...]
    check_in_due: datetime


@dataclass(frozen=True)
class RequireLeader(Decision):
    """The dispute needs a leader by ``due_at`` (``required``), or no longer needs one."""

    required: bool
    leader_due: datetime | None


@dataclass(frozen=True)
class NotifyDuty(Decision):
    """A duty (check-in, report, leader) is overdue: a notice to whoever owes it."""

    duty: str
    department: str
    addressee: str
    next_due: datetime | None
    count: int


@dataclass(frozen=True)
class Accept(Decision):
    """受理 by the rule book (``acceptance: {mode: auto}``)."""
