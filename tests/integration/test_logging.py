"""Structured logs: bound keys on commands and ticks, no parties' data, quiet unless asked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from escalation import EscalationEngine
from escalation.adapters.logs import (
    EVENTS,
    REDACTED,
    configure_logging,
    get_logger,
    resolve_level,
    resolve_mode,
    to_log,
)
from escalation.errors import InvalidInput
from escalation.policies.facts import Receipt, register
from tests.helpers import T0, hours

SECRET_SUMMARY = "SECRET-工地拖欠工资-张三李四"
SECRET_LOCATION = "SECRET-深圳市罗湖区某小区3栋"
SECRET_NOTE = "SECRET-当事人电话13800000000"
PERSONAL = {"summary", "location", "note", "parties", "amount"}


@pytest.fixture(autouse=True)
def fresh_structlog() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def _receive(engine: EscalationEngine, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "unit": "c11",
        "category": "neighbour",
        "source": "walk_in",
        "summary": SECRET_SUMMARY,
        "location": SECRET_LOCATION,
        "parties": 3,
        "amount": 4321.5,
        "received_at": T0,
    }
    values.update(overrides)
    return engine.receive(**values)


def _no_personal_data(entries: list[dict[str, Any]]) -> None:
    text = repr(entries)
    assert "SECRET" not in text
    for entry in entries:
        assert not PERSONAL & set(entry), entry


def test_command_and_tick_lines_are_bound_to_dispute_unit_tier_and_rule(
    engine: EscalationEngine,
) -> None:
    configure_logging("json", "info", stream=io.StringIO())
    with capture_logs() as received_logs:
        did = _receive(engine)
    with capture_logs() as command_logs:
        engine.mediate(
            did, outcome="failed", mediator="张调解员", note=SECRET_NOTE, at=T0 + hours(1)
        )
    with capture_logs() as tick_logs:
        engine.tick(T0 + timedelta(days=3))

    lines = [e for e in received_logs if e["event"] == "dispute.event"]
    # Routing waits for 先行调解: the failed mediation below routes it.
    assert [e["event_name"] for e in lines] == ["Received", "Accepted", "RiskAssessed"]
    for e in lines:
        assert (e["dispute_id"], e["unit"], e["tier"]) == (str(did), "c11", "community")
        assert e["log_level"] == "info"
    assert lines[0]["rule_id"] is None and lines[0]["actor"] == "intake"
    assert lines[1]["rule_id"] == "acceptance/auto"
    assert lines[2]["rule_id"] == "risk/default" and lines[2]["level"] == "low"
    assert all(e["rules_version"] == engine.rules.version for e in lines)

    mediated, routed = command_logs
    assert (routed["event_name"], routed["unit"], routed["tier"]) == ("Routed", "c11", "community")
    assert routed["rule_id"] == "rest" and routed["department"] == "governance_centre"
    assert routed["rules_version"] == engine.rules.version
    assert mediated["event_name"] == "Mediated"
    assert (mediated["dispute_id"], mediated["unit"], mediated["outcome"]) == (
        str(did),
        "c11",
        "failed",
    )
    assert mediated["actor"] == "张调解员"  # staff: logged on purpose

    decisions = [(e["event_name"], e.get("notice"), e["rule_id"]) for e in tick_logs]
    assert decisions[:3] == [
        ("Supervised", "reminder", "community/notices/reminder"),
        ("Supervised", "warning", "community/notices/warning"),
        ("Escalated", None, "community/handle_within"),
    ]
    escalated = tick_logs[2]
    assert (escalated["from_unit"], escalated["from_tier"]) == ("c11", "community")
    assert (escalated["unit"], escalated["tier"], escalated["mode"]) == ("s1", "street", "stepwise")
    assert escalated["occurred_at"] == (T0 + timedelta(days=2)).isoformat()  # dated when due
    # Later decisions (at the street) are bound to the street unit.
    assert all((e["unit"], e["tier"]) == ("s1", "street") for e in tick_logs[3:])
    assert all(e["dispute_id"] == str(did) for e in tick_logs)
    _no_personal_data(received_logs + command_logs + tick_logs)


def test_json_lines_carry_the_keys_and_redact_personal_keys_passed_by_mistake(
    engine: EscalationEngine,
) -> None:
    out = io.StringIO()
    assert configure_logging("json", "info", stream=out) == "json"
    did = _receive(engine)
    get_logger("test").info("oops", summary=SECRET_SUMMARY, location=SECRET_LOCATION)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    received = lines[0]
    assert received["event"] == "dispute.event" and received["event_name"] == "Received"
    assert received["dispute_id"] == str(did) and received["unit"] == "c11"
    assert received["level"] == "info" and received["logger"] == "escalation.engine"
    assert received["timestamp"].endswith("Z")
    assert lines[-1]["summary"] == REDACTED and lines[-1]["location"] == REDACTED
    assert "SECRET" not in out.getvalue()


def test_console_output_is_readable_key_value_lines(engine: EscalationEngine) -> None:
    out = io.StringIO()
    assert configure_logging("console", "info", stream=out) == "console"
    did = _receive(engine)
    first = out.getvalue().splitlines()[0]
    assert "dispute.event" in first and f"dispute_id={did}" in first and "unit=c11" in first
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)
    assert "SECRET" not in out.getvalue()


def test_tracebacks_never_show_local_variables() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    summary = SECRET_SUMMARY  # a local a traceback with locals would print
    try:
        raise RuntimeError("database went away")
    except RuntimeError:
        get_logger("test").exception("tick.failed", now="2026-03-02T01:00:00+00:00")
    assert len(summary) > 0
    line = json.loads(out.getvalue())
    assert "database went away" in json.dumps(line["exception"], ensure_ascii=False)
    assert "SECRET" not in out.getvalue()


def test_silent_until_configured_and_nothing_copied_when_filtered(
    engine: EscalationEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not EVENTS.enabled()
    _receive(engine, request_id="quiet-1")
    assert capsys.readouterr() == ("", "")

    out = io.StringIO()
    configure_logging("json", "warning", stream=out)
    assert not EVENTS.enabled()
    did = _receive(engine, request_id="quiet-2")
    engine.mediate(did, outcome="partial", mediator="m", at=T0 + hours(1))
    engine.tick(T0 + timedelta(days=3))
    assert out.getvalue() == ""
    assert capsys.readouterr() == ("", "")

    configure_logging("off")
    _receive(engine, request_id="quiet-3")
    assert not EVENTS.enabled() and capsys.readouterr() == ("", "")


def test_to_log_copies_pending_events_only_when_wanted(engine: EscalationEngine) -> None:
    receipt = Receipt("c11", "family", "walk_in", "x", T0, parties=2, actor="intake")
    dispute = register(engine.rules, receipt, T0)
    assert dispute.pending_events
    assert to_log(dispute) == []
    configure_logging("json", "info", stream=io.StringIO())
    copied = to_log(dispute)
    assert [type(e).__name__ for e in copied][:1] == ["Received"]
    assert copied is not dispute.pending_events


def test_mode_and_level_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCALATION_LOG", raising=False)
    monkeypatch.delenv("ESCALATION_LOG_LEVEL", raising=False)
    assert resolve_mode(None, io.StringIO()) == "json"  # not a terminal: production

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_mode(None, Terminal()) == "console"
    monkeypatch.setenv("ESCALATION_LOG", "JSON")
    assert resolve_mode(None, Terminal()) == "json"
    monkeypatch.setenv("ESCALATION_LOG", "xml")
    with pytest.raises(InvalidInput, match="ESCALATION_LOG='xml'"):
        resolve_mode()
    assert resolve_level(None, default="warning") == 30
    monkeypatch.setenv("ESCALATION_LOG_LEVEL", "debug")
    assert resolve_level(None, default="warning") == 10
    monkeypatch.setenv("ESCALATION_LOG_LEVEL", "loud")
    with pytest.raises(InvalidInput, match="ESCALATION_LOG_LEVEL"):
        resolve_level()


def test_cli_commands_log_json_lines_to_stderr_only_when_asked(tmp_path: Any, db_url: str) -> None:
    from typer.testing import CliRunner

    from escalation.entrypoints.cli import app
    from tests.helpers import SMALL_RULES

    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    base = ["receive", "--unit", "c11", "--category", "family", "--source", "walk_in"]
    base += ["--summary", SECRET_SUMMARY, "--location", SECRET_LOCATION]
    base += ["--db", db_url, "--rules", str(rules)]

    quiet = CliRunner(env={"ESCALATION_LOG": "json", "ESCALATION_LOG_LEVEL": None})
    result = quiet.invoke(app, base, catch_exceptions=False)
    assert result.exit_code == 0 and result.stderr == ""  # one-shot commands: warnings only

    loud = CliRunner(env={"ESCALATION_LOG": "json", "ESCALATION_LOG_LEVEL": "info"})
    result = loud.invoke(app, [*base, "--request-id", "r-2"], catch_exceptions=False)
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event_name"] for e in lines] == ["Received", "Accepted", "RiskAssessed"]
    dispute_id = lines[0]["dispute_id"]
    assert dispute_id in result.stdout  # the table on stdout, the logs on stderr
    assert all(e["unit"] == "c11" and e["request_id"] in ("r-2", None) for e in lines)
    assert "SECRET" not in result.stderr
