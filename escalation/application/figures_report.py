"""Period reports: the figures as terminal tables and as a self-contained HTML page.

Charts are inline SVG drawn here (a funnel community → street → district,
the backlog per tier over time, plain bars), so a report is one file with no
assets; the reviews (``escalation.application.reviews``) draw with them too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import date

from rich.table import Table
from rich.text import Text

from escalation.policies.rulebook import NOTICES
from projections.figures import Figures, IntakeCount, change

TIER_COLOURS = ["#2b6cb0", "#d69e2e", "#c53030", "#2f855a", "#6b46c1"]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1%}"


def _compared(f: Figures) -> list[tuple[str, str]]:
    """Intake and petitions against the period before (环比) and a year before (同比).

    Left out when nothing was received then (a store younger than the comparison).
    """
    rows: list[tuple[str, str]] = []
    for label, before in (("previous period 环比", f.previous), ("a year before 同比", f.year_ago)):
        if before is None or not before.received:
            continue
        rows += [
            (f"  received, vs {label}", _versus(f.received, before, "received")),
            (f"  petitions 信访, vs {label}", _versus(f.petitions, before, "petitions")),
        ]
    return rows


def _versus(now: int, before: IntakeCount, what: str) -> str:
    return f"{signed(change(now, before, what))} ({getattr(before, what)})"


def code(kind: str, value: str | None) -> str:
    """The labeller that shows codes (``RuleBook.label`` shows display names)."""
    return value or "-"


#: ``RuleBook.label`` or ``code``: (kind, code) -> what people read.
Labeller = Callable[[str, str | None], str]


def _ladder_order(notice: str) -> int:
    return NOTICES.index(notice) if notice in NOTICES else len(NOTICES)


def figures_rows(f: Figures, label: Labeller = code) -> list[tuple[str, str]]:
    def t_(tier: str) -> str:
        return label("tiers", tier)

    notices = sorted(f.notices.items(), key=lambda kv: (_ladder_order(kv[0]), kv[0]))
    return [
        ("received 登记受理", str(f.received)),
        *[(f"  at {t_(t)}", str(f.received_at_tier[t])) for t in f.tiers],
        ("  petitions 信访", str(f.petitions)),
        *_compared(f),
        ("closed", str(f.closed)),
        *[(f"  resolved at {t_(t)}", str(f.resolved_at_tier[t])) for t in f.tiers],
        ("resolution rate 化解率", pct(f.resolution_rate)),
        *[(f"settled without leaving the {t_(t)}", pct(f.settled_within(t))) for t in f.tiers[:-1]],
        ("escalated stepwise 逐级上报", str(f.escalated)),
        ("elevated 提级管理", str(f.elevated)),
        ("reopened", str(f.reopened)),
        *[(f"notices: {label('notices', k)}", str(v)) for k, v in notices],
        ("on-time rate (tier visits)", pct(f.on_time_rate)),
        ("overdue at the end", str(f.overdue)),
        (
            "median days to close",
            "-" if f.median_days_to_close is None else f"{f.median_days_to_close:.1f}",
        ),
    ]


def figures_table(f: Figures, title: str, label: Labeller = code) -> Table:
    table = Table(title=Text(title), title_justify="left", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures_rows(f, label):
        table.add_row(Text(name), Text(value))
    return table


def units_table(f: Figures, limit: int = 15, label: Labeller = code) -> Table:
    table = Table(title="per unit (most received first)", title_justify="left")
    cols = ("unit", "tier", "received", "closed", "escalated out", "resolved", "化解率")
    for col in (*cols, "on time", "overdue"):
        table.add_column(col, justify="left" if col in ("unit", "tier") else "right")
    ranked = sorted(f.units.values(), key=lambda u: (-u.received, -u.closed, u.unit))
    for u in ranked[:limit]:
        table.add_row(
            Text(u.unit),
            Text(label("tiers", u.tier)),
            str(u.received),
            str(u.closed),
            str(u.escalated_out),
            str(u.resolved),
            pct(u.resolution_rate),
            pct(u.on_time_rate),
            str(u.overdue),
        )
    return table


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


def funnel_svg(f: Figures, width: int = 640) -> str:
    """Per tier: disputes that reached it and disputes closed there."""
    bar_h, gap, label_w = 26, 18, 110
    peak = max([f.handled_at(t) for t in f.tiers] + [1])
    height = len(f.tiers) * (2 * bar_h + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    y = 10
    for i, tier in enumerate(f.tiers):
        colour = TIER_COLOURS[i % len(TIER_COLOURS)]
        for label, value, opacity in (
            (f"reached {tier}", f.handled_at(tier), 1.0),
            (f"closed at {tier}", f.closed_at_tier[tier], 0.55),
        ):
            w = (width - label_w - 60) * value / peak
            parts.append(
                f'<text x="0" y="{y + bar_h * 0.7}" font-size="12">{html.escape(label)}</text>'
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 4}" '
                f'fill="{colour}" fill-opacity="{opacity}"/>'
                f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7}" '
                f'font-size="12">{value}</text>'
            )
            y += bar_h
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def backlog_svg(
    days: list[date], series: list[dict[str, int]], tiers: tuple[str, ...], width: int = 640
) -> str:
    """Open disputes per tier at the close of each day, one line per tier."""
    height, left, bottom, top = 240, 40, 30, 10
    peak = max([max(s.values(), default=0) for s in series] + [1])
    plot_w, plot_h = width - left - 110, height - bottom - top
    step = plot_w / max(len(days) - 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>'
        f'<text x="0" y="{top + 10}" font-size="11">{peak}</text>'
        f'<text x="0" y="{top + plot_h}" font-size="11">0</text>'
    )
    for i, tier in enumerate(tiers):
        colour = TIER_COLOURS[i % len(TIER_COLOURS)]
        points = " ".join(
            f"{left + n * step:.1f},{top + plot_h - plot_h * s.get(tier, 0) / peak:.1f}"
            for n, s in enumerate(series)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{top + 14 + 16 * i}" font-size="12" '
            f'fill="{colour}">{html.escape(tier)}</text>'
        )
    if days:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="11">{days[0]}</text>'
            f'<text x="{left + plot_w - 60}" y="{height - 8}" font-size="11">{days[-1]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def period_html(
    f: Figures,
    title: str,
    days: list[date],
    series: list[dict[str, int]],
    label: Labeller = code,
) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td class=n>{html.escape(v)}</td></tr>"
        for k, v in figures_rows(f, label)
    )
    units = "".join(
        f"<tr><td>{html.escape(u.unit)}</td><td>{html.escape(label('tiers', u.tier))}</td>"
        f"<td class=n>{u.received}</td>"
        f"<td class=n>{u.closed}</td><td class=n>{u.escalated_out}</td>"
        f"<td class=n>{u.resolved}</td>"
        f"<td class=n>{pct(u.resolution_rate)}</td><td class=n>{pct(u.on_time_rate)}</td>"
        f"<td class=n>{u.overdue}</td></tr>"
        for u in sorted(f.units.values(), key=lambda u: (-u.received, u.unit))
    )
    known = f"<p>As known at {f.as_of.isoformat()}.</p>" if f.as_of else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:900px}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:3px 10px}}
td.n{{text-align:right}}</style></head><body>
<h1>{html.escape(title)}</h1>{known}
<h2>Funnel: community → street → district</h2>{funnel_svg(f)}
<h2>Backlog at the close of each day</h2>{backlog_svg(days, series, f.tiers)}
<h2>Figures</h2><table>{rows}</table>
<h2>Per unit</h2><table><tr><th>unit</th><th>tier</th><th>received</th><th>closed</th>
<th>escalated out</th><th>resolved</th><th>化解率</th><th>on time</th><th>overdue</th></tr>
{units}</table>
</body></html>
"""
