"""The HTML audit report of one dispute: self-contained, chart and table agree with the log."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

from escalation import EscalationEngine, RuleBook
from escalation.application.audit import timeline, verify_dispute
from escalation.application.audit.html import render_dispute_report
from escalation.application.audit.report import dispute_report
from tests.helpers import T0, Log, build_log, hours

ZONE = ZoneInfo("Asia/Shanghai")


def test_the_report_is_self_contained_and_shows_every_event(engine: EscalationEngine) -> None:
    ids = build_log(engine)
    html = dispute_report(engine, ids["stepwise"])
    history = engine.history(ids["stepwise"])
    # No scripts, stylesheets, images or fonts from elsewhere.
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", html)
    assert re.findall(r"https?://[^\s\"']+", html) == ["http://www.w3.org/2000/svg"]
    # One marker (with its tooltip) per event, one table row per event.
    assert html.count("<g><title>v") == len(history)
    assert html.count("<tr><td>") == len(history)
    for tier in engine.rules.tiers:  # a lane per tier, named as people read it
        assert f">{engine.rules.label('tiers', tier)}</text>" in html
    assert ">社区</text>" in html
    assert "Hash chain verified" in html
    assert "community/max_mediation_attempts" in html  # the rule behind the escalation
    assert "Street One" in html  # unit names from the rule book


def test_the_path_climbs_the_lanes_as_the_dispute_is_escalated(
    engine: EscalationEngine,
) -> None:
    did = engine.receive(
        unit="c11", category="family", source="walk_in", summary="x", received_at=T0
    )
    engine.escalate(did, reason="asked", actor="clerk", at=T0 + hours(1))
    engine.escalate(did, reason="asked again", actor="clerk", at=T0 + hours(2))
    entries = timeline(engine, did)
    html = render_dispute_report(entries, tiers=engine.rules.tiers, zone=ZONE)
    path = re.search(r'<path d="(M[^"]+)" fill="none"', html)
    assert path is not None
    ys = [float(y) for y in re.findall(r"[ML][\d.]+,([\d.]+)", path.group(1))]
    # Lanes: district on top (smallest y), community at the bottom.
    assert ys[0] > ys[-1] and sorted(set(ys), reverse=True) == list(dict.fromkeys(ys))
    assert len(set(ys)) == 3


def test_text_from_the_log_is_escaped(engine: EscalationEngine) -> None:
    did = engine.receive(
        unit="c11",
        category="family",
        source="walk_in",
        summary="<script>alert(1)</script> & co",
        received_at=T0,
    )
    html = dispute_report(engine, did)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_a_broken_chain_is_shown_in_the_report(small_rules: RuleBook, tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        log = Log(engine, path, build_log(engine))
        log.edit("reopened", 2, lambda s: s.update(actor="nobody"))
        entries = timeline(engine, log.ids["reopened"])
        html = render_dispute_report(
            entries,
            tiers=engine.rules.tiers,
            zone=ZONE,
            chain=verify_dispute(engine, log.ids["reopened"]),
        )
        assert "does NOT verify" in html and "version 2" in html


def test_the_what_column_is_in_labels_and_local_time_while_exports_keep_codes(
    engine: EscalationEngine,
) -> None:
    ids = build_log(engine)
    html = dispute_report(engine, ids["stepwise"])
    assert (
        "邻里纠纷 from 群众来访 at 社区 c11" in html
    )  # category, source, tier as people read them
    assert "mediation 调解未成 at 社区 c11" in html
    assert "neighbour from walk_in" not in html
    exported = timeline(engine, ids["stepwise"])  # for JSON and CSV: the codes
    assert exported[0].what.startswith("neighbour from walk_in at community c11")
