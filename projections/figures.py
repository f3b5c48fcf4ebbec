"""The figures centres publish, computed from the timeline projection.

Counts are over events that *occurred* in the period; ``as_of`` restricts
them to events *recorded* by then (the figures as they were known at that
time). Definitions, so numbers can be checked by hand:

* received — ``Received`` events (by the receiving unit and tier);
* resolved at a tier — ``Closed`` with a resolution outcome (resolved,
  agreement, judicial_confirmation), by the tier that closed it;
* resolution rate 化解率 — resolved closures / closures that were not
  ``declined`` (a declined matter was never handled); a unit's rate also
  counts the disputes it escalated out as not resolved there: resolved /
  (closures not declined + escalated out);
* settled without leaving the community / street — closures at the lowest
  tier / at the two lowest tiers, as a share of all closures; declined
  matters (不予受理) count in neither part: they were never handled;
* declined — ``Declined`` events and closures with outcome ``declined``
  (counted as closures too, so ``closed`` is every dispute that ended);
* escalated / elevated — ``Escalated`` events, stepwise / elevated (a receipt
  not yet accepted is never moved, so a declined one never counts here);
* remanded — ``Remanded`` events (交办 down), by the unit that handed the case
  down: neither resolved nor failed there;
* on-time rate — over tier visits that ended in the period (by a close or
  an escalation): a visit is late if its time limit passed (the deadline
  escalation, rule ``<tier>/handle_within``) or it closed after its
  deadline (a case settled by its deadline and closed at its follow-up is on
  time); each visit is charged to the unit it was at;
* overdue — disputes open and past their deadline at the end of the period;
* median time to close — from receipt to close, in days, over closures;
* compared — intake and petitions (source ``petition``, 信访量) in the
  previous period and a year before, when the caller asks (``compare``).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from projections.disputes import timeline
from projections.views import open_rows

RESOLUTIONS = frozenset({"resolved", "agreement", "judicial_confirmation"})
#: The source whose intake is the petition count (信访量) the reports compare.
PETITIONS = "petition"


@dataclass(frozen=True)
class IntakeCount:
    """Intake of a period to compare with (上期 / 去年同期)."""

    start: datetime
    end: datetime
    received: int
    petitions: int


def change(now: int, before: IntakeCount | None, what: str) -> float | None:
    """The relative change from ``before`` (its ``what``) to ``now``; None if not comparable."""
    if before is None:
        return None
    then: int = getattr(before, what)
    return (now - then) / then if then else None


@dataclass
class UnitFigures:
    unit: str
    tier: str
    received: int = 0
    closed: int = 0
    resolved: int = 0
    on_time: int = 0  # visits that ended here in time
    escalated_out: int = 0
    remanded_out: int = 0
    overdue: int = 0
    declined: int = 0
    visits: int = 0  # tier visits that ended here: closed or escalated out

    @property
    def resolution_rate(self) -> float | None:
        """化解率: what it escalated out counts as not resolved here."""
        handled = self.closed - self.declined + self.escalated_out
        return self.resolved / handled if handled else None

    @property
    def on_time_rate(self) -> float | None:
        """The share of its visits that ended within its own time limit."""
        return self.on_time / self.visits if self.visits else None


@dataclass
class Figures:
    start: datetime
    end: datetime
    as_of: datetime | None
    tiers: tuple[str, ...]
    received: int = 0
    received_by_source: Counter[str] = field(default_factory=Counter)
    received_by_category: Counter[str] = field(default_factory=Counter)
    received_at_tier: Counter[str] = field(default_factory=Counter)
    arrived_at_tier: Counter[str] = field(default_factory=Counter)  # by escalation
    closed: int = 0
    closed_by_outcome: Counter[str] = field(default_factory=Counter)
    closed_at_tier: Counter[str] = field(default_factory=Counter)
    resolved_at_tier: Counter[str] = field(default_factory=Counter)
    declined: int = 0
    declined_at_tier: Counter[str] = field(default_factory=Counter)
    remanded: int = 0
    escalated: int = 0
    elevated: int = 0
    reopened: int = 0
    notices: Counter[str] = field(default_factory=Counter)
    on_time: int = 0  # visits that ended in time
    visits: int = 0  # tier visits that ended in the period
    overdue: int = 0
    days_to_close: list[float] = field(default_factory=list)
    units: dict[str, UnitFigures] = field(default_factory=dict)
    previous: IntakeCount | None = None  # the period before (环比)
    year_ago: IntakeCount | None = None  # the same period a year before (同比)

    @property
    def petitions(self) -> int:
        """Petitions received (信访量)."""
        return self.received_by_source[PETITIONS]

    @property
    def resolved(self) -> int:
        return sum(self.resolved_at_tier.values())

    @property
    def resolution_rate(self) -> float | None:
        handled = self.closed - self.declined
        return self.resolved / handled if handled else None

    def settled_within(self, tier: str) -> float | None:
        """Share of closures made at ``tier`` or below (小事不出社区、大事不出街道)."""
        handled = self.closed - self.declined
        if not handled:
            return None
        top = self.tiers.index(tier)
        below = self.tiers[: top + 1]
        return sum(self.closed_at_tier[t] - self.declined_at_tier[t] for t in below) / handled

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.visits if self.visits else None

    @property
    def median_days_to_close(self) -> float | None:
        return statistics.median(self.days_to_close) if self.days_to_close else None

    def handled_at(self, tier: str) -> int:
        """Disputes that reached ``tier`` in the period: registered there or escalated to it."""
        return self.received_at_tier[tier] + self.arrived_at_tier[tier]

    def unit(self, unit: str, tier: str) -> UnitFigures:
        if unit not in self.units:
            self.units[unit] = UnitFigures(unit=unit, tier=tier)
        return self.units[unit]


def compute_figures(
    session: Session,
    tiers: tuple[str, ...],
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    unit: str | None = None,
    tier: str | None = None,
    compare: tuple[tuple[datetime, datetime], tuple[datetime, datetime]] | None = None,
) -> Figures:
    """The figures of [start, end).

    ``compare``: the bounds of the period before and of the same period a year
    before, whose intake and petitions are counted too.
    """
    figures = Figures(start=start, end=end, as_of=as_of, tiers=tiers)
    t = timeline.c
    query = select(timeline).where(t.occurred_at >= start, t.occurred_at < end)
    if as_of is not None:
        query = query.where(t.recorded_at <= as_of)
    query = query.order_by(t.occurred_at, t.dispute_id, t.version)
    for row in session.execute(query.execution_options(yield_per=5000)):
        where = _where(row)
        if unit is not None and unit not in (row.unit, where[0]):
            continue
        if tier is not None and tier not in (row.tier, where[1]):
            continue
        _count(figures, row, where)
    if compare is not None:
        figures.previous, figures.year_ago = (
            intake_count(session, a, b, as_of=as_of, unit=unit, tier=tier) for a, b in compare
        )
    instant = min(end, as_of) if as_of is not None else end
    for row in open_rows(session, instant, unit=unit, tier=tier):
        if row.due_at is not None and row.due_at < instant:
            figures.overdue += 1
            figures.unit(row.unit, row.tier).overdue += 1
    return figures


def _where(row: Any) -> tuple[str, str]:
    """The unit and tier an event happened at (before an escalation moved it)."""
    if row.event in ("Escalated", "Remanded"):
        detail = json.loads(row.detail)
        return detail["from_unit"], detail["from_tier"]
    return row.unit, row.tier


def intake_count(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    unit: str | None = None,
    tier: str | None = None,
) -> IntakeCount:
    """Disputes received in [start, end), and how many of them were petitions."""
    t = timeline.c
    query = (
        select(t.source, func.count())
        .where(t.event == "Received", t.occurred_at >= start, t.occurred_at < end)
        .group_by(t.source)
    )
    if as_of is not None:
        query = query.where(t.recorded_at <= as_of)
    if unit is not None:
        query = query.where(t.unit == unit)
    if tier is not None:
        query = query.where(t.tier == tier)
    counts: dict[str, int] = dict(session.execute(query).tuples().all())
    return IntakeCount(start, end, sum(counts.values()), counts.get(PETITIONS, 0))


def _count(figures: Figures, row: Any, where: tuple[str, str]) -> None:
    unit = figures.unit(*where)
    if row.event == "Received":
        figures.received += 1
        figures.received_by_source[row.source] += 1
        figures.received_by_category[row.category] += 1
        figures.received_at_tier[row.tier] += 1
        unit.received += 1
    elif row.event == "Escalated":
        detail = json.loads(row.detail)
        figures.arrived_at_tier[detail["to_tier"]] += 1
        if detail["mode"] == "elevated":
            figures.elevated += 1
        else:
            figures.escalated += 1
        unit.escalated_out += 1
        # The visit ended; late only if its time limit passed there.
        _visit(figures, unit, on_time=not str(row.rule_id or "").endswith("/handle_within"))
    elif row.event == "Supervised":
        figures.notices[json.loads(row.detail)["notice"]] += 1
    elif row.event == "Reopened":
        figures.reopened += 1
    elif row.event == "Remanded":
        figures.remanded += 1
        unit.remanded_out += 1
    elif row.event in ("Closed", "Declined"):  # Declined: 不予受理, a close never handled
        outcome = "declined" if row.event == "Declined" else json.loads(row.detail)["outcome"]
        figures.closed += 1
        figures.closed_by_outcome[outcome] += 1
        figures.closed_at_tier[row.tier] += 1
        unit.closed += 1
        if outcome == "declined":
            figures.declined += 1
            unit.declined += 1
            figures.declined_at_tier[row.tier] += 1
        if outcome in RESOLUTIONS:
            figures.resolved_at_tier[row.tier] += 1
            unit.resolved += 1
        handled = row.settled_at or row.occurred_at  # a follow-up's close: when it settled
        _visit(figures, unit, on_time=row.due_at is None or handled <= row.due_at)
        figures.days_to_close.append((row.occurred_at - row.received_at).total_seconds() / 86400)


def _visit(figures: Figures, unit: UnitFigures, *, on_time: bool) -> None:
    """A tier visit ended at ``unit``: counted, and charged to it if it overran."""
    figures.visits += 1
    unit.visits += 1
    if on_time:
        figures.on_time += 1
        unit.on_time += 1


def backlog(
    session: Session, tiers: tuple[str, ...], instants: list[datetime]
) -> list[dict[str, int]]:
    """Open disputes per tier at each instant (one indexed query per instant)."""
    series = []
    for instant in instants:
        counts = dict.fromkeys(tiers, 0)
        for row in open_rows(session, instant):
            counts[row.tier] = counts.get(row.tier, 0) + 1
        series.append(counts)
    return series
