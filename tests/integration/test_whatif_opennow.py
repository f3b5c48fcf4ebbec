"""``simulate --open-now``: the candidate's effect on today's open disputes."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.whatif.open_disputes import OpenNow, forecast
from escalation.bootstrap import open_log
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES, T0, hours

runner = CliRunner()
SHORTER_TEXT = SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day")


def history(db_url: str) -> tuple[UUID, UUID]:
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        first = engine.receive(
            unit="c11", category="family", source="walk_in", summary="a", received_at=T0
        )
        crowd = engine.receive(
            unit="c12", category="family", source="walk_in", summary="b", parties=12, received_at=T0
        )
        done = engine.receive(
            unit="c21", category="family", source="walk_in", summary="c", received_at=T0
        )
        engine.mediate(done, outcome="resolved", mediator="m", at=T0 + hours(1))
        engine.follow_up(done, outcome="settled", actor="v", at=T0 + hours(2))
    return first, crowd


def run(db_url: str, in_flight: str) -> OpenNow:
    store = open_log(db_url)
    try:
        return forecast(
            store,
            RuleBook.from_yaml(SMALL_RULES),
            RuleBook.from_yaml(SHORTER_TEXT),
            now=T0 + hours(20),
            until=T0 + hours(92),
            in_flight=in_flight,
        )
    finally:
        store.close()


def test_keeping_deadlines_a_shorter_limit_changes_no_open_visit(db_url: str) -> None:
    history(db_url)
    result = run(db_url, "keep")
    assert result.open == 2  # the closed one is not forecast
    assert result.changed == 0 and result.forecasts == []
    assert result.disputes[("current", "escalated")] == 1  # c11's 2-day limit passes at 48h
    assert result.disputes[("candidate", "escalated")] == 1


def test_adopting_the_limit_escalates_sooner_and_notices_at_once(db_url: str) -> None:
    first, _ = history(db_url)
    result = run(db_url, "adopt")
    assert result.changed == 1
    [f] = result.forecasts
    assert f.dispute_id == first and (f.unit, f.tier) == ("c11", "community")
    cur = [(u.kind, (u.at - T0) / hours(1)) for u in f.current]
    cand = [(u.kind, (u.at - T0) / hours(1)) for u in f.candidate]
    assert cur == [("notice", 24), ("notice", 36), ("escalated", 48), ("routed", 48)]
    # By hand: the 1-day visit's reminder (12h) and warning (18h) have passed at
    # 20h, so they go out as it goes live; the limit passes at 24h; the street's
    # prompt falls at half its 4 days, 72h.
    assert cand == [
        ("rules", 20),
        ("notice", 20),
        ("notice", 20),
        ("escalated", 24),
        ("routed", 24),
        ("notice", 72),
    ]
    assert result.at_once[("candidate", "notice")] == 1
    assert result.at_once[("current", "notice")] == 0


def test_cli_open_now_uses_the_active_rules_as_current(db_url: str, tmp_path: Path) -> None:
    history(db_url)
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(SHORTER_TEXT, encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--rules",
            str(shorter),
            "--db",
            db_url,
            "--open-now",
            "--in-flight",
            "adopt",
            "--at",
            "2026-03-02T21:00+00:00",
            "--days",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "over the 2 open disputes" in result.output
    assert "open disputes handled differently" in result.output
