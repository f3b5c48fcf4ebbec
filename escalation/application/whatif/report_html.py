"""The HTML report of a simulation: one self-contained file, charts as inline SVG.

No chart library: a funnel (disputes reaching and settled at each tier) and
the weekly workload of each tier, current (grey) against candidate (orange),
with value gridlines and ticks. Changed disputes (the first ``limit``, as in
the text report) link to their two timelines further down the page. The
geometry is computed here; ``templates/whatif.html.j2`` draws it, autoescaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from escalation.application.charts import BarChart, LineChart, bar_chart, line_chart
from escalation.application.event_text import Labeller
from escalation.application.html_pages import render
from escalation.application.whatif.compare import TimelineRow, Totals
from escalation.application.whatif.figures import totals_rows
from escalation.application.whatif.simulate import Simulation

CURRENT, CANDIDATE = "#8c8c8c", "#e8710a"


@dataclass(frozen=True)
class Weekly:
    tier: str
    chart: LineChart | None  # None: no arrivals at the tier


@dataclass(frozen=True)
class Changed:
    dispute: str
    received: str
    unit: str
    rows: tuple[tuple[str, str, str], ...]  # (what, current, candidate)


@dataclass(frozen=True)
class Timelines:
    dispute: str
    recorded: list[tuple[str, str, str, str]]  # (when, event, what, rule or fact)
    candidate: list[tuple[str, str, str, str]]


def html_report(
    sim: Simulation,
    tiers: Sequence[str],
    *,
    limit: int | None = None,
    label: Labeller | None = None,
) -> str:
    """The page; ``limit`` caps the changed disputes listed (all kept ones by default).

    ``label`` names tiers, units and notices (default: the candidate rule book's labels).
    """
    c, zone = sim.comparison, ZoneInfo(sim.candidate.calendar.timezone)
    name = label or sim.candidate.label
    changes = c.changes if limit is None else c.changes[: max(limit, 0)]
    shown = {ch.dispute_id for ch in changes}
    listed = [
        Changed(
            str(ch.dispute_id),
            f"{ch.received_at.astimezone(zone):%Y-%m-%d}",
            name("units", ch.received_unit),
            ch.rows,
        )
        for ch in changes
    ]
    timelines = [
        Timelines(str(did), _rows(cur, zone), _rows(cand, zone))
        for did, (cur, cand) in c.timelines.items()
        if did in shown
    ]
    return render(
        "whatif.html.j2",
        title=f"What-if: {sim.candidate.source} ({sim.candidate.version})",
        horizon=f"{sim.window.horizon.astimezone(zone):%Y-%m-%d %H:%M}",
        zone=zone.key,
        disputes=sim.disputes,
        changed=c.changed,
        versions=", ".join(c.versions) or "none",
        current_colour=CURRENT,
        candidate_colour=CANDIDATE,
        totals=totals_rows(c.current, c.candidate, tiers, name),
        funnel=funnel_chart(c.current, c.candidate, tiers, name),
        weekly=[weekly_chart(c.current, c.candidate, tier, name) for tier in tiers],
        changes=listed,
        timelines=timelines,
    )


def funnel_chart(cur: Totals, cand: Totals, tiers: Sequence[str], label: Labeller) -> BarChart:
    """Disputes received, reaching and settled at each tier: current bar above candidate."""
    groups = [("received", cur.disputes, cand.disputes)]
    groups += [(f"reached {label('tiers', t)}", cur.reached[t], cand.reached[t]) for t in tiers[1:]]
    groups += [
        (f"settled in {label('tiers', t)}", cur.closed_at[t], cand.closed_at[t]) for t in tiers
    ]
    groups += [("elevated", cur.elevated, cand.elevated), ("overdue", cur.overdue, cand.overdue)]
    rows: list[tuple[str, int, str, float]] = []
    for text, a, b in groups:
        rows += [(text, a, CURRENT, 1.0), ("", b, CANDIDATE, 1.0)]
    gaps = [8 if i and i % 2 == 0 else 0 for i in range(len(rows))]
    return bar_chart(rows, width=700, label_width=150, bar_height=16, gaps=gaps)


def weekly_chart(cur: Totals, cand: Totals, tier: str, label: Labeller) -> Weekly:
    """Arrivals per ISO week at ``tier``: current solid, candidate dashed."""
    weeks = sorted(
        {w for w, t in cur.weekly if t == tier} | {w for w, t in cand.weekly if t == tier}
    )
    if not weeks:
        return Weekly(label("tiers", tier), None)
    chart = line_chart(
        [w[-3:] for w in weeks],
        [
            ("current", CURRENT, [cur.weekly[(w, tier)] for w in weeks], False),
            ("candidate", CANDIDATE, [cand.weekly[(w, tier)] for w in weeks], True),
        ],
        width=760,
        height=160,
        legend=False,
    )
    return Weekly(label("tiers", tier), chart)


def _rows(rows: list[TimelineRow], zone: ZoneInfo) -> list[tuple[str, str, str, str]]:
    return [
        (f"{at.astimezone(zone):%Y-%m-%d %H:%M}", event, what, "rule" if by_rule else "fact")
        for at, event, what, by_rule in rows
    ]
