"""``escalation import``: a JSON Lines history, with its bad lines named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.import_format import parse_record, read_records, record_line
from escalation.application.importer import DisputeRecord, Receipt, import_disputes
from escalation.application.workload import Workload
from escalation.entrypoints.cli import app
from escalation.errors import InvalidInput
from escalation.policies.facts import (
    Closure,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Reopening,
    dispute_id_for,
)
from tests.helpers import SMALL_RULES

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


def test_a_workload_history_round_trips_through_the_line_format(default_rules: RuleBook) -> None:
    records = list(Workload(default_rules, seed=3, per_day=40).records(date(2025, 3, 3), 5))
    assert any(r.facts for r in records)
    for record in records:
        again = parse_record(record_line(record), origin="line 1")
        assert again.receipt == record.receipt
        assert list(again.facts) == list(record.facts)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mediation", "escalation", "notice", "close", "reopen"]),
            st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
            st.text(min_size=1, max_size=8),
            st.one_of(st.none(), st.text(min_size=1, max_size=8)),
        ),
        max_size=5,
    )
)
def test_every_fact_kind_round_trips(facts: list[tuple[str, datetime, str, str | None]]) -> None:
    made = {
        "mediation": lambda at, actor, rid: Mediation(at, actor, rid, outcome="partial", note="n"),
        "escalation": lambda at, actor, rid: ManualEscalation(at, actor, rid, reason="r"),
        "notice": lambda at, actor, rid: ManualNotice(at, actor, rid, notice="warning"),
        "close": lambda at, actor, rid: Closure(at, actor, rid, outcome="withdrawn"),
        "reopen": lambda at, actor, rid: Reopening(at, actor, rid, reason="r"),
    }
    receipt = Receipt("c11", "family", "walk_in", "x", datetime(2026, 1, 1, tzinfo=UTC))
    record = DisputeRecord(receipt, [made[k](at, actor, rid) for k, at, actor, rid in facts])
    assert list(parse_record(record_line(record)).facts) == list(record.facts)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_malformed_line_stops_after_the_batches_before_it(tmp_path: Path, jobs: int) -> None:
    history = tmp_path / "history.jsonl"
    lines = [line(n % 9 + 1, request_id=f"LH-{n}") for n in range(6)]
    history.write_text("\n".join([*lines, "{oops", line(1, request_id="LH-9")]) + "\n")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with EscalationEngine(RuleBook.from_yaml(SMALL_RULES), url=db) as engine:
        with pytest.raises(InvalidInput, match="line 7: not JSON"):
            import_disputes(engine, read_records(history), batch=2, jobs=jobs)
        written = {n.originator_id for n in engine.store.recorder.select_notifications(1, 1000)}
    assert written == {dispute_id_for(f"LH-{n}") for n in range(6)}
