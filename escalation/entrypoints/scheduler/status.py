"""What ``escalation status`` shows: the service's state and the open disputes at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalation.aggregates.times import as_utc
from escalation.application.engine import EscalationEngine
from escalation.application.reviews import KINDS
from escalation.entrypoints.scheduler.state import (
    SERVICE_JOB,
    TICK_JOB,
    JobState,
    ServiceState,
    review_job,
)
from projections import views


@dataclass
class Status:
    now: datetime
    last_tick: JobState | None
    service: JobState | None
    reviews: dict[str, JobState]
    projection_lag: int
    next_due_at: datetime | None
    due_now: int  # open disputes whose next action is due: the next tick's work
    open_by_tier: dict[str, int]
    overdue: int

    @property
    def open(self) -> int:
        return sum(self.open_by_tier.values())


def read_status(engine: EscalationEngine, now: datetime | None = None) -> Status:
    """What ``escalation status`` shows, read without writing (no catch-up)."""
    now = as_utc(now or engine.clock())
    states = ServiceState(engine).read()
    with engine.store.reading() as session:
        counts = views.open_counts(session, now)
    open_by_tier = {tier: counts.by_tier.get(tier, 0) for tier in engine.rules.tiers}
    open_by_tier.update({t: n for t, n in counts.by_tier.items() if t not in open_by_tier})
    return Status(
        now=now,
        last_tick=states.get(TICK_JOB),
        service=states.get(SERVICE_JOB),
        reviews={k: states[review_job(k)] for k in KINDS if review_job(k) in states},
        projection_lag=engine.projections.lag(),
        next_due_at=counts.next_due_at,
        due_now=counts.due_now,
        open_by_tier=open_by_tier,
        overdue=counts.overdue,
    )
