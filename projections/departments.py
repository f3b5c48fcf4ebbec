"""The departments' read model: one row per department summoned to a dispute.

中心吹哨、部门报到: when the centre (or a routing rule) summoned the
department, whether and when it checked in, and how its progress reports
(反馈) kept to their due times. ``views.department_queue`` joins it with the
disputes' current state; ``projections.department_figures`` counts rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Uuid, select
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, upsert
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import CHECK_IN, FEEDBACK
from projections.base import Projection

metadata = MetaData()

summons = Table(
    "escalation_department_summons",
    metadata,
    Column("dispute_id", Uuid, primary_key=True),
    Column("department", String(64), primary_key=True),
    Column("lead", Boolean, nullable=False),
    Column("by_rule", Boolean, nullable=False),  # a routing rule summoned it
    Column("summoned_at", UTCDateTime, nullable=False),
    Column("check_in_due", UTCDateTime, nullable=False),
    Column("checked_in_at", UTCDateTime),
    Column("check_in_notices", Integer, nullable=False),
    Column("feedback_due", UTCDateTime),  # the report now awaited
    Column("reports", Integer, nullable=False),
    Column("reports_on_time", Integer, nullable=False),
    Column("reports_missed", Integer, nullable=False),  # report periods that passed without one
    Column("overdue", Boolean, nullable=False),  # a report is overdue (noticed), none since
    Index("escalation_department_summons_idx", "department", "summoned_at"),
)

_EVENTS = (Dispute.Summoned, Dispute.CheckedIn, Dispute.ProgressReported, Dispute.Notified)


class DepartmentsProjection(Projection):
    name = "departments"
    version = 1

    @property
    def tables(self) -> Sequence[Table]:
        return [summons]

    def apply(self, session: Session, events: Sequence[Dispute.Event]) -> None:
        mine = [e for e in events if isinstance(e, _EVENTS)]
        if not mine:
            return
        ids = {e.originator_id for e in mine}
        rows: dict[tuple[UUID, str], dict[str, Any]] = {
            (r.dispute_id, r.department): dict(r._mapping)
            for r in session.execute(select(summons).where(summons.c.dispute_id.in_(ids)))
        }
        changed: set[tuple[UUID, str]] = set()
        for event in mine:
            changed |= _apply(rows, event)
        upsert(session, summons, [rows[k] for k in changed], ["dispute_id", "department"])


def _apply(rows: dict[tuple[UUID, str], dict[str, Any]], e: Dispute.Event) -> set[tuple[UUID, str]]:
    did, at = e.originator_id, e.occurred_at
    if isinstance(e, Dispute.Summoned):
        named = [e.lead, *e.participants]
        for department in named:
            rows.setdefault(
                (did, department),
                {
                    "dispute_id": did,
                    "department": department,
                    "by_rule": e.by_rule,
                    "summoned_at": at,
                    "check_in_due": e.check_in_due,
                    "checked_in_at": None,
                    "check_in_notices": 0,
                    "feedback_due": None,
                    "reports": 0,
                    "reports_on_time": 0,
                    "reports_missed": 0,
                    "overdue": False,
                },
            )
        mine = {k for k in rows if k[0] == did}
        for key in mine:
            rows[key]["lead"] = key[1] == e.lead
        return mine
    key = (did, str(getattr(e, "department", "")))
    row = rows.get(key)
    if row is None:  # a leader notice, or nothing this table follows
        return set()
    if isinstance(e, Dispute.CheckedIn):
        row.update(checked_in_at=at, feedback_due=e.feedback_due)
    elif isinstance(e, Dispute.ProgressReported):
        # A report after its period was noticed as missed is late: counted as the miss.
        due = row["feedback_due"]
        on_time = not row["overdue"] and due is not None and at <= due
        row.update(
            reports=row["reports"] + 1,
            reports_on_time=row["reports_on_time"] + on_time,
            feedback_due=e.feedback_due,
            overdue=False,
        )
    elif isinstance(e, Dispute.Notified) and e.duty == CHECK_IN:
        row.update(check_in_notices=row["check_in_notices"] + 1)
    elif isinstance(e, Dispute.Notified) and e.duty == FEEDBACK:
        row.update(reports_missed=row["reports_missed"] + 1, feedback_due=e.next_due, overdue=True)
    return {key}
