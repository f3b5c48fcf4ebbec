"""Period reports: the figures as terminal tables and as a self-contained HTML page.

Charts are inline SVG drawn here (a funnel community → street → district,
the backlog per tier over time, plain bars), so a report is one file with no
assets; the reviews (``escalation.application.reviews``) draw with them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from rich.table import Table
from rich.text import Text

from escalation.application.charts import BarChart, LineChart, bar_chart, line_chart
from escalation.application.html_pages import render
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


def bar_rows(counts: Sequence[tuple[str, int]], colour: str = "") -> BarChart:
    """Horizontal bars, one per label (intake by source or category, notices)."""
    fill = colour or TIER_COLOURS[0]
    return bar_chart([(label, value, fill, 1.0) for label, value in counts])


def bars_svg(counts: Sequence[tuple[str, int]], width: int = 640, colour: str = "") -> str:
    """``bar_rows`` drawn alone, as an SVG element."""
    fill = colour or TIER_COLOURS[0]
    chart = bar_chart([(label, value, fill, 1.0) for label, value in counts], width=width)
    return render("bars.svg.j2", chart=chart)


def funnel_chart(f: Figures, width: int = 640, label: Labeller = code) -> BarChart:
    """Per tier: disputes that reached it and disputes closed there."""
    rows: list[tuple[str, int, str, float]] = []
    for i, tier in enumerate(f.tiers):
        colour = TIER_COLOURS[i % len(TIER_COLOURS)]
        name = label("tiers", tier)
        rows += [
            (f"reached {name}", f.handled_at(tier), colour, 1.0),
            (f"closed at {name}", f.closed_at_tier[tier], colour, 0.55),
        ]
    gaps = [18 if i and i % 2 == 0 else 0 for i in range(len(rows))]
    return bar_chart(rows, width=width, label_width=130, bar_height=26, gaps=gaps)


def funnel_svg(f: Figures, width: int = 640, label: Labeller = code) -> str:
    return render("bars.svg.j2", chart=funnel_chart(f, width, label))


def backlog_chart(
    days: list[date],
    series: list[dict[str, int]],
    tiers: tuple[str, ...],
    width: int = 640,
    label: Labeller = code,
) -> LineChart:
    """Open disputes per tier at the close of each day, one line per tier."""
    return line_chart(
        [d.strftime("%m-%d") for d in days],
        [
            (
                label("tiers", tier),
                TIER_COLOURS[i % len(TIER_COLOURS)],
                [s.get(tier, 0) for s in series],
                False,
            )
            for i, tier in enumerate(tiers)
        ],
        width=width,
        most_ticks=8,
    )


def backlog_svg(
    days: list[date], series: list[dict[str, int]], tiers: tuple[str, ...], width: int = 640
) -> str:
    return render("lines.svg.j2", chart=backlog_chart(days, series, tiers, width))


def period_html(
    f: Figures,
    title: str,
    days: list[date],
    series: list[dict[str, int]],
    label: Labeller = code,
) -> str:
    """The period report: funnel, backlog, figures and the per-unit table, one HTML file."""
    units = [
        (
            u.unit,
            label("units", u.unit),
            label("tiers", u.tier),
            [
                str(u.received),
                str(u.closed),
                str(u.escalated_out),
                str(u.resolved),
                pct(u.resolution_rate),
                pct(u.on_time_rate),
                str(u.overdue),
            ],
        )
        for u in sorted(f.units.values(), key=lambda u: (-u.received, u.unit))
    ]
    return render(
        "period.html.j2",
        title=title,
        as_of=f.as_of.isoformat() if f.as_of else None,
        funnel_title=" → ".join(label("tiers", t) for t in f.tiers),
        funnel=funnel_chart(f, label=label),
        backlog=backlog_chart(days, series, f.tiers, label=label) if days else None,
        figures=figures_rows(f, label),
        units=units,
    )
