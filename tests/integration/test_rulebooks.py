"""Versioned rule books: recorded in the store, activated, and in-flight disputes."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.aggregates.rulebook_log import RULEBOOK_LOG_ID
from escalation.application.audit.verify import verify_dispute
from escalation.application.rulebook_registry import (
    RuleBookRegistry,
    RulesNotActive,
    UnknownRuleBook,
)
from escalation.bootstrap import activate, open_log
from escalation.entrypoints.cli import app
from escalation.errors import InvalidInput
from tests.helpers import SMALL_RULES, T0, hours

runner = CliRunner()
SHORTER_TEXT = SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day")


@pytest.fixture
def small() -> RuleBook:
    return RuleBook.from_yaml(SMALL_RULES, source="small.yaml")


@pytest.fixture
def shorter() -> RuleBook:
    return RuleBook.from_yaml(SHORTER_TEXT, source="shorter.yaml")


def receive(engine: EscalationEngine, unit: str = "c11") -> UUID:
    return engine.receive(
        unit=unit, category="family", source="walk_in", summary="x", received_at=T0
    )


def written(url: str) -> tuple[int, int]:
    """How much the store holds: dispute events, rule-book events (any backend)."""
    store = open_log(url)
    try:
        registry = RuleBookRegistry(store)
        books = len(list(registry.events.get(RULEBOOK_LOG_ID)))
        return int(store.recorder.max_notification_id() or 0), books
    finally:
        store.close()


def names(engine: EscalationEngine, did: UUID) -> list[tuple[str, float, str | None]]:
    return [
        (
            type(e).__name__,
            (e.occurred_at - T0).total_seconds() / 3600,
            getattr(e, "rules_version", None),
        )
        for e in engine.history(did)
    ]


def test_the_first_rule_book_a_store_runs_with_is_recorded_and_active(
    small: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        active = engine.rulebooks.active()
        assert active is not None
        assert (active.version, active.by, active.at) == (small.version, "engine", T0)
        stored = engine.rulebooks.stored(small.version)
        assert stored.text == SMALL_RULES and stored.source == "small.yaml"
        assert engine.rulebooks.book(small.version).version == small.version
    with EscalationEngine(None, url=db_url) as engine:  # no rules given: the active ones
        assert engine.rules.version == small.version


def test_an_engine_given_other_rules_than_the_active_ones_is_refused(
    small: RuleBook, shorter: RuleBook, db_url: str, tmp_path: Path
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        receive(engine)
    before = written(db_url)
    with pytest.raises(RulesNotActive, match=r"escalation rules activate shorter\.yaml"):
        EscalationEngine(shorter, url=db_url)
    assert written(db_url) == before  # nothing written
    assert isinstance(RulesNotActive("x"), InvalidInput)


def test_activation_switches_new_decisions_and_keeps_the_old_text_for_audits(
    small: RuleBook, shorter: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        first = receive(engine)
    report = activate(
        db_url, shorter, by="rule-owner", at=T0 + hours(1), note="faster", clock=lambda: T0
    )
    assert (report.recorded, report.previous, report.version) == (
        True,
        small.version,
        shorter.version,
    )
    again = activate(db_url, shorter, by="rule-owner", at=T0 + hours(2), clock=lambda: T0)
    assert not again.recorded
    with EscalationEngine(None, url=db_url) as engine:
        engine.rulebooks.ensure_active(shorter)
        with pytest.raises(RulesNotActive, match=r"still runs .* restart it"):
            engine.rulebooks.ensure_active(small)  # what a long-running process checks
    with EscalationEngine(None, url=db_url, clock=lambda: T0 + hours(2)) as engine:
        assert engine.rules.version == shorter.version
        second = engine.receive(
            unit="c12", category="family", source="walk_in", summary="y", received_at=T0 + hours(2)
        )
        versions = {v for _, _, v in names(engine, second)}
        assert versions == {shorter.version}
        assert {v for _, _, v in names(engine, first)} == {small.version}
        log = engine.rulebooks.log()
        assert log is not None
        assert [(a.version, a.by, a.note) for a in log.activations] == [
            (small.version, "engine", "the first rule book this store ran with"),
            (shorter.version, "rule-owner", "faster"),
        ]
        assert (
            engine.rulebooks.book(small.version).text == SMALL_RULES
        )  # the rules behind old decisions
        with pytest.raises(UnknownRuleBook, match="no rule book 'ffffffffffffffff'"):
            engine.rulebooks.book("ffffffffffffffff")


def test_in_flight_disputes_keep_their_deadlines_by_default(
    small: RuleBook, shorter: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        did = receive(engine)
    report = activate(db_url, shorter, by="owner", at=T0 + hours(20), clock=lambda: T0 + hours(20))
    assert (report.in_flight, report.open, report.changed) == ("keep", 1, 0)
    with EscalationEngine(None, url=db_url, clock=lambda: T0 + hours(50)) as engine:
        engine.tick(T0 + hours(50))
        # The 2-day visit stands: reminder at 24h, warning at 36h, escalation at 48h.
        assert [(n, h) for n, h, _ in names(engine, did)][3:] == [
            ("Supervised", 24.0),
            ("Supervised", 36.0),
            ("Escalated", 48.0),
            ("Routed", 48.0),  # routing follows the escalation (分析研判)
        ]


def test_in_flight_disputes_can_adopt_the_new_limits(
    small: RuleBook, shorter: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        did = receive(engine)
        untouched = receive(engine, unit="s1")  # a street visit: its limit did not change
    report = activate(
        db_url,
        shorter,
        by="owner",
        at=T0 + hours(20),
        in_flight="adopt",
        clock=lambda: T0 + hours(20),
    )
    assert (report.in_flight, report.open, report.changed) == ("adopt", 2, 1)
    with EscalationEngine(None, url=db_url, clock=lambda: T0 + hours(30)) as engine:
        assert engine.get(did).due_at == T0 + hours(24)  # 1 day from when the visit began
        assert [i.dispute_id for i in engine.queue(tier="community")] == [did]
        engine.tick(T0 + hours(30))  # found through the due index: the new deadline counts
        history = names(engine, did)
        # Reminder (12h) and warning (18h) had fallen due under the new limit: issued at
        # the activation (20h), never before it; the escalation comes at the new deadline.
        assert [(n, h) for n, h, _ in history][3:] == [
            ("RulesApplied", 20.0),
            ("Supervised", 20.0),
            ("Supervised", 20.0),
            ("Escalated", 24.0),
            ("Routed", 24.0),
        ]
        assert all(v == shorter.version for _, _, v in history[3:])
        assert engine.get(did).tier == "street"
        assert "RulesApplied" not in [n for n, _, _ in names(engine, untouched)]
        assert verify_dispute(engine, did).ok  # the chain runs unbroken through the new event


def test_the_old_rules_answer_for_what_fell_due_before_the_switch(
    small: RuleBook, shorter: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        did = receive(engine)  # no tick runs: the 24h reminder is due but not yet written
    activate(
        db_url,
        shorter,
        by="owner",
        at=T0 + hours(30),
        in_flight="adopt",
        clock=lambda: T0 + hours(30),
    )
    with EscalationEngine(None, url=db_url) as engine:
        reminder = next(h for h in names(engine, did) if h[0] == "Supervised")
        assert reminder == ("Supervised", 24.0, small.version)


def test_activation_refuses_a_rule_book_that_strands_open_disputes(
    small: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small, url=db_url, clock=lambda: T0) as engine:
        receive(engine, unit="c21")
    without = RuleBook.from_yaml(
        SMALL_RULES.replace("  - {id: c21, name: Community 2-1, tier: community, parent: s2}\n", "")
    )
    with pytest.raises(InvalidInput, match="1 open disputes are at units the new rule book lacks"):
        activate(db_url, without, by="owner", clock=lambda: T0 + hours(1))
    with EscalationEngine(None, url=db_url) as engine:
        assert engine.rules.version == small.version  # nothing was switched
    with pytest.raises(InvalidInput, match="in-flight"):
        activate(db_url, small, by="owner", in_flight="sometimes")
    with pytest.raises(InvalidInput, match="in-flight"):
        EscalationEngine(small, url=db_url, in_flight="sometimes")  # type: ignore[arg-type]


def test_cli_activate_history_show_and_diff(small: RuleBook, db_url: str, tmp_path: Path) -> None:
    old_file, new_file = tmp_path / "small.yaml", tmp_path / "shorter.yaml"
    old_file.write_text(SMALL_RULES, encoding="utf-8")
    new_file.write_text(SHORTER_TEXT, encoding="utf-8")
    ok = runner.invoke(
        app,
        [
            "receive",
            "--db",
            db_url,
            "--rules",
            str(old_file),
            "--unit",
            "c11",
            "--category",
            "family",
            "--source",
            "walk_in",
            "--summary",
            "x",
        ],
    )
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(app, ["queue", "--db", db_url, "--rules", str(new_file)])
    assert isinstance(refused.exception, RulesNotActive)
    result = runner.invoke(
        app, ["rules", "activate", str(new_file), "--by", "owner", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    assert "active" in result.output and "open disputes: 1" in result.output
    queue = runner.invoke(app, ["queue", "--db", db_url])  # no --rules: the active ones
    assert queue.exit_code == 0 and "1 open" in queue.output
    history = runner.invoke(app, ["rules", "history", "--db", db_url])
    assert small.version in history.output and "(active)" in history.output
    shown = runner.invoke(app, ["rules", "show", small.version, "--db", db_url])
    assert shown.output == SMALL_RULES
    diff = runner.invoke(app, ["rules", "diff", small.version, str(new_file), "--db", db_url])
    assert diff.exit_code == 0, diff.output
    assert "community.handle_within" in diff.output and "2 days" in diff.output
    bad = runner.invoke(app, ["rules", "diff", "nope", str(new_file), "--db", db_url])
    assert "neither a rules file nor a stored version" in str(bad.exception)
