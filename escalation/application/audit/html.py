"""Self-contained HTML: a dispute's audit report with its timeline as inline SVG.

No scripts, no external assets: the file can be mailed, archived, printed.
The geometry of the chart (lanes, ticks, the path, markers) is computed here;
``templates/audit_report.html.j2`` and ``charts.html.j2`` draw it, autoescaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from escalation.application.audit.findings import VerifyReport
from escalation.application.audit.timeline import TimelineEntry
from escalation.application.charts import Tick
from escalation.application.figures_report import Labeller, code
from escalation.application.html_pages import render

# Marker colours per notice and mediation outcome, for chart and legend.
NOTICE_COLOURS = {
    "reminder": "#f9a825",
    "prompt": "#ef6c00",
    "warning": "#d84315",
    "supervision": "#b71c1c",
}
MEDIATION_COLOURS = {"resolved": "#2e7d32", "partial": "#f57f17", "failed": "#c62828"}


# -------------------------------------------------------------------- chart


class _Scale:
    """Time → x pixels, with ticks on local calendar boundaries."""

    STEPS = tuple(timedelta(hours=h) for h in (1, 3, 6, 12, 24, 48, 24 * 7, 24 * 14, 24 * 30))

    def __init__(self, start: datetime, end: datetime, left: float, width: float) -> None:
        span = max(end - start, timedelta(hours=1))
        pad = span * 0.04
        self.start, self.end = start - pad, end + pad
        self.left, self.width = left, width

    def x(self, when: datetime) -> float:
        share = (when - self.start) / (self.end - self.start)
        return round(self.left + share * self.width, 1)

    def ticks(self, zone: ZoneInfo) -> list[tuple[datetime, str]]:
        span = self.end - self.start
        step = next((s for s in self.STEPS if span / s <= 10), self.STEPS[-1])
        local = self.start.astimezone(zone)
        if step >= timedelta(days=1):
            tick = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            fmt = "%m-%d"
        else:
            hours = int(step.total_seconds() // 3600)
            base = local.replace(minute=0, second=0, microsecond=0)
            tick = base + timedelta(hours=hours - base.hour % hours)
            fmt = "%m-%d %H:%M"
        out = []
        while tick.astimezone(UTC) <= self.end:
            out.append((tick.astimezone(UTC), tick.strftime(fmt)))
            tick = (tick + step).astimezone(zone)
        return out


#: (event fields) -> (shape, colour); the shapes are drawn by ``charts.html.j2``'s ``shape``.
Marker = Callable[[Mapping[str, Any]], tuple[str, str]]


def _received(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "dot", "#1565c0"


def _mediated(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "square", MEDIATION_COLOURS.get(str(fields.get("outcome")), "#777")


def _escalated(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "triangle", "#6a1b9a" if fields.get("mode") == "stepwise" else "#880e4f"


def _supervised(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "diamond", NOTICE_COLOURS.get(str(fields.get("notice")), "#999")


def _closed(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "cross", "#212121"


def _reopened(fields: Mapping[str, Any]) -> tuple[str, str]:
    return "ring", "#1565c0"


def _paused(fields: Mapping[str, Any]) -> tuple[str, str]:
    """中止: two bars, as a pause button."""
    return "pause", "#455a64"


def _about_the_file(fields: Mapping[str, Any]) -> tuple[str, str]:
    """Risk, routing, a rule book reaching the dispute: decisions about the file, not moves."""
    return "small", "#90a4ae"


#: The marker of every dispute event, by name (complete over the catalogue's events).
MARKERS: dict[str, Marker] = {
    "Received": _received,
    "RiskAssessed": _about_the_file,
    "Routed": _about_the_file,
    "Mediated": _mediated,
    "Escalated": _escalated,
    "Supervised": _supervised,
    "Closed": _closed,
    "Reopened": _reopened,
    "Erased": _about_the_file,
    "RulesApplied": _about_the_file,
    # 吹哨报到, 领导包保, 研判: about the file; a duty notice is a notice.
    "Summoned": _about_the_file,
    "CheckedIn": _about_the_file,
    "ProgressReported": _about_the_file,
    "LeaderRequired": _about_the_file,
    "LeaderAssigned": _about_the_file,
    "Assessed": _about_the_file,
    "Notified": _supervised,
    "ReviewDecided": _about_the_file,
    "Accepted": _about_the_file,
    "Declined": _closed,
    "FollowedUp": _about_the_file,
    "Paused": _paused,
    "Resumed": _reopened,
    "Remanded": _escalated,
}


def _shape(event: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    return MARKERS.get(event, _about_the_file)(fields)


@dataclass(frozen=True)
class Lane:
    name: str
    top: float
    mid: float
    band: str


@dataclass(frozen=True)
class Mark:
    shape: str
    colour: str
    x: float
    y: float
    tip: str


@dataclass(frozen=True)
class Due:
    x: float
    y1: float
    y2: float
    tip: str


@dataclass(frozen=True)
class Timeline:
    """Tier lanes (highest on top) against local time: every number the drawing needs."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    lane: float
    lanes: tuple[Lane, ...]
    ticks: tuple[Tick, ...]
    path: str  # the SVG path data of the dispute's way: numbers only
    dues: tuple[Due, ...]
    marks: tuple[Mark, ...]
    zone: str


def timeline_chart(
    entries: Sequence[TimelineEntry],
    tiers: Sequence[str],
    zone: ZoneInfo,
    *,
    until: datetime | None = None,
    width: int = 1000,
    label: Labeller = code,
) -> Timeline | None:
    """The chart's geometry; each visit's time limit a dashed line, each event a marker."""
    if not entries:
        return None
    left, right, top, lane = 100, 20, 20, 56
    lanes = list(reversed(tiers))  # escalation goes up the page
    height = top + lane * len(lanes) + 40
    first = entries[0].occurred_at
    dues = [d for e in entries if isinstance(d := e.fields.get("due_at"), datetime)]
    # An open dispute's chart runs on to its current time limit; a closed one ends there.
    still_due = dues[-1:] if entries[-1].event != "Closed" else []
    last = max([e.occurred_at for e in entries] + still_due + ([until] if until else []))
    scale = _Scale(first, last, left, width - left - right)

    def y(tier: str) -> float:
        return top + lane * (lanes.index(tier) + 0.5) if tier in lanes else top

    bands = tuple(
        Lane(label("tiers", tier), top + lane * i, y(tier), "#fafafa" if i % 2 else "#f0f4f8")
        for i, tier in enumerate(lanes)
    )
    limits = tuple(
        Due(
            scale.x(due),
            y(e.tier) - lane / 2 + 4,
            y(e.tier) + lane / 2 - 4,
            f"time limit at {label('tiers', e.tier)} {e.unit}: {due.isoformat()}",
        )
        for e in entries
        if isinstance(due := e.fields.get("due_at"), datetime) and due <= scale.end
    )
    seen: dict[tuple[float, str], int] = {}
    marks = []
    for e in entries:  # events at the same instant and tier fan out to the right
        x = scale.x(e.occurred_at)
        n = seen[(x, e.tier)] = seen.get((x, e.tier), -1) + 1
        tip = f"v{e.version} {e.event} {e.occurred_at.isoformat()}: {e.what}"
        if e.reason:
            tip += f" — {e.reason}"
        marks.append(Mark(*_shape(e.event, e.fields), x + 9 * n, y(e.tier), tip))
    return Timeline(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=top + lane * len(lanes),
        lane=lane,
        lanes=bands,
        ticks=tuple(Tick(scale.x(when), text) for when, text in scale.ticks(zone)),
        path=_path(entries, scale, y, last),
        dues=limits,
        marks=tuple(marks),
        zone=str(zone),
    )


def timeline_svg(
    entries: Sequence[TimelineEntry],
    tiers: Sequence[str],
    zone: ZoneInfo,
    *,
    until: datetime | None = None,
    width: int = 1000,
    label: Labeller = code,
) -> str:
    """The timeline chart alone, as an SVG element ("" without events)."""
    chart = timeline_chart(entries, tiers, zone, until=until, width=width, label=label)
    return "" if chart is None else render("timeline.svg.j2", chart=chart)


def _path(
    entries: Sequence[TimelineEntry], scale: _Scale, lane_y: Callable[[str], float], last: datetime
) -> str:
    """The dispute's way through the tiers: along a lane while there, up when escalated."""
    x, y = scale.x(entries[0].occurred_at), lane_y(entries[0].tier)
    points = [f"M{x},{y}"]
    for e in entries[1:]:
        x, next_y = scale.x(e.occurred_at), lane_y(e.tier)
        points.append(f"L{x},{y} L{x},{next_y}")
        y = next_y
    if entries[-1].event != "Closed":  # still open: on to the end of the chart
        points.append(f"L{scale.x(last)},{y}")
    return " ".join(points)


def legend(label: Labeller = code) -> list[tuple[str, str, str]]:
    """(shape, colour, text) of each marker kind, in the order of a dispute's life."""
    samples: list[tuple[str, dict[str, str], str]] = [
        ("Received", {}, "received"),
        *[
            ("Mediated", {"outcome": o}, f"mediation {label('outcomes', o)}")
            for o in MEDIATION_COLOURS
        ],
        ("Escalated", {"mode": "stepwise"}, "逐级上报 stepwise"),
        ("Escalated", {"mode": "elevated"}, "提级管理 elevated"),
        *[("Supervised", {"notice": n}, label("notices", n)) for n in NOTICE_COLOURS],
        ("Closed", {}, "closed"),
        ("Reopened", {}, "reopened"),
        ("Routed", {}, "risk, routing or rule book decision"),
    ]
    return [(*_shape(event, fields), text) for event, fields, text in samples]


# -------------------------------------------------------------------- report


@dataclass(frozen=True)
class Row:
    """One event in the report's table, every cell as people read it."""

    version: int
    occurred: str
    recorded: str
    event: str
    actor: str
    where: str
    what: str
    rule: str
    why: str


def render_dispute_report(
    entries: Sequence[TimelineEntry],
    *,
    tiers: Sequence[str],
    zone: ZoneInfo,
    chain: VerifyReport | None = None,
    unit_names: Mapping[str, str] | None = None,
    until: datetime | None = None,
    title: str | None = None,
    label: Labeller = code,
) -> str:
    """The audit report of one dispute: facts, chart, event table, chain status.

    ``label`` names tiers, notices and outcomes as people read them (``RuleBook.label``).
    """
    if not entries:
        raise ValueError("a dispute report needs at least one event")
    names = unit_names or {}
    first, latest = entries[0], entries[-1]
    dispute_id = str(first.dispute_id)
    closed = latest.event == "Closed"

    def local(t: datetime) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def place(unit: str) -> str:
        return f"{unit} {names.get(unit, '')}".strip()

    facts = [
        ("dispute", dispute_id),
        (
            "received",
            f"{local(first.occurred_at)} at {place(first.unit)} ({label('tiers', first.tier)})",
        ),
        ("what", first.what),
        (
            "now",
            (
                f"{'closed' if closed else 'open'} at {place(latest.unit)} "
                f"({label('tiers', latest.tier)})"
            ),
        ),
        ("events", str(len(entries))),
        ("times", f"local, {zone}"),
    ]
    rows = [
        Row(
            version=e.version,
            occurred=local(e.occurred_at),
            recorded=local(e.recorded_at),
            event=e.event,
            actor=e.actor,
            where=f"{label('tiers', e.tier)} {place(e.unit)}",
            what=e.what,
            rule=f"{e.rule_id} @ {e.rules_version or ''}" if e.rule_id else "",
            why=e.reason or "",
        )
        for e in entries
    ]
    return render(
        "audit_report.html.j2",
        title=title or f"Audit report: dispute {dispute_id}",
        facts=facts,
        chain=chain,
        chain_head=chain is not None and chain.covered_to > 0 and chain.uncovered == 0,
        timeline=timeline_chart(entries, tiers, zone, until=until, label=label),
        legend=legend(label),
        rows=rows,
    )
