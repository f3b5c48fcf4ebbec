"""What people read in the CLI: labels, not codes; hints for a store whose clock stopped.

Run in-process at 80 columns on real SQLite files: the labels of the rule book
in human output (``--json`` keeps the codes), the ``--as-of`` hint of ``queue``,
the demo's next commands, and ``simulate``'s warning about missing ticks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES, T0, hours
from tests.integration.test_whatif_opennow import SHORTER_TEXT
from tests.integration.test_whatif_opennow import history as opennow_history

runner = CliRunner(env={"COLUMNS": "80"})
HINT = "hint: overdue is judged against today"


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def widest(out: str) -> int:
    return max(cell_len(line.rstrip()) for line in out.splitlines())


@pytest.fixture
def common(tmp_path: Path, db_url: str) -> list[str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    return ["--db", db_url, "--rules", str(rules)]


def receive(common: list[str], *at: str) -> str:
    return run(
        "receive",
        *("--unit", "c11", "--category", "family", "--source", "walk_in", "--summary", "x"),
        *at,
        "--quiet",
        *common,
    ).strip()


def test_history_reads_labels_and_json_keeps_codes(common: list[str]) -> None:
    dispute = receive(common, "--at", "2026-03-02T09:00:00+0800")
    run("supervise", dispute, "--notice", "warning", "--actor", "lead", "--reason", "slow", *common)
    out = run("history", dispute, *common)
    assert "婚姻家事纠纷 from 群众来访 at 社区 c11" in out
    assert "预警函 at 社区 c11" in out
    assert "family from walk_in" not in out
    lines = run("history", dispute, "--json", *common)
    events = [json.loads(line) for line in lines.splitlines()]
    assert events[0]["category"] == "family" and events[0]["source"] == "walk_in"
    assert "婚姻家事纠纷" not in lines and "群众来访" not in lines
    assert widest(out) <= 80


def test_queue_of_a_stale_store_offers_its_last_day(common: list[str]) -> None:
    receive(common, "--at", "2026-03-02T09:00:00+0800")
    out = run("queue", *common)
    assert f"{HINT}; the store's last day: --as-of 2026-03-02" in out
    assert widest(out) <= 80
    assert HINT not in run("queue", "--as-of", "2026-03-02", *common)
    as_json = run("queue", "--json", *common)
    assert HINT not in as_json
    item = json.loads(as_json.splitlines()[0])
    assert (item["category"], item["tier"]) == ("family", "community")  # codes for scripts
    assert "婚姻家事纠纷" in out and "社区" in out  # labels for people


def test_follow_ups_of_a_stale_store_name_its_last_day(common: list[str]) -> None:
    dispute = receive(common, "--at", "2026-03-02T09:00:00+0800")
    at = ("--at", "2026-03-02T10:00:00+0800")
    run("mediate", dispute, "--outcome", "resolved", "--mediator", "m", *at, *common)
    out = run("follow-ups", *common)
    assert "1 settled" in out
    assert f"{HINT}; the store's last event is of 2026-03-02" in out
    assert widest(out) <= 80


def test_queue_of_a_store_in_use_gives_no_hint(common: list[str]) -> None:
    receive(common)  # now
    out = run("queue", *common)
    assert "1 open" in out and HINT not in out


def test_demo_names_its_store_and_the_commands_that_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's default store, as a new user runs it
    out = run("demo", "--days", "3", "--per-day", "10", "--seed", "7")
    assert widest(out) <= 80
    db = "sqlite:///escalation-demo.db"
    assert f"the demo's store is {db} (other commands default to" in out
    queue_line = f"  escalation queue --db {db} --as-of 2026-09-03"
    history_line = re.search(rf"  escalation history ([0-9a-f]{{8}}) --db {db}\n", out)
    assert queue_line + "\n" in out and history_line is not None
    assert f"export ESCALATION_DB={db}" in out
    assert "queue at 社区" in out and "at 社区" in out  # labels, not tier codes
    # The commands it prints work as printed and fit 80 columns.
    queue = run(*queue_line.split()[1:])
    assert "as it stood at 2026-09-03 23:59" in queue and HINT not in queue
    assert widest(queue) <= 80
    history = run("history", history_line.group(1), "--db", db)
    assert f"history of {history_line.group(1)}" in history and "Received" in history
    assert widest(history) <= 80
    # Without --as-of, queue says what "overdue" is judged against and what to add.
    assert "--as-of 2026-09-03" in run("queue", "--db", db)


def test_simulate_warns_when_the_store_was_not_ticked_to_the_horizon(tmp_path: Path) -> None:
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    db = f"sqlite:///{tmp_path / 'small.db'}"
    with EscalationEngine(small, url=db, clock=lambda: T0 + hours(30)) as engine:
        for at in (T0, T0 + hours(30)):
            engine.receive(
                unit="c11", category="family", source="walk_in", summary="x", received_at=at
            )
        # The first one's reminder fell due at T0 + 24h: nobody ticked since.
        engine.projections.catch_up()
    candidate = tmp_path / "same.yaml"
    candidate.write_text(SMALL_RULES, encoding="utf-8")
    args = ["simulate", "--rules", str(candidate), "--db", db]
    out = run(*args)
    warning = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1
    assert "not ticked up to the horizon (1 open dispute with actions due" in warning[0]
    assert f"run `escalation tick --at 2026-03-03T15:00:00 --db {db}` first" in warning[0]
    with EscalationEngine(small, url=db, clock=lambda: T0 + hours(30)) as engine:
        engine.tick(T0 + hours(30))
        engine.projections.catch_up()
    assert "warning:" not in run(*args)


def test_open_now_table_says_what_changes_per_dispute_at_80_columns(
    db_url: str, tmp_path: Path
) -> None:
    first, _ = opennow_history(db_url)
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(SHORTER_TEXT, encoding="utf-8")
    out = run(
        *("simulate", "--rules", str(shorter), "--db", db_url, "--open-now"),
        *("--in-flight", "adopt", "--at", "2026-03-02T21:00+00:00", "--days", "3"),
    )
    assert widest(out) <= 80
    assert f"{first}  社区 c11  due 2026-03-04 09:00" in out.splitlines()  # the whole id
    rows = [line.split() for line in out.splitlines() if line.startswith("    ")]
    # Before → after for each decision that changes: the reminder goes out at once.
    assert rows[0][:8] == ["notice", "03-03", "09:00", "催办函", "at", "社区", "c11", "→"]
    assert rows[0][8:10] == ["03-03", "05:00"]
    # The street's prompt only the candidate sends: "none" before.
    assert any(r[:3] == ["notice", "none", "→"] and "提示函" in r for r in rows)
    assert "reminder notice" not in out and "community c11" not in out
