"""``escalation serve``: catch-up after downtime, missed reviews, state, status, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.entrypoints.scheduler import (
    EscalationService,
    ServiceConfig,
    ServiceState,
    last_fire,
    parse_interval,
    read_status,
    review_trigger,
)
from escalation.errors import InvalidInput
from tests.helpers import SMALL_RULES, T0

NO_REVIEWS = {"daily": "off", "weekly": "off", "monthly": "off", "quarterly": "off"}


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the service"
        time.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def open_engine(
    small_rules: RuleBook, db_url: str, clock: FakeClock
) -> Iterator[Callable[[], EscalationEngine]]:
    """Engines on the test's database with the fake clock (one per 'process run')."""
    made: list[EscalationEngine] = []

    def make() -> EscalationEngine:
        engine = EscalationEngine(small_rules, url=db_url, clock=clock)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.shutdown()


def run_service(
    engine: EscalationEngine, config: ServiceConfig, *, ticks: int = 1, reviews: int = 0
) -> EscalationService:
    """Start a service, wait for ``ticks`` ticks and ``reviews`` reviews, stop it."""
    service = EscalationService(engine, config)
    service.start()
    try:
        wait_until(lambda: service.ticks >= ticks and service.reviews >= reviews)
    finally:
        service.stop()
    return service


# ------------------------------------------------------------- configuration


def test_intervals_and_review_times_are_parsed_with_clear_errors() -> None:
    assert parse_interval("60s") == timedelta(seconds=60)
    assert parse_interval("250ms") == timedelta(milliseconds=250)
    assert parse_interval("5m") == timedelta(minutes=5)
    assert parse_interval("1h") == timedelta(hours=1)
    assert parse_interval("90") == timedelta(seconds=90)
    for bad in ("soon", "-5s", "0s", "5 fortnights"):
        with pytest.raises(InvalidInput, match="tick interval"):
            parse_interval(bad)
    zone = "Asia/Shanghai"
    now = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # Wednesday 11:00 in Shanghai
    daily = review_trigger("daily", "08:00", zone)
    weekly = review_trigger("weekly", "mon 09:00", zone)
    monthly = review_trigger("monthly", "1 09:00", zone)
    quarterly = review_trigger("quarterly", "1 09:00", zone)
    assert daily and weekly and monthly and quarterly
    assert last_fire(daily, now) == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert last_fire(weekly, now) == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert last_fire(monthly, now) == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    assert last_fire(quarterly, now) == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert review_trigger("weekly", "off", zone) is None
    for kind, spec in (
        ("daily", "8am"),
        ("daily", "mon 08:00"),
        ("weekly", "09:00"),
        ("weekly", "someday 09:00"),
        ("monthly", "31 09:00"),
        ("quarterly", "1 25:00"),
    ):
        with pytest.raises(InvalidInput, match=f"{kind} review time"):
            review_trigger(kind, spec, zone)


def test_a_review_run_is_claimed_once(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(small_rules, url=db_url) as engine:
        state = ServiceState(engine)
        first, later = T0, T0 + timedelta(days=1)
        assert state.claim("review:daily", first, first)
        assert not state.claim("review:daily", first, first)  # another worker: already taken
        assert not state.claim("review:daily", first - timedelta(days=1), first)
        assert state.claim("review:daily", later, later)
        state.release("review:daily", later, first, "Boom")
        assert state.get("review:daily").ran_for == first  # type: ignore[union-attr]
        assert state.claim("review:daily", later, later)  # tried again next time


# --------------------------------------------------------- catch-up, once


def _receive(engine: EscalationEngine, unit: str, n: int) -> UUID:
    return engine.receive(
        unit=unit,
        category="neighbour",
        source="walk_in",
        summary="漏水",
        parties=2,
        received_at=T0,
        request_id=f"downtime-{n}",
    )


def _visits(engine: EscalationEngine, did: UUID) -> list[dict[str, Any]]:
    """Each tier visit's schedule, and the decisions the rules took during it."""
    visits: list[dict[str, Any]] = []
    for e in engine.history(did):
        name = type(e).__name__
        if name == "Escalated" and getattr(e, "rule_id", None):
            visits[-1]["decided"].append(("escalate", e.occurred_at, e.recorded_at))
        elif name == "Supervised" and getattr(e, "rule_id", None):
            visits[-1]["decided"].append((vars(e)["notice"], e.occurred_at, e.recorded_at))
        if name in ("Received", "Escalated", "Reopened"):
            values = vars(e)
            tier = values["to_tier"] if name == "Escalated" else values["tier"]
            schedule = [(str(a), t) for a, t in values["schedule"]]
            visits.append({"tier": tier, "schedule": schedule, "decided": []})
    return visits


def test_after_downtime_the_first_tick_catches_up_once_dated_when_due(
    open_engine: Callable[[], EscalationEngine], clock: FakeClock, tmp_path: Path
) -> None:
    config = ServiceConfig(tick_every=timedelta(milliseconds=50), out=tmp_path, reviews=NO_REVIEWS)
    engine = open_engine()
    ids = [_receive(engine, unit, n) for n, unit in enumerate(("c11", "c12", "c21"))]
    run_service(engine, config, ticks=2)
    assert all(e.tier == "community" for e in map(engine.get, ids))  # nothing due at T0
    engine.shutdown()

    # Down for ten days; a new process starts with the clock moved on.
    restart = T0 + timedelta(days=10)
    clock.now = restart
    engine = open_engine()
    service = run_service(engine, config, ticks=3)

    for did in ids:
        state = engine.get(did)
        assert (state.tier, state.status) == ("district", "open")
        visits = _visits(engine, did)
        assert [v["tier"] for v in visits] == ["community", "street", "district"]
        for visit in visits:
            due = [(a, t) for a, t in visit["schedule"] if t <= restart]
            decided = [(a, t) for a, t, _ in visit["decided"]]
            # Every action that fell due was taken exactly once, at its due time.
            assert sorted(decided, key=str) == sorted(due, key=str), visit
            assert all(recorded == restart for _, _, recorded in visit["decided"])
        # And they were dated when due, days before the service woke up.
        escalations = [t for v in visits for a, t, _ in v["decided"] if a == "escalate"]
        assert escalations == [T0 + timedelta(days=2), T0 + timedelta(days=6)]
    assert service.ticks >= 3  # later ticks at the same time changed nothing

    status = read_status(engine, restart)
    assert status.last_tick is not None and status.last_tick.ran_for == restart
    assert status.projection_lag == 0
    assert status.open_by_tier == {"community": 0, "street": 0, "district": 3}
    assert status.overdue == 0 and status.due_now == 0
    district_due = [t for a, t in _visits(engine, ids[0])[-1]["schedule"] if t > restart]
    assert status.next_due_at == min(district_due)
    assert status.service is not None and status.service.finished_at == restart


# -------------------------------------------------------- reviews on start


def test_a_missed_review_runs_once_on_start_for_the_latest_period(
    open_engine: Callable[[], EscalationEngine], clock: FakeClock, tmp_path: Path
) -> None:
    reviews = {**NO_REVIEWS, "daily": "08:00"}
    out = tmp_path / "reviews"
    config = ServiceConfig(tick_every=timedelta(milliseconds=50), out=out, reviews=reviews)
    clock.now = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
    engine = open_engine()
    _receive(engine, "c11", 1)  # received 2026-03-02

    service = run_service(engine, config, reviews=1)
    assert service.reviews == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "daily-2026-03-03.html",
        "daily-2026-03-03.md",
    ]
    written = (out / "daily-2026-03-03.md").stat().st_mtime_ns
    state = ServiceState(engine).get("review:daily")
    assert state is not None and state.ran_for == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    assert state.detail["period"] == "2026-03-03"

    # Restarted the same morning: already done, not run again.
    again = run_service(engine, config, ticks=3)
    assert again.reviews == 0
    assert (out / "daily-2026-03-03.md").stat().st_mtime_ns == written

    # Down for three mornings: the latest missed run happens, once (coalesced).
    clock.now = datetime(2026, 3, 7, 4, 0, tzinfo=UTC)
    later = run_service(engine, config, reviews=1, ticks=3)
    assert later.reviews == 1
    assert sorted(p.name for p in out.glob("*.md")) == [
        "daily-2026-03-03.md",
        "daily-2026-03-06.md",
    ]
    text = (out / "daily-2026-03-06.md").read_text(encoding="utf-8")
    assert text.startswith("# 日研判 daily review 2026-03-06")
    state = ServiceState(engine).get("review:daily")
    assert state is not None and state.ran_for == datetime(2026, 3, 7, 0, 0, tzinfo=UTC)


def test_reviews_on_their_schedule_cover_the_previous_period(
    open_engine: Callable[[], EscalationEngine], clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # Wednesday 1 April, 10:00 local
    engine = open_engine()
    out = tmp_path / "reviews"
    config = ServiceConfig(tick_every=timedelta(milliseconds=50), out=out)
    run_service(engine, config, reviews=4)
    names = sorted(p.name for p in out.glob("*.md"))
    assert names == [
        "daily-2026-03-31.md",
        "monthly-2026-03.md",
        "quarterly-2026-Q1.md",
        "weekly-2026-W13.md",
    ]
    weekly = (out / "weekly-2026-W13.md").read_text(encoding="utf-8")
    assert "Period 2026-03-23..2026-03-29" in weekly and "周会商" in weekly


# ------------------------------------------------------------------ status


def test_status_command_reports_tick_lag_due_and_counts(
    small_rules: RuleBook, db_url: str, tmp_path: Path
) -> None:
    from escalation.entrypoints.cli import app

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SMALL_RULES, encoding="utf-8")
    now = datetime.now(UTC)
    with EscalationEngine(small_rules, url=db_url) as engine:
        for _ in range(2):
            engine.receive(
                unit="c11", category="family", source="walk_in", summary="x", received_at=now
            )
        engine.receive(
            unit="c21",
            category="family",
            source="walk_in",
            summary="x",
            received_at=now - timedelta(days=30),
        )  # its whole ladder is due: the next tick's work
        engine.catch_up()
    runner = CliRunner()
    args = ["status", "--json", "--db", db_url, "--rules", str(rules_file)]
    before = runner.invoke(app, args, catch_exceptions=False)
    assert before.exit_code == 0, before.output
    found = json.loads(before.stdout)
    assert found["last_tick"] is None and found["projection_lag"] == 0
    assert found["open_by_tier"] == {"community": 3, "street": 0, "district": 0}
    assert found["due_now"] == 1 and found["overdue"] == 1
    assert datetime.fromisoformat(found["next_due_at"]) < now

    with EscalationEngine(small_rules, url=db_url) as engine:
        config = ServiceConfig(tick_every=timedelta(seconds=60), out=tmp_path, reviews=NO_REVIEWS)
        run_service(engine, config)
        engine.receive(
            unit="c12", category="family", source="walk_in", summary="x"
        )  # not projected
    after = json.loads(runner.invoke(app, args, catch_exceptions=False).stdout)
    assert datetime.fromisoformat(after["last_tick"]) >= now
    assert after["tick"]["detail"]["events"]["Escalated"] == 2
    assert after["projection_lag"] > 0
    assert after["open_by_tier"]["district"] == 1 and after["due_now"] == 0
    assert after["service"]["finished_at"] is not None

    table = runner.invoke(app, args[:1] + args[2:], catch_exceptions=False, env={"COLUMNS": "200"})
    assert table.exit_code == 0
    for label in ("last tick", "projection lag", "next due", "open at 区", "overdue"):
        assert label in table.stdout


# ------------------------------------------------------------------ SIGTERM


def test_serve_stops_cleanly_on_sigterm_between_ticks(tmp_path: Path, db_url: str) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SMALL_RULES, encoding="utf-8")
    db = db_url
    with EscalationEngine(RuleBook.load(rules_file), url=db) as engine:
        engine.receive(
            unit="c11",
            category="family",
            source="walk_in",
            summary="SECRET-SUMMARY",
            location="SECRET-LOCATION",
            received_at=datetime.now(UTC) - timedelta(days=3),
        )
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "ESCALATION_LOG": "json", "ESCALATION_LOG_LEVEL": "debug"}
    command = [sys.executable, "-c", "from escalation.entrypoints.cli import main; main()", "serve"]
    command += ["--db", db, "--rules", str(rules_file), "--tick-every", "100ms"]
    command += ["--out", str(tmp_path / "reviews"), "--daily", "off", "--weekly", "off"]
    command += ["--monthly", "off", "--quarterly", "off"]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
        try:

            def lines() -> list[dict[str, Any]]:
                complete = log_path.read_text(encoding="utf-8").split("\n")[:-1]
                return [json.loads(line) for line in complete if line.strip()]

            wait_until(lambda: sum(e["event"] == "tick.done" for e in lines()) >= 3)
            assert process.poll() is None
            process.send_signal(signal.SIGTERM)
            began = time.monotonic()
            code = process.wait(timeout=20)
            stopped_in = time.monotonic() - began
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code == 0
    assert stopped_in < 5
    events = lines()
    names = [e["event"] for e in events]
    assert "service.started" in names
    assert names[-1] == "service.stopped"  # the last tick had finished before it
    assert not [e for e in events if e["level"] in ("error", "critical")]
    assert events[-1]["stopped_by"] == "SIGTERM"
    ticks = [e for e in events if e["event"] == "tick.done"]
    assert Counter(e["events"] > 0 for e in ticks)[True] == 1  # the catch-up, once
    decisions = [e for e in events if e["event"] == "dispute.event"]
    assert {e["event_name"] for e in decisions} >= {"Supervised", "Escalated"}
    assert "SECRET" not in log_path.read_text(encoding="utf-8")
    with EscalationEngine(RuleBook.load(rules_file), url=db) as engine:
        state = ServiceState(engine).read()
    assert state["service"].finished_at is not None
    assert state["service"].detail["stopped_by"] == "SIGTERM"
    assert state["tick"].ran_for is not None


def test_the_service_stops_when_other_rules_are_activated(
    small_rules: RuleBook, db_url: str
) -> None:
    from escalation.bootstrap import activate
    from escalation.entrypoints.scheduler import EscalationService

    stricter = RuleBook.from_yaml(
        small_rules.text.replace("handle_within: 2 days", "handle_within: 1 days"), source="b.yaml"
    )
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        service = EscalationService(engine, clock=lambda: T0)
        assert service.run_tick() is not None  # its own rules are the active ones
        activate(db_url, stricter, by="rule owner", at=T0, clock=lambda: T0)
        assert service.run_tick() is None  # refuses to decide under the old book
        assert service.rules_changed is not None and stricter.version in service.rules_changed
