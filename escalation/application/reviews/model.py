"""What a review holds: its kinds, the period it covers, its lists and figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from escalation.application.periods import Period, last_complete, period_label
from escalation.application.reviews.weak_signals import WeakSignal
from escalation.errors import InvalidInput, shown
from escalation.policies.rulebook import WeakSignals
from projections.figures import Figures

KINDS: dict[str, str] = {
    "daily": "日研判",
    "weekly": "周会商",
    "monthly": "月调度",
    "quarterly": "季度评估",
}


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown review {shown(kind)}; use one of {', '.join(KINDS)}")
    return kind


def previous_period(kind: str, today: date) -> Period:
    """The last complete period of this kind before ``today`` (a local date).

    daily: yesterday; weekly: last ISO week (Monday to Sunday); monthly: last
    month; quarterly: last calendar quarter.
    """
    return last_complete(check_kind(kind), today)


@dataclass(frozen=True)
class CaseLine:
    """One open dispute in a review's list, with its responsible unit."""

    dispute_id: UUID
    unit: str
    unit_name: str
    tier: str
    category: str
    risk: str | None
    received_at: datetime
    due_at: datetime | None
    overdue_days: float | None  # past its deadline at the close of the period, in days
    notices: tuple[str, ...]
    elevated: bool
    department: str | None


@dataclass
class Review:
    kind: str
    period: Period
    timezone: str
    start: datetime  # [start, end): the period in UTC
    end: datetime
    as_of: datetime  # the close of the period: the instant the lists describe
    generated_at: datetime
    rules_version: str
    figures: Figures
    unit_names: Mapping[str, str]
    open_by_tier: dict[str, int]
    overdue: list[CaseLine]
    high_risk: list[CaseLine]
    notices_by_unit: dict[str, Counter[str]]
    weak_signals: list[WeakSignal]
    settings: WeakSignals
    days: list[date] = field(default_factory=list)
    backlog: list[dict[str, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return period_label(self.period)

    @property
    def title(self) -> str:
        return f"{KINDS[self.kind]} {self.kind} review {self.label}"

    @property
    def stem(self) -> str:
        return f"{self.kind}-{self.label}"
