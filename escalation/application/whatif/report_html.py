"""The HTML report of a simulation: one self-contained file, charts as inline SVG.

No chart library: a funnel (disputes reaching and settled at each tier) and
the weekly workload of each tier are a few dozen SVG elements each, current
(grey) against candidate (orange). Changed disputes link to their two
timelines further down the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from escalation.application.whatif.compare import TimelineRow, Totals
from escalation.application.whatif.figures import totals_rows
from escalation.application.whatif.simulate import Simulation

CURRENT, CANDIDATE = "#8c8c8c", "#e8710a"
_STYLE = """
body{font:14px/1.45 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ddd;
padding:3px 8px;text-align:left;vertical-align:top}td.n{text-align:right}
.cur{color:#666}.cand{color:#b35300}.key span{display:inline-block;width:12px;height:12px;
margin:0 4px 0 12px}h2{margin-top:1.8em}.side{display:flex;gap:2em}.side>div{flex:1}
"""


def html_report(sim: Simulation, tiers: Sequence[str]) -> str:
    c, zone = sim.comparison, ZoneInfo(sim.candidate.calendar.timezone)
    title = f"What-if: {sim.candidate.source} ({sim.candidate.version})"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
        (
            f"<p>Horizon {sim.window.horizon.astimezone(zone):%Y-%m-%d %H:%M} "
            f"({escape(zone.key)}); "
            f"{sim.disputes:,} disputes replayed; <b>{c.changed:,}</b> would differ. "
            f"Recorded rule books: {escape(', '.join(c.versions) or 'none')}.</p>"
        ),
        _key(),
        "<h2>Totals</h2>",
        _totals(c.current, c.candidate, tiers),
        "<h2>Funnel</h2>",
        _funnel(c.current, c.candidate, tiers),
        "<h2>Weekly workload per tier (arrivals)</h2>",
        *(_weekly(c.current, c.candidate, tier) for tier in tiers),
        f"<h2>Changed disputes ({len(c.changes):,} of {c.changed:,} listed)</h2>",
        _changes(sim, zone),
        "<h2>Timelines</h2>",
        *(_timelines(str(did), cur, cand, zone) for did, (cur, cand) in c.timelines.items()),
        "</body></html>",
    ]
    return "\n".join(parts)


def _key() -> str:
    return (
        f"<p class='key'>current rules<span style='background:{CURRENT}'></span>"
        f" candidate<span style='background:{CANDIDATE}'></span></p>"
    )


def _totals(cur: Totals, cand: Totals, tiers: Sequence[str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(a)}</td><td class='n'>{b}</td><td class='n'>{c}</td>"
        f"<td class='n'>{escape(d)}</td></tr>"
        for a, b, c, d in totals_rows(cur, cand, tiers)
    )
    head = "<tr><th>figure</th><th>current</th><th>candidate</th><th>change</th></tr>"
    return f"<table>{head}{rows}</table>"


def _funnel(cur: Totals, cand: Totals, tiers: Sequence[str]) -> str:
    groups = [("received", cur.disputes, cand.disputes)]
    groups += [(f"reached {t}", cur.reached[t], cand.reached[t]) for t in tiers[1:]]
    groups += [(f"settled in {t}", cur.closed_at[t], cand.closed_at[t]) for t in tiers]
    groups += [("elevated", cur.elevated, cand.elevated), ("overdue", cur.overdue, cand.overdue)]
    top = max([1, *(max(a, b) for _, a, b in groups)])
    label_w, bar_w, row_h = 150, 460, 34
    out = [f"<svg width='{label_w + bar_w + 90}' height='{row_h * len(groups) + 10}' role='img'>"]
    for i, (label, a, b) in enumerate(groups):
        y = 5 + i * row_h
        out.append(f"<text x='0' y='{y + 17}' font-size='12'>{escape(label)}</text>")
        for j, (value, colour) in enumerate(((a, CURRENT), (b, CANDIDATE))):
            w = bar_w * value / top
            yy = y + j * 14
            out.append(
                f"<rect x='{label_w}' y='{yy}' width='{w:.1f}' height='12' fill='{colour}'>"
                f"<title>{value:,}</title></rect>"
                f"<text x='{label_w + w + 4:.1f}' y='{yy + 10}' font-size='10'>{value:,}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def _weekly(cur: Totals, cand: Totals, tier: str) -> str:
    weeks = sorted(
        {w for w, t in cur.weekly if t == tier} | {w for w, t in cand.weekly if t == tier}
    )
    if not weeks:
        return f"<p>{escape(tier)}: no arrivals</p>"
    a = [cur.weekly[(w, tier)] for w in weeks]
    b = [cand.weekly[(w, tier)] for w in weeks]
    top = max([1, *a, *b])
    width, height, left, bottom = 760, 150, 40, 20
    step = (width - left - 10) / max(1, len(weeks) - 1)

    def points(series: list[int]) -> str:
        return " ".join(
            f"{left + i * step:.1f},{height - bottom - (height - bottom - 10) * v / top:.1f}"
            for i, v in enumerate(series)
        )

    ticks = "".join(
        f"<text x='{left + i * step:.1f}' y='{height - 4}' font-size='9' text-anchor='middle'>"
        f"{escape(w[-3:])}</text>"
        for i, w in enumerate(weeks)
        if i % max(1, len(weeks) // 12) == 0
    )
    return (
        f"<h3>{escape(tier)}</h3><svg width='{width}' height='{height}' role='img'>"
        f"<text x='0' y='12' font-size='10'>{top:,}</text>"
        f"<text x='0' y='{height - bottom}' font-size='10'>0</text>"
        f"<line x1='{left}' y1='{height - bottom}' x2='{width - 10}' y2='{height - bottom}' "
        "stroke='#ccc'/>"
        f"<polyline fill='none' stroke='{CURRENT}' stroke-width='2' points='{points(a)}'/>"
        f"<polyline fill='none' stroke='{CANDIDATE}' stroke-width='2' stroke-dasharray='5 3' "
        f"points='{points(b)}'/>{ticks}</svg>"
    )


def _changes(sim: Simulation, zone: ZoneInfo) -> str:
    rows = []
    for ch in sim.comparison.changes:
        what = "<br>".join(
            f"{escape(w)}: <span class='cur'>{escape(a)}</span> → "
            f"<span class='cand'>{escape(b)}</span>"
            for w, a, b in ch.rows
        )
        rows.append(
            f"<tr><td><a href='#d-{escape(str(ch.dispute_id))}'>"
            f"{escape(str(ch.dispute_id)[:8])}</a></td>"
            f"<td>{ch.received_at.astimezone(zone):%Y-%m-%d}</td>"
            f"<td>{escape(ch.received_unit)}</td><td>{what}</td></tr>"
        )
    head = "<tr><th>dispute</th><th>received</th><th>unit</th><th>what differs</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _timelines(did: str, cur: list[TimelineRow], cand: list[TimelineRow], zone: ZoneInfo) -> str:
    def table(rows: list[TimelineRow]) -> str:
        body = "".join(
            f"<tr><td>{at.astimezone(zone):%Y-%m-%d %H:%M}</td><td>{escape(name)}</td>"
            f"<td>{escape(what)}</td><td>{'rule' if by_rule else 'fact'}</td></tr>"
            for at, name, what, by_rule in rows
        )
        return f"<table>{body}</table>"

    return (
        f"<h3 id='d-{escape(did)}'>{escape(did)}</h3>"
        f"<p>escalation history {escape(did)} shows the recorded events</p>"
        f"<div class='side'><div><b class='cur'>recorded</b>{table(cur)}</div>"
        f"<div><b class='cand'>candidate</b>{table(cand)}</div></div>"
    )
