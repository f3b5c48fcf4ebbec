"""The casework commands (吹哨报到, 领导包保, 研判) on the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalation.entrypoints.cli import app
from escalation.errors import IllegalTransition
from tests.helpers import CASEWORK_RULES

runner = CliRunner(env={"COLUMNS": "250"})


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_summon_check_in_report_leader_assess_and_figures(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(CASEWORK_RULES, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules)]
    at = "--at"
    out = run(
        "receive",
        *("--unit", "c11", "--category", "wage_arrears", "--source", "walk_in"),
        *("--summary", "欠薪", at, "2026-03-02T09:00:00+0800"),
        *common,
    )
    dispute = out.split()[0]
    run(
        "summon",
        dispute,
        *("--lead", "human_resources_bureau", "--participant", "court", "--actor", "desk"),
        *(at, "2026-03-02T10:00:00+0800"),
        *common,
    )
    run(
        "check-in",
        dispute,
        *("--department", "court", "--actor", "court/li", at, "2026-03-02T11:00:00+0800"),
        *common,
    )
    run(
        "report-progress",
        dispute,
        *("--department", "court", "--note", "立案", "--actor", "court/li"),
        *(at, "2026-03-02T12:00:00+0800"),
        *common,
    )
    run(
        "assess",
        dispute,
        *("--level", "high", "--reason", "聚集", "--actor", "analyst"),
        *(at, "2026-03-02T13:00:00+0800"),
        *common,
    )
    run(
        "assign-leader",
        dispute,
        *("--leader", "wang", "--plan", "一案一策", "--actor", "desk"),
        *(at, "2026-03-02T14:00:00+0800"),
        *common,
    )
    history = run("history", dispute, *common)
    for name in ("Summoned", "CheckedIn", "ProgressReported", "Assessed", "LeaderAssigned"):
        assert name in history
    assert "聚集" in history  # the person's reason is in the why-trail
    # People read the departments' names; the codes stay in --json.
    assert "summoned 人社局 (lead) with 法院" in history
    assert "1 open" in run("queue", "--department", "court", *common)
    figures = run("departments", "--period", "2026-03", *common)
    assert re.search(r"│ 法院\s*│\s*1\s*│\s*0\s*│\s*1\s*│\s*1\s*│\s*100%", figures)
    assert "court" not in figures
    decided = run(
        "review-decide",
        dispute,
        *("--review", "weekly 2026-W10", "--decision", "supervision", "--note", "督办"),
        *("--actor", "weekly-meeting", at, "2026-03-02T15:00:00+0800"),
        *common,
    )
    assert "supervision recorded" in decided
    assert "weekly 2026-W10: supervision" in run("history", dispute, *common)
    with pytest.raises(IllegalTransition):
        runner.invoke(
            app,
            ["close", dispute, "--outcome", "agreement", "--actor", "court/li", *common],
            catch_exceptions=False,
        )
