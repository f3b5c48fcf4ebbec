"""The reviews (研判): daily, weekly, monthly and quarterly, as Markdown and HTML files.

日研判 daily review, 周会商 weekly consultation, 月调度 monthly dispatch, 季度评估
quarterly assessment. Each is built from the read models for one period of
local dates (the rules' timezone):

* intake by source and by category; the funnel community → street → district;
* resolution rate (化解率) and on-time rate per unit (``Figures``' definitions);
* the overdue and the high-risk (红) disputes with their responsible unit, as
  they stood at the close of the period (``engine.queue(as_of=...)``);
* notices issued (催办/提示/预警/督办), by kind and by unit;
* weak signals (弱信号): clusters of similar disputes flagged for class
  governance (类案治理). A cluster is at least ``min_cluster`` disputes of the
  same category, registered at the same unit (or at the same location), each
  received less than ``window`` after the first of them, the latest of them
  in the period. Thresholds: the rule book's ``weak_signals`` section.

A review names disputes by id, unit and category only: no summaries and no
parties. The location of a location cluster is shown, since it is the finding.
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select

from escalation.adapters.logs import get_logger
from escalation.application.engine import EscalationEngine, QueueItem
from escalation.application.figures_report import (
    TIER_COLOURS,
    backlog_svg,
    figures_rows,
    funnel_svg,
    pct,
)
from escalation.application.periods import Period, end_of_day
from escalation.errors import InvalidInput
from escalation.policies.rulebook import WeakSignals
from projections.disputes import timeline
from projections.figures import Figures

KINDS: dict[str, str] = {
    "daily": "日研判",
    "weekly": "周会商",
    "monthly": "月调度",
    "quarterly": "季度评估",
}
NOTICE_NAMES = {"reminder": "催办", "prompt": "提示", "warning": "预警", "supervision": "督办"}
log = get_logger("escalation.reviews")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown review {kind!r}; use one of {', '.join(KINDS)}")
    return kind


def previous_period(kind: str, today: date) -> Period:
    """The last complete period of this kind before ``today`` (a local date).

    daily: yesterday; weekly: last ISO week (Monday to Sunday); monthly: last
    month; quarterly: last calendar quarter.
    """
    check_kind(kind)
    if kind == "daily":
        day = today - timedelta(days=1)
        return Period(day, day)
    if kind == "weekly":
        monday = today - timedelta(days=today.weekday())
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    first = today.replace(day=1)
    if kind == "quarterly":
        first = first.replace(month=3 * ((first.month - 1) // 3) + 1)
    last = first - timedelta(days=1)
    start = last.replace(day=1)
    if kind == "quarterly":
        start = start.replace(month=3 * ((start.month - 1) // 3) + 1)
    return Period(start, last)


def period_label(period: Period) -> str:
    """``2026-09-03``, ``2026-W36``, ``2026-09``, ``2026-Q3``, else ``first_last`` (file-safe)."""
    first, last = period.first, period.last
    if first == last:
        return first.isoformat()
    if first.weekday() == 0 and (last - first).days == 6:
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    following = last + timedelta(days=1)
    if first.day == 1 and following.day == 1:
        months = (following.year - first.year) * 12 + following.month - first.month
        if months == 1:
            return f"{first.year}-{first.month:02d}"
        if months == 3 and first.month % 3 == 1:
            return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.isoformat()}_{last.isoformat()}"


# --------------------------------------------------------------- the model


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


@dataclass(frozen=True)
class Intake:
    """A registration, as the weak-signal search sees it."""

    dispute_id: UUID
    category: str
    unit: str
    location: str
    received_at: datetime


@dataclass(frozen=True)
class WeakSignal:
    """A cluster of similar disputes (弱信号), flagged for class governance (类案治理)."""

    by: str  # "unit" or "location"
    key: str  # the unit id, or the location
    category: str
    disputes: tuple[UUID, ...]  # in order of receipt
    first: datetime
    last: datetime
    peak: int  # most of them received within one window
    open: int  # still open at the close of the period
    units: tuple[str, ...]  # units that registered them

    @property
    def size(self) -> int:
        return len(self.disputes)


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


# --------------------------------------------------------------- building


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
    with _session(engine) as session:
        notices = _notices_by_unit(session, start, end)
        intake = list(_intake(session, start - settings.window, end))
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


def _session(engine: EscalationEngine) -> Any:
    return engine.store.reading()


def _line(item: QueueItem, names: Mapping[str, str], as_of: datetime) -> CaseLine:
    late = item.overdue(as_of) and item.due_at is not None
    return CaseLine(
        dispute_id=item.dispute_id,
        unit=item.unit,
        unit_name=names.get(item.unit, item.unit),
        tier=item.tier,
        category=item.category,
        risk=item.risk,
        received_at=item.received_at,
        due_at=item.due_at,
        overdue_days=(as_of - item.due_at).total_seconds() / 86400
        if late and item.due_at
        else None,
        notices=item.notices,
        elevated=item.elevated,
        department=item.department,
    )


def _notices_by_unit(session: Any, start: datetime, end: datetime) -> dict[str, Counter[str]]:
    t = timeline.c
    query = select(t.unit, t.detail).where(
        t.event == "Supervised", t.occurred_at >= start, t.occurred_at < end
    )
    found: dict[str, Counter[str]] = {}
    for row in session.execute(query):
        found.setdefault(row.unit, Counter())[json.loads(row.detail)["notice"]] += 1
    return found


def _intake(session: Any, start: datetime, end: datetime) -> Iterable[Intake]:
    t = timeline.c
    query = (
        select(t.dispute_id, t.category, t.unit, t.occurred_at, t.detail)
        .where(t.event == "Received", t.occurred_at >= start, t.occurred_at < end)
        .order_by(t.occurred_at, t.dispute_id)
    )
    for row in session.execute(query.execution_options(yield_per=5000)):
        location = json.loads(row.detail).get("location") or ""
        yield Intake(row.dispute_id, row.category, row.unit, str(location), row.occurred_at)


def find_weak_signals(
    intake: Iterable[Intake],
    settings: WeakSignals,
    start: datetime,
    end: datetime,
    open_ids: set[UUID] | frozenset[UUID] = frozenset(),
) -> list[WeakSignal]:
    """Clusters of ``min_cluster`` or more similar disputes within ``window``, ending in the period.

    For every dispute received in the period, its window is the disputes of
    the same group received less than ``window`` before it (itself included);
    a window holding ``min_cluster`` or more is a cluster, and a group's
    flagged disputes are the union of its clusters.
    """
    groups: dict[tuple[str, str, str], list[Intake]] = {}
    for item in intake:
        for by in settings.by:
            key = item.unit if by == "unit" else item.location.strip()
            if key:
                groups.setdefault((by, key, item.category), []).append(item)
    signals: list[WeakSignal] = []
    for (by, key, category), items in groups.items():
        items.sort(key=lambda i: (i.received_at, str(i.dispute_id)))
        members: set[int] = set()
        peak = low = 0
        for high, item in enumerate(items):
            while items[low].received_at <= item.received_at - settings.window:
                low += 1
            count = high - low + 1
            if start <= item.received_at < end and count >= settings.min_cluster:
                members.update(range(low, high + 1))
                peak = max(peak, count)
        if not members:
            continue
        chosen = [items[n] for n in sorted(members)]
        signals.append(
            WeakSignal(
                by=by,
                key=key,
                category=category,
                disputes=tuple(i.dispute_id for i in chosen),
                first=chosen[0].received_at,
                last=chosen[-1].received_at,
                peak=peak,
                open=sum(1 for i in chosen if i.dispute_id in open_ids),
                units=tuple(sorted({i.unit for i in chosen})),
            )
        )
    signals.sort(key=lambda s: (-s.size, s.by, s.category, s.key))
    return signals


# --------------------------------------------------------------- writing


def write_review(review: Review, out: Path) -> tuple[Path, Path]:
    """Write ``<kind>-<period>.md`` and ``.html`` into ``out`` (replaced atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".md", render_markdown(review)), (".html", render_html(review))):
        path = out / f"{review.stem}{suffix}"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    log.info(
        "review.written",
        kind=review.kind,
        period=str(review.period),
        files=[str(p) for p in written],
        received=review.figures.received,
        overdue=len(review.overdue),
        high_risk=len(review.high_risk),
        weak_signals=len(review.weak_signals),
    )
    return written[0], written[1]


class _Text:
    """Local-time and number formatting shared by both renderings."""

    def __init__(self, review: Review) -> None:
        self.zone = ZoneInfo(review.timezone)

    def when(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if value else "-"


def _share(part: int, whole: int) -> str:
    return pct(part / whole if whole else None)


def _sections(r: Review) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(heading, intro, header, rows) of every table, shared by Markdown and HTML."""
    f, t = r.figures, _Text(r)
    tables: list[tuple[str, str, list[str], list[list[str]]]] = []
    tables.append(("Key figures", "", ["figure", "value"], [list(row) for row in figures_rows(f)]))
    tables.append(
        (
            "Intake by source 来源",
            "",
            ["source", "received", "share"],
            [[s, str(n), _share(n, f.received)] for s, n in f.received_by_source.most_common()],
        )
    )
    tables.append(
        (
            "Intake by category 类型",
            "",
            ["category", "received", "share"],
            [[c, str(n), _share(n, f.received)] for c, n in f.received_by_category.most_common()],
        )
    )
    tables.append(
        (
            "Funnel " + " → ".join(f.tiers),
            "Reached: registered at the tier or escalated to it in the period.",
            [
                "tier",
                "reached",
                "registered",
                "escalated in",
                "closed",
                "resolved",
                "open at close",
            ],
            [
                [
                    tier,
                    str(f.handled_at(tier)),
                    str(f.received_at_tier[tier]),
                    str(f.arrived_at_tier[tier]),
                    str(f.closed_at_tier[tier]),
                    str(f.resolved_at_tier[tier]),
                    str(r.open_by_tier.get(tier, 0)),
                ]
                for tier in f.tiers
            ],
        )
    )
    units = [
        u
        for u in f.units.values()
        if u.received or u.closed or u.escalated_out or u.overdue or u.resolved
    ]
    units.sort(key=lambda u: (f.tiers.index(u.tier) if u.tier in f.tiers else 0, u.unit))
    tables.append(
        (
            "Per unit: resolution rate 化解率 and on-time rate",
            "Closures in the period at the unit; overdue: open past the deadline at the close.",
            [
                "unit",
                "name",
                "tier",
                "received",
                "closed",
                "resolved",
                "化解率",
                "on time",
                "on-time rate",
                "escalated out",
                "overdue",
            ],
            [
                [
                    u.unit,
                    r.unit_names.get(u.unit, u.unit),
                    u.tier,
                    str(u.received),
                    str(u.closed),
                    str(u.resolved),
                    pct(u.resolution_rate),
                    str(u.on_time),
                    pct(u.on_time_rate),
                    str(u.escalated_out),
                    str(u.overdue),
                ]
                for u in units
            ],
        )
    )
    tables.append(
        (
            f"Overdue at the close of the period ({len(r.overdue)})",
            f"Open and past their deadline at {t.when(r.as_of)} ({r.timezone}).",
            [
                "dispute",
                "responsible unit",
                "tier",
                "category",
                "risk",
                "due",
                "days overdue",
                "notices",
            ],
            [
                [
                    str(c.dispute_id),
                    f"{c.unit} {c.unit_name}",
                    c.tier,
                    c.category,
                    c.risk or "-",
                    t.when(c.due_at),
                    f"{c.overdue_days:.1f}" if c.overdue_days is not None else "-",
                    ", ".join(c.notices) or "-",
                ]
                for c in r.overdue
            ],
        )
    )
    tables.append(
        (
            f"High risk (红) open at the close of the period ({len(r.high_risk)})",
            "领导包保、一案一策: each needs a named responsible leader and a plan.",
            [
                "dispute",
                "responsible unit",
                "tier",
                "category",
                "received",
                "due",
                "elevated",
                "department",
            ],
            [
                [
                    str(c.dispute_id),
                    f"{c.unit} {c.unit_name}",
                    c.tier,
                    c.category,
                    t.when(c.received_at),
                    t.when(c.due_at) + (" (overdue)" if c.overdue_days is not None else ""),
                    "yes" if c.elevated else "no",
                    c.department or "-",
                ]
                for c in r.high_risk
            ],
        )
    )
    kinds = [k for k in NOTICE_NAMES if f.notices[k]] + sorted(set(f.notices) - set(NOTICE_NAMES))
    tables.append(
        (
            f"Notices issued ({sum(f.notices.values())})",
            "",
            ["notice", "issued"],
            [[f"{k} {NOTICE_NAMES.get(k, '')}".strip(), str(f.notices[k])] for k in kinds],
        )
    )
    ranked = sorted(r.notices_by_unit.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    tables.append(
        (
            "Notices by unit",
            "",
            ["unit", "name", *NOTICE_NAMES, "total"],
            [
                [
                    unit,
                    r.unit_names.get(unit, unit),
                    *(str(counts[k]) for k in NOTICE_NAMES),
                    str(sum(counts.values())),
                ]
                for unit, counts in ranked
            ],
        )
    )
    s = r.settings
    tables.append(
        (
            f"Weak signals 弱信号 ({len(r.weak_signals)})",
            f"At least {s.min_cluster} disputes of one category at the same "
            f"{' or the same '.join(s.by)} within {_span(s.window)}, the latest in the period. "
            "Each is flagged for class governance (类案治理): look for the common cause.",
            [
                "#",
                "category",
                "by",
                "unit / location",
                "disputes",
                f"peak in {_span(s.window)}",
                "first",
                "last",
                "still open",
                "units",
            ],
            [
                [
                    str(n),
                    w.category,
                    w.by,
                    f"{w.key} {r.unit_names.get(w.key, '')}".strip() if w.by == "unit" else w.key,
                    str(w.size),
                    str(w.peak),
                    t.when(w.first),
                    t.when(w.last),
                    str(w.open),
                    ", ".join(w.units),
                ]
                for n, w in enumerate(r.weak_signals, 1)
            ],
        )
    )
    return tables


def _span(window: timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"


def _header(r: Review) -> str:
    t = _Text(r)
    return (
        f"Period {r.period} ({r.timezone}); lists as they stood at {t.when(r.as_of)}. "
        f"Generated {t.when(r.generated_at)}; rule book {r.rules_version}."
    )


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(r: Review) -> str:
    out = [f"# {r.title}", "", _header(r), ""]
    for heading, intro, header, rows in _sections(r):
        out += [f"## {heading}", ""]
        if intro:
            out += [intro, ""]
        if not rows:
            out += ["None.", ""]
            continue
        out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    if r.weak_signals:
        out += ["### Flagged for 类案治理", ""]
        for n, w in enumerate(r.weak_signals, 1):
            ids = ", ".join(str(d) for d in w.disputes)
            out.append(f"{n}. {w.category} at {w.by} {_md_cell(w.key)}: {ids}")
        out.append("")
    return "\n".join(out)


def bars_svg(counts: Sequence[tuple[str, int]], width: int = 640, colour: str = "") -> str:
    """Horizontal bars, one per label (intake by source or category, notices)."""
    bar_h, label_w = 22, 170
    peak = max([n for _, n in counts] + [1])
    height = bar_h * len(counts) + 10
    fill = colour or TIER_COLOURS[0]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    for i, (label, value) in enumerate(counts):
        y = 5 + i * bar_h
        w = (width - label_w - 60) * value / peak
        parts.append(
            f'<text x="0" y="{y + bar_h * 0.65:.1f}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 5}" fill="{fill}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.65:.1f}" '
            f'font-size="12">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(r: Review) -> str:
    f = r.figures
    charts = {
        "Intake by source 来源": bars_svg(f.received_by_source.most_common()),
        "Intake by category 类型": bars_svg(f.received_by_category.most_common(), colour="#2f855a"),
        "Funnel " + " → ".join(f.tiers): funnel_svg(f),
        f"Notices issued ({sum(f.notices.values())})": bars_svg(
            [(k, n) for k, n in f.notices.most_common()], colour=TIER_COLOURS[2]
        ),
    }
    body = []
    for heading, intro, header, rows in _sections(r):
        body.append(f"<h2>{html.escape(heading)}</h2>")
        if intro:
            body.append(f"<p>{html.escape(intro)}</p>")
        if heading in charts and rows:
            body.append(charts[heading])
        if not rows:
            body.append("<p>None.</p>")
            continue
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        lines = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        body.append(f"<table><tr>{cells}</tr>{lines}</table>")
        if heading.startswith("Key figures") and r.days:
            body.append("<h2>Backlog at the close of each day</h2>")
            body.append(backlog_svg(r.days, r.backlog, f.tiers))
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(r.title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}}</style></head><body>
<h1>{html.escape(r.title)}</h1>
<p>{html.escape(_header(r))}</p>
{"".join(body)}
</body></html>
"""
