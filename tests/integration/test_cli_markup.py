"""Text from people and names from a rule book are printed as text, never read as markup.

Rich reads ``[/red]`` as a closing tag and raises ``MarkupError`` when nothing
is open; every command that prints such text must print it literally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from escalation import RuleBook
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES

runner = CliRunner(env={"COLUMNS": "250"})

TIER = "com[/red]munity"
UNIT = "c11[/x]"
NAME = "[/]Street [bold]One"
CATEGORY = "fam[/]ily"
SUMMARY = "[/red] leaking [red]roof[/] [/x]"
REASON = "[bold]not paid[/bold] [/]"


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {_swap(k, old, new): _swap(v, old, new) for k, v in value.items()}
    return value


def markup_rules() -> str:
    data = yaml.safe_load(SMALL_RULES)
    for old, new in (
        ("community", TIER),
        ("c11", UNIT),
        ("Street One", NAME),
        ("family", CATEGORY),
    ):
        data = _swap(data, old, new)
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_prints_markup_in_data_literally(tmp_path: Path, db_url: str) -> None:
    text = markup_rules()
    book = RuleBook.from_yaml(text, source="markup.yaml")
    assert TIER in book.tiers
    rules_file = tmp_path / "markup.yaml"
    rules_file.write_text(text, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules_file)]
    out = run(
        "receive",
        *("--unit", UNIT, "--category", CATEGORY, "--source", "walk_in"),
        *("--summary", SUMMARY, "--claim", "[/claim]", "--at", "2026-03-02T09:00:00+0800"),
        *common,
    )
    dispute = out.split()[0]
    assert UNIT in out and TIER in out
    for n in (10, 11):
        run(
            "mediate",
            dispute,
            *("--outcome", "failed", "--mediator", "[/m]", "--at", f"2026-03-02T{n}:00:00+0800"),
            *common,
        )
    other = run(
        "receive",
        *("--unit", UNIT, "--category", CATEGORY, "--source", "walk_in"),
        *("--summary", "[/]", "--at", "2026-03-02T09:30:00+0800"),
        *common,
    ).split()[0]
    run("close", other, "--outcome", "agreement", "--actor", "[/a]", *common)
    run("reopen", other, "--reason", REASON, "--actor", "[/r]", *common)

    assert "s1" in run("get", dispute, *common)
    history = run("history", dispute, *common)
    assert "[/m]" in history and "Escalated" in history
    reopened = run("history", other, *common)
    assert REASON in reopened and "[/a]" in reopened and "[/r]" in reopened
    assert UNIT in run("queue", UNIT, *common)
    assert TIER in run("queue", "--tier", TIER, *common)
    audit = run("audit", other, *common)
    assert REASON in audit and "[/a]" in audit
    report = run("report", "--period", "2026-03", *common)
    assert f"at {TIER}" in report and UNIT in report
    assert TIER in run("rules", "check", str(rules_file))
    assert TIER in run("rules", "show", book.version, *common[:2])
    shorter = tmp_path / "shorter[red].yaml"
    shorter.write_text(text.replace("2 days", "1 day"), encoding="utf-8")
    simulated = run("simulate", "--rules", str(shorter), *common[:2])
    assert "shorter[red].yaml" in simulated
    one = run("simulate", "--rules", str(shorter), *common[:2], "--dispute", dispute)
    assert TIER in one
    export = run("export", "--what", "timeline", "--dispute", other, *common)
    assert "[/a]" in export
    run("rules", "activate", str(shorter), "--by", "[/by]", "--note", "[/note]", *common[:2])
    history_of_rules = run("rules", "history", *common[:2])
    assert "[/by]" in history_of_rules and "[/note]" in history_of_rules


def test_import_prints_file_names_and_bad_lines_literally(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SMALL_RULES, encoding="utf-8")
    history = tmp_path / "[bold]history[x].jsonl"
    record = (
        '{"unit": "c1[/x]", "category": "family", "source": "walk_in", "summary": "[/]",'
        ' "received_at": "2026-03-02T09:00:00+08:00", "request_id": "[/id]", "facts": []}'
    )
    history.write_text(f"{record}\n{{[/red]\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    out = run("import", str(history), "--db", db, "--rules", str(rules_file), "--skip-invalid")
    assert "2 lines left out" in out
    # A value that is not code-like is not echoed at all (it may be personal data).
    assert "unknown unit (a value not shown" in out
