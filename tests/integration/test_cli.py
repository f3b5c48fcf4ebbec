"""The command line, run in-process with typer's runner on real SQLite files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalation.application.periods import Period
from escalation.entrypoints.cli import app
from escalation.errors import EscalationError, InvalidInput
from tests.helpers import SMALL_RULES

runner = CliRunner(env={"COLUMNS": "250"})


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(SMALL_RULES, encoding="utf-8")
    return path


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_runs_a_small_month_and_shows_queues_and_figures(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'escalation-demo.db'}"
    out = run("demo", "--db", db, "--days", "4", "--per-day", "15")
    assert "queue at 社区" in out and "queue at 区" in out
    received = int(re.search(r"received 登记受理\s*│\s*(\d+)", out).group(1))  # type: ignore[union-attr]
    assert received > 30
    # Running it again makes the store fresh rather than adding to it.
    again = run("demo", "--db", db, "--days", "4", "--per-day", "15")
    assert re.search(rf"received 登记受理\s*│\s*{received}\b", again)


def test_demo_refuses_to_overwrite_another_store(tmp_path: Path) -> None:
    other = tmp_path / "precious.db"
    other.write_bytes(b"")
    result = runner.invoke(app, ["demo", "--db", f"sqlite:///{other}", "--days", "1"])
    assert result.exit_code != 0
    assert other.exists()


def test_rules_check_reports_line_and_key(tmp_path: Path, rules_file: Path) -> None:
    assert "ok" in run("rules", "check", str(rules_file))
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_RULES.replace("handle_within: 4 days", "handle_within: 4 fortnights"))
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code != 0
    line = SMALL_RULES.splitlines().index("    handle_within: 4 days") + 1
    assert f"bad.yaml:{line}" in str(result.exception) + result.output
    assert "tiers[1].handle_within" in str(result.exception) + result.output


def test_commands_queue_history_and_reports(tmp_path: Path, rules_file: Path, db_url: str) -> None:
    common = ["--db", db_url, "--rules", str(rules_file)]
    out = run(
        "receive",
        "--unit",
        "c11",
        "--category",
        "family",
        "--source",
        "walk_in",
        "--summary",
        "neighbours",
        "--at",
        "2026-03-02T09:00:00+0800",
        *common,
    )
    dispute = out.split()[0]
    run(
        "mediate",
        dispute,
        "--outcome",
        "failed",
        "--mediator",
        "m",
        "--at",
        "2026-03-02T10:00:00+0800",
        *common,
    )
    run(
        "mediate",
        dispute,
        "--outcome",
        "failed",
        "--mediator",
        "m",
        "--at",
        "2026-03-02T11:00:00+0800",
        *common,
    )
    assert "s1" in run("get", dispute, *common)
    history = run("history", dispute, *common)
    assert "Escalated" in history and "community/max_mediation_attempts" in history
    assert dispute[:8] in run("queue", "s1", *common)
    past = run("queue", "c11", "--as-of", "2026-03-02T09:30:00+08:00", *common)
    assert "1 open" in past
    assert "queue Community 1-1 (c11): 0 open" in run("queue", "c11", *common)  # name and code
    assert "rebuilt from" in run("rebuild", *common)
    html = tmp_path / "r.html"
    report = run("report", "--period", "2026-03", "--html", str(html), *common)
    assert re.search(r"escalated stepwise 逐级上报\s*│\s*1\b", report)
    assert "<svg" in html.read_text(encoding="utf-8")
    one = tmp_path / "one.html"
    run("report", "--dispute", dispute, "--html", str(one), *common)
    page = one.read_text(encoding="utf-8")
    assert "<svg" in page and "Escalated" in page


def test_errors_are_one_line_and_exit_2(rules_file: Path, db_url: str) -> None:
    common = ["--db", db_url, "--rules", str(rules_file)]
    import sys

    from escalation.entrypoints.cli import main

    argv = sys.argv
    sys.argv = ["escalation", "get", "00000000-0000-0000-0000-000000000001", *common]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-09-03", "2026-09-03", "2026-09-03"),
        ("2026-09", "2026-09-01", "2026-09-30"),
        ("2026-12", "2026-12-01", "2026-12-31"),
        ("2026-W37", "2026-09-07", "2026-09-13"),
        ("2026-Q4", "2026-10-01", "2026-12-31"),
        ("2026-09-01..2026-09-15", "2026-09-01", "2026-09-15"),
    ],
)
def test_periods(text: str, first: str, last: str) -> None:
    period = Period.parse(text)
    assert (str(period.first), str(period.last)) == (first, last)


def test_bad_periods_are_clear() -> None:
    with pytest.raises(InvalidInput, match="not understood"):
        Period.parse("September")
    with pytest.raises(InvalidInput, match="before it starts"):
        Period.parse("2026-09-10..2026-09-01")


@pytest.mark.parametrize("text", ["0001-01", "9999-12", "9999-12-31", "1999-12-31..2026-01-01"])
def test_periods_beyond_the_engines_times_are_refused_not_overflowed(text: str) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("tick", "--at", "9999-12-31"), "out of range"),
        (("figures", "--period", "0001-01"), "out of range"),
        (("papers", "--unit", "c11", "--date", "9999-12-31"), "out of range"),
        (("queue", "--as-of", "9999-12-31"), "--as-of"),
    ],
)
def test_far_dates_on_the_command_line_are_one_clear_error(
    tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'far.db'}"
    result = CliRunner().invoke(app, [*args, "--db", db, "--rules", str(rules)])
    # One EscalationError, which `escalation` prints as one line (not an OverflowError).
    assert isinstance(result.exception, EscalationError)
    assert words in str(result.exception)
