"""The change feed: what happened in log order, and each change once per consumer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session

from escalation import Change, EscalationEngine, RuleBook
from escalation.errors import InvalidInput
from tests.helpers import T0, hours

PERSONAL = ("Wang Fang 13800138000", "owes three months of wages", "Room 402")

host_metadata = MetaData()
sent = Table(  # the host's outbox: one row per SMS it queued
    "host_sms_outbox",
    host_metadata,
    Column("position", Integer, primary_key=True),  # a repeat would break this key
    Column("event", String(32), nullable=False),
    Column("unit", String(64), nullable=False),
)


@pytest.fixture
def host(db_url: str) -> Iterator[Engine]:
    bind = create_engine(db_url)
    host_metadata.create_all(bind)
    yield bind
    bind.dispose()


def some_history(engine: EscalationEngine) -> list[Any]:
    first = engine.receive(
        unit="c11",
        category="wage_arrears",
        source="walk_in",
        summary=PERSONAL[0] + " " + PERSONAL[1],
        location=PERSONAL[2],
        claim=PERSONAL[1],
        received_at=T0,
    )
    second = engine.receive(
        unit="c21", category="family", source="hotline_12345", summary="x", received_at=T0
    )
    engine.mediate(first, outcome="failed", mediator="m", at=T0 + hours(1), note=PERSONAL[0])
    engine.escalate(first, reason="needs the street", actor="clerk", at=T0 + hours(2))
    engine.tick(T0 + hours(30))
    engine.close(second, outcome="withdrawn", actor="clerk", at=T0 + hours(31))
    return [first, second]


def outbox(host: Engine) -> list[int]:
    with host.connect() as conn:
        return [row[0] for row in conn.execute(select(sent.c.position).order_by(sent.c.position))]


def queue_sms(change: Change, session: Session) -> None:
    session.execute(
        sent.insert().values(position=change.position, event=change.event, unit=change.unit)
    )


def test_changes_come_in_log_order_with_where_each_dispute_stands(engine: EscalationEngine) -> None:
    first, second = some_history(engine)
    feed = engine.changes()
    positions = [c.position for c in feed]
    assert positions == sorted(set(positions))
    mine = [c for c in feed if c.dispute_id == first]
    assert [c.version for c in mine] == list(range(1, len(mine) + 1))
    assert [c.event for c in mine][:1] == ["Received"]
    escalated = next(c for c in mine if c.event == "Escalated")
    assert (escalated.unit, escalated.tier) == ("s1", "street")
    notices = [c for c in feed if c.event == "Supervised"]
    assert notices
    assert all(c.notice for c in notices)
    closed = next(c for c in feed if c.dispute_id == second and c.event == "Closed")
    assert (closed.outcome, closed.status) == ("withdrawn", "closed")
    assert len(feed) == len(engine.history(first)) + len(engine.history(second))


def test_no_personal_data_in_the_feed(engine: EscalationEngine) -> None:
    some_history(engine)
    text = repr(engine.changes(limit=1000))
    for value in PERSONAL:
        assert value not in text


def test_pages_from_a_position_join_up(engine: EscalationEngine) -> None:
    some_history(engine)
    whole = engine.changes(limit=1000)
    pages: list[Change] = []
    after = 0
    while page := engine.changes(after=after, limit=3):
        assert len(page) <= 3
        pages += page
        after = page[-1].position
    assert pages == whole


@pytest.mark.parametrize(
    ("after", "limit"), [(-1, 10), (0, 0), (0, 10_001), ("0", 10), (0, 2.5), (None, 1)]
)
def test_bad_positions_and_limits_are_refused(
    engine: EscalationEngine, after: Any, limit: Any
) -> None:
    with pytest.raises(InvalidInput, match="changes"):
        engine.changes(after=after, limit=limit)


@pytest.mark.parametrize("consumer", ["", "sms sender", "x" * 65, "sms\x00", 7])
def test_bad_consumer_names_are_refused(engine: EscalationEngine, consumer: Any) -> None:
    with pytest.raises(InvalidInput, match="consumer"):
        engine.follow(consumer, queue_sms)


def test_each_change_reaches_a_consumer_once(engine: EscalationEngine, host: Engine) -> None:
    some_history(engine)
    handed = 0
    while count := engine.follow("sms", queue_sms, limit=4):
        handed += count
    assert outbox(host) == [c.position for c in engine.changes(limit=1000)]
    assert handed == len(outbox(host))
    assert engine.follow("sms", queue_sms) == 0
    engine.mediate(
        engine.changes()[0].dispute_id, outcome="failed", mediator="m", at=T0 + hours(40)
    )
    assert engine.follow("sms", queue_sms) == 1  # only what is new
    assert engine.follow("letters", lambda c, s: None, limit=1000) == handed + 1  # its own position


def test_a_failing_handler_moves_nothing(engine: EscalationEngine, host: Engine) -> None:
    some_history(engine)
    calls = 0

    def flaky(change: Change, session: Session) -> None:
        nonlocal calls
        calls += 1
        queue_sms(change, session)
        if calls == 3:
            raise RuntimeError("the SMS gateway is down")

    with pytest.raises(RuntimeError, match="gateway"):
        engine.follow("sms", flaky, limit=5)
    assert outbox(host) == []  # the two before it rolled back with the position
    assert engine.follow("sms", queue_sms, limit=5) == 5
    assert outbox(host) == [c.position for c in engine.changes(limit=5)]


def test_inside_the_hosts_transaction_the_host_decides(
    engine: EscalationEngine, host: Engine
) -> None:
    some_history(engine)
    assert len(engine.changes(limit=1000)) >= 6
    with Session(host) as s, s.begin():
        assert engine.follow("sms", queue_sms, session=s, limit=3) == 3
        s.rollback()
    assert outbox(host) == []
    with Session(host) as s, s.begin():
        assert engine.follow("sms", queue_sms, session=s, limit=3) == 3  # the same three again
    assert outbox(host) == [c.position for c in engine.changes(limit=3)]
    assert engine.follow("sms", queue_sms, limit=3) == 3
    assert outbox(host) == [c.position for c in engine.changes(limit=6)]


def test_a_crash_between_handler_and_commit_hands_the_change_over_again(
    small_rules: RuleBook, db_url: str, host: Engine, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(small_rules.text, encoding="utf-8")
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        some_history(engine)
        expected = [c.position for c in engine.changes(limit=1000)]
    code = f"""
import os
from datetime import UTC, datetime
from sqlalchemy import Column, Integer, MetaData, String, Table
from escalation import EscalationEngine, RuleBook
sent = Table("host_sms_outbox", MetaData(), Column("position", Integer, primary_key=True),
             Column("event", String(32)), Column("unit", String(64)))
calls = 0
def dying(change, session):
    global calls
    calls += 1
    session.execute(sent.insert().values(position=change.position, event=change.event, unit=change.unit))
    if calls == 3:
        os._exit(9)  # the SMS is queued in the transaction; the process dies before commit
e = EscalationEngine(RuleBook.load({str(rules_file)!r}), url={db_url!r},
                     clock=lambda: datetime(2026, 3, 4, tzinfo=UTC))
e.follow("sms", dying, limit=2)  # commits two
e.follow("sms", dying, limit=2)  # dies on the third
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=False
    )
    assert proc.returncode == 9, proc.stderr
    assert outbox(host) == expected[:2]
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        while engine.follow("sms", queue_sms, limit=3):
            pass
    assert outbox(host) == expected  # the third and fourth once each, nothing twice
