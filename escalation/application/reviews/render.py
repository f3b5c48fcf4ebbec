"""Rendering a review: the tables once, then as Markdown and as HTML with inline SVG charts.

A review names disputes by id, unit and category only: no summaries and no
parties. The location of a location cluster is shown, since it is the finding.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from escalation.application.figures_report import (
    TIER_COLOURS,
    Labeller,
    backlog_chart,
    bar_rows,
    code,
    figures_rows,
    funnel_chart,
    pct,
)
from escalation.application.html_pages import render
from escalation.application.reviews.model import Review
from escalation.policies.rulebook import NOTICE_NAMES


class _Text:
    """Local-time and number formatting shared by both renderings."""

    def __init__(self, review: Review) -> None:
        self.zone = ZoneInfo(review.timezone)

    def when(self, value: datetime | None) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if value else "-"


def _share(part: int, whole: int) -> str:
    return pct(part / whole if whole else None)


def _sections(
    r: Review, label: Labeller = code
) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(heading, intro, header, rows) of every table, shared by Markdown and HTML."""
    f, t = r.figures, _Text(r)
    tables: list[tuple[str, str, list[str], list[list[str]]]] = []
    tables.append(
        ("Key figures", "", ["figure", "value"], [list(row) for row in figures_rows(f, label)])
    )
    tables.append(
        (
            "Intake by source 来源",
            "",
            ["source", "received", "share"],
            [
                [label("sources", s), str(n), _share(n, f.received)]
                for s, n in f.received_by_source.most_common()
            ],
        )
    )
    tables.append(
        (
            "Intake by category 类型",
            "",
            ["category", "received", "share"],
            [
                [label("categories", c), str(n), _share(n, f.received)]
                for c, n in f.received_by_category.most_common()
            ],
        )
    )
    tables.append(
        (
            "Funnel " + " → ".join(label("tiers", x) for x in f.tiers),
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
                    label("tiers", tier),
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
            (
                "化解率: resolved at the unit over its closures (not declined) and what it "
                "escalated out; on time: tier visits that ended at the unit (closed or "
                "escalated out) within its own time limit; overdue: open past the deadline "
                "at the close."
            ),
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
                    label("tiers", u.tier),
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
                    label("tiers", c.tier),
                    label("categories", c.category),
                    label("risks", c.risk),
                    t.when(c.due_at),
                    f"{c.overdue_days:.1f}" if c.overdue_days is not None else "-",
                    ", ".join(_notice(n, label) for n in c.notices) or "-",
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
                    label("tiers", c.tier),
                    label("categories", c.category),
                    t.when(c.received_at),
                    t.when(c.due_at) + (" (overdue)" if c.overdue_days is not None else ""),
                    "yes" if c.elevated else "no",
                    label("departments", c.department) if c.department else "-",
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
            [[_notice(k, label), str(f.notices[k])] for k in kinds],
        )
    )
    ranked = sorted(r.notices_by_unit.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    tables.append(
        (
            "Notices by unit",
            "",
            ["unit", "name", *(_notice(k, label) for k in NOTICE_NAMES), "total"],
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
            (
                f"At least {s.min_cluster} disputes of one category at the same "
                f"{' or the same '.join(s.by)} within {_span(s.window)}, the latest in the period"
                + (
                    f", through at least {s.min_sources} channels (sources). "
                    if s.min_sources > 1
                    else ". "
                )
                + "Each is flagged for class governance (类案治理): look for the common cause."
            ),
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
                "sources",
            ],
            [
                [
                    str(n),
                    label("categories", w.category),
                    w.by,
                    f"{w.key} {r.unit_names.get(w.key, '')}".strip() if w.by == "unit" else w.key,
                    str(w.size),
                    str(w.peak),
                    t.when(w.first),
                    t.when(w.last),
                    str(w.open),
                    ", ".join(w.units),
                    ", ".join(label("sources", x) for x in w.sources),
                ]
                for n, w in enumerate(r.weak_signals, 1)
            ],
        )
    )
    return tables


def _notice(kind: str, label: Labeller) -> str:
    """A notice as people read it; with codes shown, the code and its Chinese name."""
    name = label("notices", kind)
    return name if name != kind else f"{kind} {NOTICE_NAMES.get(kind, '')}".strip()


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


def render_markdown(r: Review, label: Labeller = code) -> str:
    out = [f"# {r.title}", "", _header(r), ""]
    for heading, intro, header, rows in _sections(r, label):
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


def render_html(r: Review, label: Labeller = code) -> str:
    f = r.figures
    funnel = "Funnel " + " → ".join(label("tiers", x) for x in f.tiers)
    charts = {
        "Intake by source 来源": bar_rows(
            [(label("sources", k), n) for k, n in f.received_by_source.most_common()]
        ),
        "Intake by category 类型": bar_rows(
            [(label("categories", k), n) for k, n in f.received_by_category.most_common()],
            colour="#2f855a",
        ),
        funnel: funnel_chart(f, label=label),
        f"Notices issued ({sum(f.notices.values())})": bar_rows(
            [(label("notices", k), f.notices[k]) for k in NOTICE_NAMES if f.notices[k]],
            colour=TIER_COLOURS[2],
        ),
    }
    sections = [
        (heading, intro, header, rows, charts.get(heading) if rows else None)
        for heading, intro, header, rows in _sections(r, label)
    ]
    backlog = backlog_chart(r.days, r.backlog, f.tiers, label=label) if r.days else None
    return render(
        "review.html.j2", title=r.title, header=_header(r), sections=sections, backlog=backlog
    )
