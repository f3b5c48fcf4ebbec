"""The charts of the HTML reports have axes a reader can read: ticks, labels, gridlines.

Each page's SVG is parsed (not grepped): every tick label must sit on its
gridline, value ticks must be evenly spaced round numbers from 0, and every
bar must end where its value falls on that axis.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.audit.report import dispute_report
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES, T0, build_log, hours

ZONE = ZoneInfo("Asia/Shanghai")  # the small rule book's zone: ticks are local
NS = "{http://www.w3.org/2000/svg}"
runner = CliRunner(env={"COLUMNS": "200"})
NICE = {m * 10**k for m in (1, 2, 5) for k in range(7)}


def charts(page: str) -> list[ET.Element]:
    """The charts of a page (the legend's little marker samples are not charts)."""
    found = [ET.fromstring(m) for m in re.findall(r"<svg xmlns=.*?</svg>", page, re.DOTALL)]
    return [svg for svg in found if "chart" in (svg.get("class") or "").split()]


def of_class(svg: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in svg.iter(NS + tag) if cls in (e.get("class") or "").split()]


def num(e: ET.Element, attr: str) -> float:
    return float(e.get(attr) or "nan")


def value_ticks(labels: list[ET.Element], attr: str) -> list[tuple[float, int]]:
    """(position, value) of value-axis labels; checks 0, 1·2·5 steps, equal spacing."""
    ticks = sorted((num(t, attr), int((t.text or "").replace(",", ""))) for t in labels)
    values = sorted(v for _, v in ticks)
    assert values[0] == 0 and len(values) >= 2
    step = values[1] - values[0]
    assert step in NICE and values == list(range(0, values[-1] + 1, step))
    gaps = {round(abs(b[0] - a[0]), 0) for a, b in itertools.pairwise(ticks)}
    assert len(gaps) == 1, f"ticks not evenly spaced: {ticks}"
    return ticks


def check_bar_chart(svg: ET.Element) -> None:
    grid = of_class(svg, "line", "grid")
    ticks = value_ticks(of_class(svg, "text", "tick-label"), "x")
    assert sorted(num(g, "x1") for g in grid) == [x for x, _ in ticks]  # a gridline per tick
    assert all(num(g, "x1") == num(g, "x2") and num(g, "y2") > num(g, "y1") for g in grid)
    assert len(of_class(svg, "line", "tick")) == len(ticks)
    (x0, _), (x_top, v_top) = ticks[0], ticks[-1]
    bars = [
        (r, int((r.findtext(NS + "title") or "").replace(",", ""))) for r in svg.iter(NS + "rect")
    ]
    assert bars
    for rect, value in bars:  # each bar ends where its value is on the axis
        assert num(rect, "x") == x0
        assert abs(num(rect, "width") - (x_top - x0) * value / v_top) <= 0.1
    step = ticks[1][1]
    assert max(v for _, v in bars) > v_top - step or v_top == step  # the axis is not too long


def check_line_chart(svg: ET.Element) -> None:
    grid = of_class(svg, "line", "grid")
    labels = of_class(svg, "text", "tick-label")
    values = [t for t in labels if t.get("text-anchor") == "end"]  # the value axis, at left
    ticks = value_ticks(values, "y")
    assert sorted(num(g, "y1") for g in grid) == sorted(y - 3 for y, _ in ticks)  # text baseline
    bottom = max(num(g, "y1") for g in grid)
    zero = next(y for y, v in ticks if v == 0)
    assert zero - 3 == bottom  # 0 on the time axis
    times = [t for t in labels if t.get("text-anchor") == "middle"]
    marks = {num(t, "x1") for t in of_class(svg, "line", "tick") if num(t, "y1") == bottom}
    assert times and {num(t, "x") for t in times} <= marks  # a tick under each time label
    top = min(num(g, "y1") for g in grid)
    for line in svg.iter(NS + "polyline"):
        ys = [float(p.split(",")[1]) for p in (line.get("points") or "").split()]
        assert ys and all(top - 0.1 <= y <= bottom + 0.1 for y in ys)


def test_the_audit_timeline_has_day_ticks_on_gridlines(engine: EscalationEngine) -> None:
    ids = build_log(engine)
    (svg,) = charts(dispute_report(engine, ids["stepwise"]))
    grid = of_class(svg, "line", "grid")
    labels = of_class(svg, "text", "tick-label")
    assert len(labels) >= 2 and len(grid) == len(labels) == len(of_class(svg, "line", "tick"))
    xs = [num(t, "x") for t in labels]
    assert xs == sorted(xs) and xs == [num(g, "x1") for g in grid]
    lanes = [r for r in svg.iter(NS + "rect") if r.get("height") == "56"]
    top = min(num(r, "y") for r in lanes)
    bottom = max(num(r, "y") + 56 for r in lanes)
    assert all((num(g, "y1"), num(g, "y2")) == (top, bottom) for g in grid)  # across every lane
    form = "%Y-%m-%d %H:%M" if " " in (labels[0].text or "") else "%Y-%m-%d"
    times = [datetime.strptime(f"2026-{t.text}", form).replace(tzinfo=ZONE) for t in labels]
    steps = {b - a for a, b in itertools.pairwise(times)}
    assert len(steps) == 1 and steps.pop() >= timedelta(hours=1)  # whole hours, one step apart
    assert all(t.minute == 0 for t in times)


def test_the_period_report_and_a_review_draw_axes(
    engine: EscalationEngine, db_url: str, tmp_path: Path
) -> None:
    build_log(engine)
    engine.catch_up()
    rules = tmp_path / "small.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    out = tmp_path / "period.html"
    common = ["--db", db_url, "--rules", str(rules)]
    result = runner.invoke(app, ["report", "--period", "2026-03", "--html", str(out), *common])
    assert result.exit_code == 0, result.output
    period = out.read_text(encoding="utf-8")
    assert "Funnel: 社区 → 街道 → 区" in period and "reached 社区" in period  # labels
    funnel, backlog = charts(period)
    check_bar_chart(funnel)
    check_line_chart(backlog)
    reviews = tmp_path / "reviews"
    result = runner.invoke(
        app, ["review", "monthly", "--period", "2026-03", "--out", str(reviews), *common]
    )
    assert result.exit_code == 0, result.output
    (page,) = reviews.glob("*.html")
    drawn = charts(page.read_text(encoding="utf-8"))
    assert len(drawn) >= 4
    for svg in drawn:
        lines = next(svg.iter(NS + "polyline"), None) is not None
        (check_line_chart if lines else check_bar_chart)(svg)


def test_the_whatif_charts_draw_axes(small_rules: RuleBook, db_url: str, tmp_path: Path) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        for n in range(4):
            did = engine.receive(
                unit="c11", category="family", source="walk_in", summary="x", received_at=T0
            )
            engine.mediate(did, outcome="partial", mediator="m", at=T0 + hours(30 + n))
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(
        SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day"), encoding="utf-8"
    )
    out = tmp_path / "whatif.html"
    result = runner.invoke(
        app, ["simulate", "--rules", str(shorter), "--db", db_url, "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    funnel, *weekly = charts(out.read_text(encoding="utf-8"))
    check_bar_chart(funnel)
    assert weekly
    for svg in weekly:
        check_line_chart(svg)
