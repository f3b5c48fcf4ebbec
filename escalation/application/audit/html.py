"""Self-contained HTML: a dispute's audit report with its timeline as inline SVG.

No scripts, no external assets: the file can be mailed, archived, printed.
``page`` and ``table`` are plain building blocks other reports can reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from escalation.application.audit.findings import VerifyReport
from escalation.application.audit.timeline import TimelineEntry
from escalation.application.figures_report import Labeller, code

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right}.rule{color:#555}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{color:#555}
svg text{font-family:system-ui,sans-serif}
"""

# Marker shapes and colours per event (and outcome/notice), for chart and legend.
NOTICE_COLOURS = {
    "reminder": "#f9a825",
    "prompt": "#ef6c00",
    "warning": "#d84315",
    "supervision": "#b71c1c",
}
MEDIATION_COLOURS = {"resolved": "#2e7d32", "partial": "#f57f17", "failed": "#c62828"}


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (already HTML)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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


Marker = Callable[[Mapping[str, Any], float, float], str]  # (fields, x, y) -> SVG


def _received(fields: Mapping[str, Any], x: float, y: float) -> str:
    return f'<circle cx="{x}" cy="{y}" r="6" fill="#1565c0"/>'


def _mediated(fields: Mapping[str, Any], x: float, y: float) -> str:
    colour = MEDIATION_COLOURS.get(str(fields.get("outcome")), "#777")
    return f'<rect x="{x - 5}" y="{y - 5}" width="10" height="10" fill="{colour}"/>'


def _escalated(fields: Mapping[str, Any], x: float, y: float) -> str:
    colour = "#6a1b9a" if fields.get("mode") == "stepwise" else "#880e4f"
    return f'<path d="M{x},{y - 8} L{x + 7},{y + 5} L{x - 7},{y + 5} Z" fill="{colour}"/>'


def _supervised(fields: Mapping[str, Any], x: float, y: float) -> str:
    colour = NOTICE_COLOURS.get(str(fields.get("notice")), "#999")
    return f'<path d="M{x},{y - 7} L{x + 6},{y} L{x},{y + 7} L{x - 6},{y} Z" fill="{colour}"/>'


def _closed(fields: Mapping[str, Any], x: float, y: float) -> str:
    return (
        f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="#212121"/>'
        f'<path d="M{x - 4},{y - 4} L{x + 4},{y + 4} M{x + 4},{y - 4} L{x - 4},{y + 4}" '
        'stroke="#fff" stroke-width="2"/>'
    )


def _reopened(fields: Mapping[str, Any], x: float, y: float) -> str:
    return f'<circle cx="{x}" cy="{y}" r="6" fill="#fff" stroke="#1565c0" stroke-width="2"/>'


def _paused(fields: Mapping[str, Any], x: float, y: float) -> str:
    """中止: two bars, as a pause button."""
    return (
        f'<rect x="{x - 5}" y="{y - 6}" width="3" height="12" fill="#455a64"/>'
        f'<rect x="{x + 2}" y="{y - 6}" width="3" height="12" fill="#455a64"/>'
    )


def _about_the_file(fields: Mapping[str, Any], x: float, y: float) -> str:
    """Risk, routing, a rule book reaching the dispute: decisions about the file, not moves."""
    return f'<circle cx="{x}" cy="{y}" r="3" fill="#90a4ae"/>'


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


def _shape(event: str, fields: Mapping[str, Any], x: float, y: float) -> str:
    return MARKERS.get(event, _about_the_file)(fields, x, y)


def _marker(entry: TimelineEntry, x: float, y: float) -> str:
    tip = f"v{entry.version} {entry.event} {entry.occurred_at.isoformat()}: {entry.what}"
    if entry.reason:
        tip += f" — {entry.reason}"
    return f"<g><title>{escape(tip)}</title>{_shape(entry.event, entry.fields, x, y)}</g>"


def timeline_svg(
    entries: Sequence[TimelineEntry],
    tiers: Sequence[str],
    zone: ZoneInfo,
    *,
    until: datetime | None = None,
    width: int = 1000,
    label: Labeller = code,
) -> str:
    """Tier lanes (highest on top) against time, and the dispute's path through them.

    Each visit's time limit is drawn as a dashed line, and each event as a marker.
    """
    if not entries:
        return ""
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

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline">'
        )
    ]
    for i, tier in enumerate(lanes):
        band = "#fafafa" if i % 2 else "#f0f4f8"
        parts.append(
            f'<rect x="{left}" y="{top + lane * i}" width="{width - left - right}" '
            f'height="{lane}" fill="{band}"/>'
            f'<text x="{left - 8}" y="{y(tier) + 4}" text-anchor="end" font-size="13">'
            f"{escape(label('tiers', tier))}</text>"
        )
    bottom = top + lane * len(lanes)
    for when, tick in scale.ticks(zone):
        x = scale.x(when)
        parts.append(
            f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#ddd"/>'
            f'<text x="{x}" y="{bottom + 16}" text-anchor="middle" font-size="11">'
            f"{escape(tick)}</text>"
        )
    parts.append(_path(entries, scale, y, last))
    for e in entries:
        due = e.fields.get("due_at")
        if isinstance(due, datetime) and due <= scale.end:  # a visit began: its time limit
            x, ty = scale.x(due), y(e.tier)
            parts.append(
                f"<g><title>{escape(f'time limit at {e.tier} {e.unit}: {due.isoformat()}')}"
                f'</title><line x1="{x}" y1="{ty - lane / 2 + 4}" x2="{x}" '
                f'y2="{ty + lane / 2 - 4}" stroke="#c62828" stroke-dasharray="4 3"/></g>'
            )
    seen: dict[tuple[float, str], int] = {}
    for e in entries:  # events at the same instant and tier fan out to the right
        x = scale.x(e.occurred_at)
        n = seen[(x, e.tier)] = seen.get((x, e.tier), -1) + 1
        parts.append(_marker(e, x + 9 * n, y(e.tier)))
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11" fill="#555">'
        f"local time ({escape(str(zone))})</text></svg>"
    )
    return "".join(parts)


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
    return f'<path d="{" ".join(points)}" fill="none" stroke="#546e7a" stroke-width="2"/>'


def legend() -> str:
    samples: list[tuple[str, dict[str, str], str]] = [
        ("Received", {}, "received"),
        *[("Mediated", {"outcome": o}, f"mediation {o}") for o in MEDIATION_COLOURS],
        ("Escalated", {"mode": "stepwise"}, "逐级上报 stepwise"),
        ("Escalated", {"mode": "elevated"}, "提级管理 elevated"),
        *[("Supervised", {"notice": n}, n) for n in NOTICE_COLOURS],
        ("Closed", {}, "closed"),
        ("Reopened", {}, "reopened"),
        ("Routed", {}, "risk, routing or rule book decision"),
    ]
    items = [
        f'<svg width="22" height="18" viewBox="0 0 22 18">{_shape(event, fields, 11, 9)}</svg>'
        f"{escape(label)}"
        for event, fields, label in samples
    ]
    items.append(
        '<svg width="22" height="18"><line x1="11" y1="1" x2="11" y2="17" stroke="#c62828" '
        'stroke-dasharray="4 3"/></svg>time limit of a tier visit'
    )
    return '<p class="legend">' + " &nbsp; ".join(items) + "</p>"


# -------------------------------------------------------------------- report


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

    ``label`` names the tiers as people read them (``RuleBook.label``).
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
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    rows = [
        [
            str(e.version),
            escape(local(e.occurred_at)),
            escape(local(e.recorded_at)),
            f"<b>{escape(e.event)}</b>",
            escape(e.actor),
            escape(f"{label('tiers', e.tier)} {place(e.unit)}"),
            escape(e.what),
            (
                f'<span class="rule">{escape(e.rule_id)} @ {escape(e.rules_version or "")}</span>'
                if e.rule_id
                else ""
            ),
            escape(e.reason or ""),
        ]
        for e in entries
    ]
    headers = ["#", "occurred", "recorded", "event", "actor", "where", "what", "rule @ version"]
    body = (
        f"<dl>{dl}</dl>{_chain_html(chain)}<h2>Timeline</h2>"
        + timeline_svg(entries, tiers, zone, until=until, label=label)
        + legend()
        + "<h2>Events</h2>"
        + table([*headers, "why"], rows, raw=True)
    )
    return page(title or f"Audit report: dispute {dispute_id}", body)


def _chain_html(chain: VerifyReport | None) -> str:
    if chain is None:
        return ""
    if chain.ok:
        head = chain.covered_to > 0 and chain.uncovered == 0
        return (
            f'<p class="ok">Hash chain verified: {chain.events} events, each committing '
            "to the one before"
            + (", and the last matching the recorded chain head" if head else "")
            + ".</p>"
        )
    items = "".join(f"<li>{escape(str(f))}</li>" for f in chain.findings)
    return f'<p class="bad">The hash chain does NOT verify:</p><ul>{items}</ul>'
