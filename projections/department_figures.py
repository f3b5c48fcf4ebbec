"""Figures per department (吹哨报到): check-in rate and on-time feedback rate.

Counted over the summons made in a period (local dates, as the period
figures are). A check-in counts once it was owed: made, or noticed as missed;
a summons whose dispute closed before its check-in fell due is left out,
rather than charged to the department. A report period is on time when the
report came by its due time; one that passed without a report (a feedback
notice) is missed. A late report after a missed period counts once, as the miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from projections.departments import summons


@dataclass(frozen=True)
class DepartmentFigures:
    department: str
    summoned: int  # summons made in the period
    led: int  # of which as lead department
    check_ins_owed: int  # checked in, or noticed as not checked in in time
    checked_in: int
    checked_in_on_time: int
    reports_on_time: int
    reports_missed: int

    @property
    def check_in_rate(self) -> float | None:
        """Share of owed check-ins made (报到率); None when none was owed."""
        return self.checked_in / self.check_ins_owed if self.check_ins_owed else None

    @property
    def on_time_check_in_rate(self) -> float | None:
        """Share of owed check-ins made by their due time."""
        owed = self.check_ins_owed
        return self.checked_in_on_time / owed if owed else None

    @property
    def on_time_feedback_rate(self) -> float | None:
        """Share of report periods ended with a report in time (按时反馈率)."""
        periods = self.reports_on_time + self.reports_missed
        return self.reports_on_time / periods if periods else None


def compute(
    session: Session, start: datetime, end: datetime, *, department: str | None = None
) -> list[DepartmentFigures]:
    """One row per department summoned in [start, end), by department id."""
    s = summons.c
    on_time = case((s.checked_in_at <= s.check_in_due, 1), else_=0)
    query = (
        select(
            s.department,
            func.count(),
            func.sum(case((s.lead.is_(True), 1), else_=0)),
            func.sum(case((or_(s.checked_in_at.is_not(None), s.check_in_notices > 0), 1), else_=0)),
            func.count(s.checked_in_at),
            func.sum(on_time),
            func.sum(s.reports_on_time),
            func.sum(s.reports_missed),
        )
        .where(s.summoned_at >= start, s.summoned_at < end)
        .group_by(s.department)
        .order_by(s.department)
    )
    if department is not None:
        query = query.where(s.department == department)
    return [
        DepartmentFigures(str(r[0]), *(int(v or 0) for v in r[1:])) for r in session.execute(query)
    ]
