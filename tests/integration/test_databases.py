"""What differs between SQLite and PostgreSQL: races between catch-ups, types, errors.

The races are made deterministic here by letting a second engine (another
process, as far as the database can tell) act at the worst moment of the
first one; ``test_multiprocess.py`` lets real processes race.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import inspect

from escalation import EscalationEngine, RuleBook
from escalation.errors import StorageError
from tests.helpers import T0, hours, read_model_rows


def _some_history(engine: EscalationEngine, n: int = 5) -> None:
    for i in range(n):
        did = engine.receive(
            unit="c11", category="family", source="walk_in", summary=f"#{i}", received_at=T0
        )
        engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(i + 1))


def _rebuilt(rules: RuleBook, url: str) -> dict[str, list[tuple[Any, ...]]]:
    with EscalationEngine(rules, url=url) as fresh:
        fresh.rebuild()
        return read_model_rows(fresh)


def test_a_page_another_process_applied_meanwhile_is_skipped(
    small_rules: RuleBook, db_url: str
) -> None:
    with (
        EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine,
        EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as other,
    ):
        _some_history(engine)  # commands do not catch up: both engines are behind
        runner = engine.projections
        assert runner.lag() > 0
        read_page = runner.recorder.select_notifications
        raced: list[int] = []

        def page_then_race(*args: Any, **kwargs: Any) -> Any:
            page = read_page(*args, **kwargs)
            if not raced:  # this runner has read its positions and the page; now
                raced.append(other.catch_up())  # another process applies that page
            return page

        runner.recorder.select_notifications = page_then_race
        try:
            applied = runner.catch_up()
        finally:
            runner.recorder.select_notifications = read_page
        assert raced[0] > 0
        assert applied == 0  # found applied under the lock: not applied a second time
        assert runner.lag() == 0
        assert read_model_rows(engine) == _rebuilt(small_rules, db_url)


def test_two_first_tracking_inserts_race_and_the_loser_retries(
    small_rules: RuleBook, postgres_server: Any
) -> None:
    # PostgreSQL only: SQLite has one writer at a time, so two first inserts cannot race.
    db_url = postgres_server.create_database()
    with (
        EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine,
        EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as other,
    ):
        _some_history(engine)  # commands do not catch up: no tracking row exists yet
        runner = engine.projections
        assert runner.position(runner.projections[0]) == 0
        insert = runner.tracking._insert_tracking
        raced: list[int] = []

        def race_then_insert(session: Any, tracking: Any) -> None:
            if not raced:  # inside this runner's page transaction, before its first insert
                done = threading.Thread(target=lambda: raced.append(other.catch_up()))
                done.start()  # another connection, as another process would be
                done.join()
            insert(session, tracking)

        runner.tracking._insert_tracking = race_then_insert
        try:
            applied = runner.catch_up()
        finally:
            runner.tracking._insert_tracking = insert
        assert raced and raced[0] > 0
        assert runner.retries == 1  # lost the race once, then found the page applied
        assert applied == 0
        assert read_model_rows(engine) == _rebuilt(small_rules, db_url)
    postgres_server.drop_database(db_url)


def test_read_model_times_are_instants(small_rules: RuleBook, db_url: str, database: str) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        did = engine.receive(
            unit="c11", category="family", source="walk_in", summary="x", received_at=T0
        )
        [item] = engine.queue()
        assert item.dispute_id == did and item.received_at == T0
        assert item.received_at.utcoffset() == timedelta(0)
        columns = {
            c["name"]: c["type"]
            for c in inspect(engine.store.recorder.datastore.engine).get_columns(  # type: ignore[attr-defined]
                "escalation_disputes"
            )
        }
        # PostgreSQL: timestamp with time zone. SQLite: naive UTC text, in time order.
        assert getattr(columns["due_at"], "timezone", False) is (database == "postgresql")


def test_an_unreachable_server_is_a_clear_error(small_rules: RuleBook) -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/escalation"
    with pytest.raises(StorageError, match="cannot open the database"):
        EscalationEngine(small_rules, url=url)


FOLLOWER = """
import sys, threading, signal
from escalation import EscalationEngine
from projections.follower import follow
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
with EscalationEngine(url=sys.argv[1]) as engine:
    print("following", flush=True)
    follow(engine.projections, interval=0.2, stop=stop)
"""


def test_followers_in_processes_of_their_own_keep_the_read_models_current(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        followers = [
            subprocess.Popen(
                [sys.executable, "-c", FOLLOWER, db_url], stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        try:
            for follower in followers:
                assert follower.stdout is not None
                assert follower.stdout.readline().strip() == "following"
            runner = engine.projections
            for round_ in range(3):
                _some_history(engine, n=2)  # commands only: this engine does not catch up
                deadline = time.monotonic() + 30
                while runner.lag() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert runner.lag() == 0, f"round {round_}: the followers did not catch up"
        finally:
            for follower in followers:
                follower.terminate()
            for follower in followers:
                assert follower.wait(timeout=30) == 0
        assert read_model_rows(engine) == _rebuilt(small_rules, db_url)


def test_missing_postgresql_binaries_say_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import postgres_server

    monkeypatch.delenv(postgres_server.URL_VARIABLE, raising=False)
    monkeypatch.setattr(postgres_server, "find_bindir", lambda: None)
    with pytest.raises(postgres_server.PostgresUnavailable) as failure:
        postgres_server.start_server()
    message = str(failure.value)
    assert "apt-get install -y postgresql" in message
    assert "ESCALATION_TEST_DATABASES=sqlite" in message
    assert "ESCALATION_TEST_POSTGRES_URL" in message
