"""Building a review from the engine's read models (caught up first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from escalation.application.engine import EscalationEngine, QueueItem
from escalation.application.periods import Period, end_of_day
from escalation.application.reviews.model import CaseLine, Review, check_kind
from escalation.application.reviews.weak_signals import find_weak_signals
from projections import views


def build_review(
    engine: EscalationEngine,
    kind: str,
    period: Period | str,
    *,
    generated_at: datetime | None = None,
) -> Review:
    """Everything a review shows, from the read models (caught up first)."""
    check_kind(kind)
    if isinstance(period, str):
        period = Period.parse(period)
    rules = engine.rules
    tz = rules.calendar.timezone
    start, end = period.bounds(tz)
    as_of = end_of_day(period.last, tz)
    settings = rules.weak_signals
    figures = engine.figures(period)  # catches the projections up
    open_items = engine.queue(as_of=as_of)
    names = {u.id: u.name for u in rules.units.values()}
    open_by_tier = dict.fromkeys(rules.tiers, 0)
    for item in open_items:
        open_by_tier[item.tier] = open_by_tier.get(item.tier, 0) + 1
    overdue = [_line(i, names, as_of) for i in open_items if i.overdue(as_of)]
    overdue.sort(key=lambda c: (-(c.overdue_days or 0), str(c.dispute_id)))
    high = [_line(i, names, as_of) for i in open_items if i.risk == "high"]
    high.sort(key=lambda c: (-rules.tier_index(c.tier), c.unit, c.received_at))
    with engine.store.reading() as session:
        notices = views.notices_by_unit(session, start, end)
        intake = list(views.intake(session, start - settings.window, end))
    # Locations are personal data: sealed in the log, never in the read models.
    intake = [replace(i, location=engine.get(i.dispute_id).location) for i in intake]
    signals = find_weak_signals(intake, settings, start, end, {i.dispute_id for i in open_items})
    days, series = engine.backlog(period) if period.first != period.last else ([], [])
    return Review(
        kind=kind,
        period=period,
        timezone=tz,
        start=start,
        end=end,
        as_of=as_of,
        generated_at=generated_at or engine.clock(),
        rules_version=rules.version,
        figures=figures,
        unit_names=names,
        open_by_tier=open_by_tier,
        overdue=overdue,
        high_risk=high,
        notices_by_unit=notices,
        weak_signals=signals,
        settings=settings,
        days=days,
        backlog=series,
    )


def _line(item: QueueItem, names: Mapping[str, str], as_of: datetime) -> CaseLine:
    late = None  # days past the deadline at the close of the period
    if item.due_at is not None and item.overdue(as_of):
        late = (as_of - item.due_at).total_seconds() / 86400
    return CaseLine(
        dispute_id=item.dispute_id,
        unit=item.unit,
        unit_name=names.get(item.unit, item.unit),
        tier=item.tier,
        category=item.category,
        risk=item.risk,
        received_at=item.received_at,
        due_at=item.due_at,
        overdue_days=late,
        notices=item.notices,
        elevated=item.elevated,
        department=item.department,
    )
