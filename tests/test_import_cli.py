"""``escalation import``: a JSON Lines history, with its bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.cli import app
from escalation.errors import InvalidInput
from escalation.facts import Closure, ManualEscalation, Mediation, dispute_id_for
from escalation.records import parse_record, read_records
from tests.conftest import SMALL_RULES

runner = CliRunner(env={"COLUMNS": "250"})


def line(n: int, **changes: object) -> str:
    record: dict[str, object] = {
        "unit": "c11",
        "category": "family",
        "source": "walk_in",
        "summary": f"case {n}",
        "received_at": f"2026-03-02T0{n}:00:00+08:00",
        "request_id": f"LH-{n}",
        "facts": [
            {
                "kind": "mediation",
                "at": f"2026-03-02T0{n}:30:00+08:00",
                "actor": "王",
                "outcome": "failed",
            },
            {
                "kind": "escalation",
                "at": f"2026-03-03T0{n}:00:00+08:00",
                "actor": "lead",
                "reason": "hard",
            },
            {
                "kind": "close",
                "at": f"2026-03-05T0{n}:00:00+08:00",
                "actor": "s1",
                "outcome": "agreement",
            },
        ],
    }
    record.update(changes)
    return json.dumps(record, ensure_ascii=False)


def test_a_line_becomes_a_receipt_and_its_facts() -> None:
    record = parse_record(line(1), origin="line 1")
    assert record.origin == "line 1"
    assert record.receipt.unit == "c11" and record.receipt.request_id == "LH-1"
    assert record.receipt.received_at.utcoffset() is not None
    kinds = [type(f) for f in record.facts]
    assert kinds == [Mediation, ManualEscalation, Closure]
    assert isinstance(record.facts[2], Closure) and record.facts[2].outcome == "agreement"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "line 4: not JSON"),
        ("[1, 2]", "a record is a JSON object"),
        (line(1, received_at="2026-03-02T01:00:00"), "received_at: Input should have timezone"),
        (line(1, facts=[{"kind": "dance", "at": "2026-03-02T01:00:00Z", "actor": "x"}]), "facts.0"),
        (line(1, colour="red"), "colour: Extra inputs are not permitted"),
    ],
)
def test_malformed_lines_are_named(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match="line 4") as caught:
        parse_record(text, origin="line 4")
    assert fragment in str(caught.value)


def test_reading_a_file_stops_at_a_bad_line_or_lists_it(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join([line(1), "", "{oops", line(2)]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 3"):
        list(read_records(path))
    errors: list[str] = []
    records = list(read_records(path, errors))
    assert [r.origin for r in records] == ["line 1", "line 4"]
    assert len(errors) == 1 and errors[0].startswith("line 3: not JSON")


def test_import_command_imports_reports_and_reruns_safely(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    history = tmp_path / "history.jsonl"
    lines = [line(1), line(2), "{oops", line(3, unit="nowhere"), line(4)]
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["import", str(history), "--db", db, "--rules", str(rules), "--jobs", "1"]

    stopped = runner.invoke(app, args)
    assert stopped.exit_code != 0
    assert "line 3: not JSON" in str(stopped.exception)

    result = runner.invoke(app, [*args, "--skip-invalid"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "imported 3 disputes" in result.output
    assert "2 lines left out" in result.output
    assert "line 3: not JSON" in result.output
    assert "line 4 (LH-3): unknown unit 'nowhere'" in result.output

    with EscalationEngine(RuleBook.from_yaml(SMALL_RULES), url=db) as engine:
        assert engine.projections.lag() == 0  # the read models were brought up to date
        for request in ("LH-1", "LH-2", "LH-4"):
            state = engine.get(dispute_id_for(request))
            assert (state.status, state.outcome, state.unit) == ("closed", "agreement", "s1")
        assert engine.queue() == []  # everything imported was closed

    again = runner.invoke(app, [*args, "--skip-invalid"], catch_exceptions=False)
    assert "imported 0 disputes" in again.output and "3 already there" in again.output


def test_import_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0
    assert "no such file" in str(result.exception)
