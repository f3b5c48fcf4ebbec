"""The read queries: small functions from a session to plain rows and dataclasses.

Every query the application and the entry points make against the read
models lives here, next to the tables (``projections.disputes``), so a column
renamed there is found here and nowhere else (cosmicpython's ``views.py``).
Each function takes an open session (``store.reading()``) and only reads.

* the queue: open disputes now (``escalation_disputes``) or as they stood at
  an instant (the timeline rows valid then);
* the due ids a tick works on, and the open counts ``escalation status`` shows;
* a dispute's timeline rows;
* the reviews' notices by unit and registrations (weak-signal search).

The period figures (``Figures``) are computed in ``projections.figures``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from projections.departments import summons
from projections.disputes import casework, disputes, timeline

RISK_COLOURS = {"high": "red", "medium": "yellow", "low": "blue"}


# ------------------------------------------------------------------ the queue


@dataclass(frozen=True)
class QueueItem:
    """One open dispute in a unit's or tier's queue."""

    dispute_id: UUID
    unit: str
    tier: str
    status: str
    risk: str | None
    category: str
    source: str
    parties: int
    amount: float
    received_at: datetime
    tier_entered_at: datetime | None
    due_at: datetime | None
    notices: tuple[str, ...]
    department: str | None
    elevated: bool
    escalations: int
    updated_at: datetime | None
    leader: str | None = None  # 领导包保: the leader answering for the case

    @property
    def colour(self) -> str:
        """Risk marks as the centres show them: red / yellow / blue (红/黄/蓝)."""
        return RISK_COLOURS.get(self.risk or "low", "blue")

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and now > self.due_at


def queue(session: Session, *, unit: str | None = None, tier: str | None = None) -> list[QueueItem]:
    """The open disputes now, at ``unit`` and/or ``tier``, earliest due first."""
    d = disputes.c
    query = _with_leader().where(d.status == "open")
    if unit is not None:
        query = query.where(d.unit == unit)
    if tier is not None:
        query = query.where(d.tier == tier)
    return [_queue_item(row, row.id) for row in session.execute(query.order_by(d.due_at, d.id))]


def _with_leader() -> Any:
    """The disputes' rows with their leader (from the casework table, if any)."""
    return select(disputes, casework.c.leader).outerjoin(casework, casework.c.id == disputes.c.id)


def follow_ups(
    session: Session, *, unit: str | None = None, tier: str | None = None
) -> list[QueueItem]:
    """The settled disputes waiting for their follow-up (回访), earliest follow-up due first.

    Each item's ``due_at`` is when its follow-up is due (not the tier's time limit).
    """
    d = disputes.c
    query = _with_leader().where(d.status == "settled")
    if unit is not None:
        query = query.where(d.unit == unit)
    if tier is not None:
        query = query.where(d.tier == tier)
    rows = session.execute(query.order_by(d.step_due_at, d.id))
    return [replace(_queue_item(row, row.id), due_at=row.step_due_at) for row in rows]


def queue_at(
    session: Session, instant: datetime, *, unit: str | None = None, tier: str | None = None
) -> list[QueueItem]:
    """The open disputes as they stood at ``instant`` (business time), earliest due first."""
    rows = list(open_rows(session, instant, unit=unit, tier=tier))
    leaders = leaders_at(session, instant, [row.dispute_id for row in rows])
    return [
        replace(_queue_item(row, row.dispute_id), leader=leaders.get(row.dispute_id))
        for row in rows
    ]


def leaders_at(session: Session, instant: datetime, ids: list[UUID]) -> dict[UUID, str]:
    """The leader each dispute had at ``instant`` (its last 领导包保 by then)."""
    t = timeline.c
    found: dict[UUID, str] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = (
            select(t.dispute_id, t.detail)
            .where(
                t.event == "LeaderAssigned",
                t.occurred_at <= instant,
                t.dispute_id.in_(ids[start : start + 500]),
            )
            .order_by(t.dispute_id, t.version)
        )
        for dispute_id, detail in session.execute(query):
            leader = json.loads(detail).get("leader")
            if isinstance(leader, str):
                found[dispute_id] = leader
    return found


def valid_at(instant: datetime) -> ColumnElement[bool]:
    """Timeline rows describing a dispute's state at ``instant``."""
    t = timeline.c
    return and_(t.occurred_at <= instant, or_(t.valid_to.is_(None), t.valid_to > instant))


def open_rows(
    session: Session, instant: datetime, *, unit: str | None = None, tier: str | None = None
) -> Iterable[Any]:
    """The timeline rows of the disputes open at ``instant``, earliest due first."""
    t = timeline.c
    query = select(timeline).where(valid_at(instant), t.status == "open")
    if unit is not None:
        query = query.where(t.unit == unit)
    if tier is not None:
        query = query.where(t.tier == tier)
    return session.execute(query.order_by(t.due_at, t.dispute_id))


def _queue_item(row: Any, dispute_id: UUID) -> QueueItem:
    return QueueItem(
        dispute_id=dispute_id,
        unit=row.unit,
        tier=row.tier,
        status=row.status,
        risk=row.risk,
        category=row.category,
        source=row.source,
        parties=row.parties,
        amount=row.amount,
        received_at=row.received_at,
        tier_entered_at=row.tier_entered_at,
        due_at=row.due_at,
        notices=tuple(json.loads(row.notices)),
        department=row.department,
        elevated=row.elevated,
        escalations=row.escalations,
        updated_at=row.updated_at,
        leader=getattr(row, "leader", None),
    )


def department_queue(session: Session, department: str) -> list[QueueItem]:
    """The open disputes ``department`` was summoned to (吹哨报到), earliest due first."""
    d = disputes.c
    summoned = select(summons.c.dispute_id).where(summons.c.department == department)
    query = _with_leader().where(d.status == "open", d.id.in_(summoned))
    return [_queue_item(row, row.id) for row in session.execute(query.order_by(d.due_at, d.id))]


# ------------------------------------------------------- ticks and the status


def due_ids(session: Session, now: datetime) -> list[UUID]:
    """The disputes whose next time-driven action is due by ``now``, earliest first.

    Ordered by the indexed ``next_due_at``: ordering by id made SQLite walk the
    whole primary key (and so every open dispute) to find the few that are due.
    """
    d = disputes.c
    query = select(d.id).where(d.next_due_at <= now).order_by(d.next_due_at, d.id)
    return [row.id for row in session.execute(query)]


@dataclass(frozen=True)
class OpenCounts:
    """The open disputes at a glance (``escalation status``)."""

    by_tier: dict[str, int]
    next_due_at: datetime | None
    due_now: int  # whose next action is due by ``now``: the next tick's work
    overdue: int  # past their deadline at ``now``


def open_counts(session: Session, now: datetime) -> OpenCounts:
    d = disputes.c
    is_open = d.status == "open"
    counted = session.execute(select(d.tier, func.count()).where(is_open).group_by(d.tier))
    by_tier = {str(tier): int(n) for tier, n in counted}
    next_due = session.execute(select(func.min(d.next_due_at)).where(is_open)).scalar()
    due_now = session.execute(select(func.count()).where(is_open, d.next_due_at <= now))
    overdue = session.execute(select(func.count()).where(is_open, d.due_at < now))
    return OpenCounts(by_tier, next_due, int(due_now.scalar_one()), int(overdue.scalar_one()))


# ------------------------------------------------------------- the timeline


def timeline_rows(session: Session, dispute_id: UUID) -> list[Any]:
    """A dispute's timeline rows (event, actor, rule, reason, state after), oldest first."""
    t = timeline.c
    query = select(timeline).where(t.dispute_id == dispute_id).order_by(t.version)
    return list(session.execute(query))


# ------------------------------------------------------------- the reviews


@dataclass(frozen=True)
class Intake:
    """A registration, as the weak-signal search sees it."""

    dispute_id: UUID
    category: str
    unit: str
    location: str
    received_at: datetime
    source: str = ""  # the channel it came through (来源渠道)


def intake(session: Session, start: datetime, end: datetime) -> Iterator[Intake]:
    """The disputes received in [start, end), in order of receipt."""
    t = timeline.c
    query = (
        select(t.dispute_id, t.category, t.unit, t.occurred_at, t.detail, t.source)
        .where(t.event == "Received", t.occurred_at >= start, t.occurred_at < end)
        .order_by(t.occurred_at, t.dispute_id)
    )
    for row in session.execute(query.execution_options(yield_per=5000)):
        # The location is personal data, not in the read models: the caller reads it
        # from the log (reviews do) when it needs it.
        yield Intake(row.dispute_id, row.category, row.unit, "", row.occurred_at, row.source)


def notices_by_unit(session: Session, start: datetime, end: datetime) -> dict[str, Counter[str]]:
    """Notices issued in [start, end), counted by kind for each unit that got them."""
    t = timeline.c
    query = select(t.unit, t.detail).where(
        t.event == "Supervised", t.occurred_at >= start, t.occurred_at < end
    )
    found: dict[str, Counter[str]] = {}
    for row in session.execute(query):
        found.setdefault(row.unit, Counter())[json.loads(row.detail)["notice"]] += 1
    return found


def erasable_ids(session: Session, closed_before: datetime, limit: int) -> list[UUID]:
    """Closed disputes, not yet erased, closed before ``closed_before`` (oldest first)."""
    d = disputes.c
    query = (
        select(d.id)
        .where(d.status == "closed", d.closed_at < closed_before, d.erased.is_(False))
        .order_by(d.closed_at, d.id)
        .limit(limit)
    )
    return list(session.scalars(query))
