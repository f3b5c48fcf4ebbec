"""``escalation verify | audit | export``, in-process, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES, T0, Log, build_log

runner = CliRunner(env={"COLUMNS": "250"})


@pytest.fixture
def log(small_rules: RuleBook, tmp_path: Path) -> Iterator[Log]:
    path = tmp_path / "cli.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        yield Log(engine, path, build_log(engine))


def cli(log: Log, *args: str, code: int = 0) -> str:
    rules = log.path.with_suffix(".yaml")
    rules.write_text(SMALL_RULES, encoding="utf-8")
    result = runner.invoke(
        app, [*args, "--db", f"sqlite:///{log.path}", "--rules", str(rules)], catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result.output


def test_verify_passes_a_clean_log_and_prints_its_digest(log: Log) -> None:
    out = cli(log, "verify")
    assert "ok: every hash chain, head and checkpoint matches" in out
    assert re.search(r"log digest: \d+:[0-9a-f]{64}", out)


def test_verify_exits_non_zero_and_names_the_dispute_and_version(log: Log) -> None:
    log.edit("stepwise", 4, lambda s: s.update(note="paid"))
    out = cli(log, "verify", code=1)
    assert re.search(rf"altered\s+dispute {log.ids['stepwise']}\s+version 4\b", out)
    assert "digest" in out and "findings" in out


def test_a_noted_digest_catches_an_edit_even_after_the_audit_record_is_rebuilt(
    log: Log,
) -> None:
    noted = re.search(r"log digest: (\d+:[0-9a-f]{64})", cli(log, "verify"))
    assert noted is not None
    cli(log, "verify", "--expect", noted.group(1))
    # Someone edits the last event, recomputes every seal and the log head, and
    # rebuilds the audit projection to cover it: the store vouches for itself...
    log.edit("reopened", log.versions("reopened"), lambda s: s.update(outcome="withdrawn"))
    assert "altered" in cli(log, "verify", code=1)  # (the edit alone is caught)
    log.reseal()
    log.engine.rebuild("audit")
    assert "ok:" in cli(log, "verify")
    out = cli(log, "verify", "--expect", noted.group(1), code=1)  # ...the noted digest was not
    assert "noted outside the database" in out


def test_audit_shows_rules_reasons_and_a_verified_chain(log: Log) -> None:
    out = cli(log, "audit", str(log.ids["deadline"]))
    assert "community/handle_within" in out  # the deadline escalation's rule
    assert log.engine.rules.version in out
    assert "time limit at community c21" in out  # why that day
    assert "community/notices/reminder" in out
    assert "chain verified" in out


def test_audit_reports_a_broken_chain_and_exits_non_zero(log: Log) -> None:
    log.delete("deadline", 3)
    out = cli(log, "audit", str(log.ids["deadline"]), code=1)
    assert "does NOT verify" in out and "version 3 missing" in out


def test_audit_writes_the_html_report(log: Log, tmp_path: Path) -> None:
    out_file = tmp_path / "report.html"
    cli(log, "audit", str(log.ids["stepwise"]), "--html", str(out_file))
    html = out_file.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<svg" in html
    assert "Hash chain verified" in html


def test_export_csv_to_a_file_and_jsonl_to_stdout(log: Log, tmp_path: Path) -> None:
    total = sum(log.versions(n) for n in log.ids)
    out_file = tmp_path / "events.csv"
    cli(log, "export", "--format", "csv", "--out", str(out_file))
    with out_file.open(encoding="utf-8", newline="") as f:
        assert len(list(csv.DictReader(f))) == total
    lines = [x for x in cli(log, "export").splitlines() if x.startswith("{")]
    assert len(lines) == total
    timeline = cli(log, "export", "--what", "timeline", "--dispute", str(log.ids["elevated"]))
    rows = [json.loads(x) for x in timeline.splitlines() if x.startswith("{")]
    assert {r["dispute_id"] for r in rows} == {str(log.ids["elevated"])}
    queue = cli(log, "export", "--what", "queue", "--format", "csv", "--tier", "district")
    reader = csv.DictReader(io.StringIO(queue[queue.index("dispute_id") :]))
    assert str(log.ids["elevated"]) in {r["dispute_id"] for r in reader}
