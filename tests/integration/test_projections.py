"""Read models: as-of queues, figures, rebuild equals incremental, crash safety."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select

from escalation import EscalationEngine, RuleBook
from escalation.errors import EscalationError
from projections import runner
from projections.disputes import DisputesProjection, disputes, timeline
from tests.helpers import T0, hours


def ids(items: list[Any]) -> list[UUID]:
    return [i.dispute_id for i in items]


def tables(engine: EscalationEngine) -> dict[str, list[tuple[Any, ...]]]:
    engine.catch_up()
    with engine._read() as session:
        return {
            "disputes": [
                tuple(r) for r in session.execute(select(disputes).order_by(disputes.c.id))
            ],
            "timeline": [
                tuple(r)
                for r in session.execute(
                    select(timeline).order_by(timeline.c.dispute_id, timeline.c.version)
                )
            ],
        }


def test_queues_as_they_stood_hand_worked(engine: EscalationEngine) -> None:
    # A at c11 from T0; B at c12 from T0+1h. Limits: community 2 days (ladder at
    # 50% and 75%), street 4 days. Nothing is mediated, so both escalate at
    # their deadlines: A at T0+48h to s1, B at T0+49h to s1. A closes at T0+50h.
    a = engine.receive(unit="c11", category="family", source="walk_in", summary="a", received_at=T0)
    b = engine.receive(
        unit="c12",
        category="neighbour",
        source="hotline_12345",
        summary="b",
        received_at=T0 + hours(1),
    )
    engine.tick(T0 + hours(49.5))
    engine.close(a, outcome="agreement", actor="lead", at=T0 + hours(50))

    assert ids(engine.queue(unit="c11", as_of=T0 - hours(1))) == []
    assert ids(engine.queue(unit="c11", as_of=T0)) == [a]
    assert ids(engine.queue(tier="community", as_of=T0 + hours(30))) == [a, b]
    [item] = engine.queue(unit="c11", as_of=T0 + hours(30))
    assert item.notices == ("reminder",)  # the 50% reminder fell at T0+24h
    assert ids(engine.queue(unit="c11", as_of=T0 + hours(48))) == []  # moved at 48h
    assert ids(engine.queue(unit="s1", as_of=T0 + hours(48.5))) == [a]
    assert ids(engine.queue(unit="c12", as_of=T0 + hours(48.5))) == [b]
    assert ids(engine.queue(unit="s1", as_of=T0 + hours(49.5))) == [a, b]
    assert ids(engine.queue(unit="s1", as_of=T0 + hours(50))) == [b]  # A closed at 50h
    assert ids(engine.queue(unit="s1")) == [b]  # today's queue agrees
    assert engine.queue(unit="s1", as_of=T0 + hours(49.5))[0].due_at == T0 + hours(48 + 96)


def test_figures_hand_counted(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0 + timedelta(days=40)) as e:
        day = T0 + hours(1)  # 2026-03-02 10:00 Shanghai
        r1 = e.receive(
            unit="c11", category="family", source="walk_in", summary="1", received_at=day
        )
        r2 = e.receive(unit="c11", category="debt", source="petition", summary="2", received_at=day)
        r3 = e.receive(
            unit="c21",
            category="wage_arrears",
            source="grid_patrol",
            summary="3",
            parties=35,
            received_at=day,
        )  # high risk: elevated to d1 at receipt
        r4 = e.receive(unit="c12", category="other", source="walk_in", summary="4", received_at=day)
        e.mediate(r1, outcome="resolved", mediator="m", at=day + hours(2))  # settled at community
        e.follow_up(r1, outcome="settled", actor="v", at=day + hours(20))  # closed, on time
        e.mediate(r2, outcome="failed", mediator="m", at=day + hours(3))
        e.mediate(r2, outcome="failed", mediator="m", at=day + hours(4))  # stepwise to s1
        e.close(r2, outcome="agreement", actor="s", at=day + hours(30))  # at street, on time
        e.close(r4, outcome="declined", actor="c", at=day + hours(5))  # at community
        e.tick(day + timedelta(days=4, hours=1))  # r3's 50% reminder at the district: day + 4d
        e.close(r3, outcome="litigation", actor="d", at=day + timedelta(days=4, hours=2))
        f = e.figures("2026-03")
    assert f.received == 4
    assert f.received_by_source == {"walk_in": 2, "petition": 1, "grid_patrol": 1}
    assert f.closed == 4 and f.declined == 1
    assert f.resolved_at_tier == {"community": 1, "street": 1}
    assert f.resolution_rate == 2 / 3
    assert f.closed_at_tier == {"community": 2, "street": 1, "district": 1}
    # r4 was declined (不予受理): never handled, so not "settled in the community".
    assert f.settled_within("community") == 1 / 3
    assert f.settled_within("street") == 2 / 3
    assert f.declined_at_tier == {"community": 1}
    assert (f.escalated, f.elevated) == (1, 1)
    assert f.notices == {"reminder": 1}
    # Tier visits that ended: r1 and r4 at c11/c12, r2 at c11 then s1, r3 at c21 then d1.
    assert (f.visits, f.on_time) == (6, 6)
    assert f.overdue == 0
    assert f.units["c11"].received == 2 and f.units["c11"].escalated_out == 1
    assert f.units["c11"].resolution_rate == 1 / 2  # r2, escalated out, was not resolved there
    assert f.units["c12"].resolution_rate is None  # declined only: nothing handled
    assert f.median_days_to_close is not None


def test_figures_as_known_then_ignore_later_records(small_rules: RuleBook, db_url: str) -> None:
    clock = {"now": T0}
    with EscalationEngine(small_rules, url=db_url, clock=lambda: clock["now"]) as e:
        d = e.receive(unit="c11", category="family", source="walk_in", summary="x", received_at=T0)
        clock["now"] = T0 + timedelta(days=5)  # recorded late: the close happened on day 1
        e.close(d, outcome="resolved", actor="c", at=T0 + hours(20))
        assert e.figures("2026-03").closed == 1
        assert e.figures("2026-03", as_of=T0 + timedelta(days=1)).closed == 0
        assert e.figures("2026-03", as_of=T0 + timedelta(days=1)).received == 1


command = st.tuples(
    st.sampled_from(["receive", "mediate", "close", "tick", "escalate", "reopen"]),
    st.integers(0, 5),
    st.floats(0.5, 40),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(command, min_size=1, max_size=30))
def test_rebuild_equals_incremental(
    small_rules: RuleBook, new_db_url: Callable[[], str], plan: list[tuple[str, int, float]]
) -> None:
    url = new_db_url()  # a fresh database for each example
    units = sorted(u for u, x in small_rules.units.items() if x.tier == "community")
    with EscalationEngine(small_rules, url=url, clock=lambda: T0) as e:
        made: list[UUID] = []
        at = T0
        for kind, pick, gap in plan:
            at = at + hours(gap)
            try:
                if kind == "receive" or not made:
                    made.append(
                        e.receive(
                            unit=units[pick % len(units)],
                            category=small_rules.categories[pick % len(small_rules.categories)],
                            source="walk_in",
                            summary="x",
                            parties=1 + pick * 7,
                            received_at=at,
                        )
                    )
                elif kind == "tick":
                    e.tick(at)
                else:
                    target = made[pick % len(made)]
                    if kind == "mediate":
                        e.mediate(
                            target,
                            outcome=("failed", "partial", "resolved")[pick % 3],
                            mediator="m",
                            at=at,
                        )
                    elif kind == "close":
                        e.close(target, outcome="withdrawn", actor="a", at=at)
                    elif kind == "escalate":
                        e.escalate(target, reason="r", actor="a", at=at)
                    else:
                        e.reopen(target, reason="r", actor="a", at=at)
            except EscalationError:
                pass  # refused commands are part of the plan too
            if pick == 0:
                e.catch_up()  # vary where pages break
        incremental = tables(e)
        e.rebuild()
        assert tables(e) == incremental


def _pages_then_die(url: str, rules_file: Path, die_after: int, defer: bool = False) -> None:
    code = f"""
import os
from escalation import EscalationEngine, RuleBook
import projections.runner
if {defer!r}:
    projections.runner.DEFER_INDEXES_FROM = 1  # killed while the indexes are dropped
from projections.disputes import DisputesProjection
calls = 0
original = DisputesProjection.apply
def dying(self, session, events):
    global calls
    original(self, session, events)
    calls += 1
    if calls > {die_after}:
        os._exit(9)  # killed mid-transaction, after writing rows, before commit
DisputesProjection.apply = dying
e = EscalationEngine(RuleBook.load({str(rules_file)!r}), url={url!r})
e.projections.page_size = 3
e.rebuild()
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=False
    )
    assert proc.returncode == 9, proc.stderr


def failed_mediations(e: EscalationEngine, count: int) -> None:
    """``count`` disputes, a failed mediation each, then a tick after their deadlines."""
    for n in range(count):
        d = e.receive(
            unit="c11",
            category="family",
            source="walk_in",
            summary=str(n),
            received_at=T0 + hours(n),
        )
        e.mediate(d, outcome="failed", mediator="m", at=T0 + hours(n + 0.5))
    e.tick(T0 + timedelta(days=9))


def test_a_crash_between_pages_loses_nothing_and_repeats_nothing(
    small_rules: RuleBook, db_url: str, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(small_rules.text, encoding="utf-8")
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        failed_mediations(e, 6)
        expected = tables(e)
    for die_after, defer in ((0, False), (2, False), (5, False), (1, True)):
        _pages_then_die(db_url, rules_file, die_after, defer)
        if defer:
            assert not _timeline_indexes(db_url)  # the kill left them dropped
        with EscalationEngine(small_rules, url=db_url) as e:
            assert e.projections.lag() > 0  # the crash left work to do
            assert tables(e) == expected  # catching up finishes it exactly once
        assert _timeline_indexes(db_url) == {i.name for i in timeline.indexes}


def _timeline_indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {str(i["name"]) for i in inspect(engine).get_indexes(timeline.name)}
    finally:
        engine.dispose()


def test_a_rebuild_with_deferred_indexes_writes_the_same_rows(
    small_rules: RuleBook, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        failed_mediations(e, 5)
        expected = tables(e)
        monkeypatch.setattr(runner, "DEFER_INDEXES_FROM", 1)
        e.projections.page_size = 4
        e.rebuild()
        assert tables(e) == expected
    assert _timeline_indexes(db_url) == {i.name for i in timeline.indexes}


def test_the_store_reads_the_log_as_the_stock_recorder_does(engine: EscalationEngine) -> None:
    for n in range(4):
        engine.receive(
            unit="c11",
            category="family",
            source="walk_in",
            summary=str(n),
            received_at=T0 + hours(n),
        )
    recorder = engine.store.recorder
    stock = SQLAlchemyApplicationRecorder.select_notifications
    for args in [
        {"start": 1, "limit": 100},
        {"start": 3, "limit": 4},
        {"start": 2, "limit": 100, "stop": 6},
        {"start": 2, "limit": 100, "inclusive_of_start": False},
        {"start": None, "limit": 2},
        {"start": 1, "limit": 100, "topics": ["escalation/Dispute.RiskAssessed"]},
    ]:
        ours = recorder.select_notifications(**args)
        assert ours == stock(recorder, **args)
        assert ours  # each case reads something


def test_a_read_model_built_at_another_version_is_rebuilt_on_open(
    small_rules: RuleBook, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        failed_mediations(e, 3)
        expected = tables(e)
        with e.store.writing() as session:  # a row only a rebuild would drop
            session.execute(timeline.update().values(actor="stale"))
    built = DisputesProjection.version
    monkeypatch.setattr(DisputesProjection, "version", built + 1)
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        assert e.projections.position(e.projections.projections[0]) == 0  # forgotten
        assert tables(e) == expected  # rebuilt from the log by the first read
        with e._read() as session:
            stored = session.execute(select(runner.read_models)).all()
    others = {p.name: p.version for p in e.projections.projections if p.name != "disputes"}
    assert dict(stored) == {"disputes": built + 1, **others}
    monkeypatch.setattr(DisputesProjection, "version", built)  # and back: rebuilt again
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        assert tables(e) == expected
