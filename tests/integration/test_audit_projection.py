"""The audit projection: chain heads and digest checkpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from escalation import EscalationEngine, RuleBook
from escalation.adapters.log_digests import GENESIS
from escalation.aggregates.dispute import Dispute
from escalation.application.audit import timeline, verify, verify_dispute
from escalation.application.audit.export import export
from escalation.application.audit.log import log_rows
from projections.audit import AuditProjection, advance, audit_checkpoints, audit_heads
from projections.runner import ProjectionRunner
from tests.helpers import T0, build_log, hours, recomputed_chain

Tables = dict[str, list[tuple[Any, ...]]]


def audit_tables(engine: EscalationEngine) -> Tables:
    with engine.store.recorder.datastore.transaction(commit=False) as session:  # type: ignore[attr-defined]
        return {
            "heads": [
                tuple(r) for r in session.execute(select(audit_heads).order_by("dispute_id"))
            ],
            "checkpoints": [
                tuple(r) for r in session.execute(select(audit_checkpoints).order_by("position"))
            ],
        }


def rebuild_with(engine: EscalationEngine, projection: AuditProjection, page_size: int) -> None:
    runner = ProjectionRunner(engine.store, [projection], page_size=page_size)
    runner.reset(projection)
    runner.catch_up()


def more_commands(engine: EscalationEngine) -> None:
    for n in range(5):
        did = engine.receive(
            unit="c12", category="other", source="walk_in", summary=f"#{n}", received_at=T0
        )
        engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(n + 1))
        if n % 2:
            engine.catch_up()  # vary where the pages break


def test_rebuild_gives_the_same_tables_whatever_the_pages(engine: EscalationEngine) -> None:
    build_log(engine)
    more_commands(engine)
    engine.catch_up()
    incremental = audit_tables(engine)
    assert len(incremental["heads"]) == 9
    engine.rebuild("audit")
    assert audit_tables(engine) == incremental
    rebuild_with(engine, AuditProjection(), page_size=3)
    assert audit_tables(engine) == incremental


def test_heads_are_each_disputes_last_event(engine: EscalationEngine) -> None:
    ids = build_log(engine)
    with engine.store.recorder.datastore.transaction(commit=False) as session:  # type: ignore[attr-defined]
        heads = {r.dispute_id: r for r in session.execute(select(audit_heads))}
    assert set(heads) == set(ids.values())
    for did in ids.values():
        history = engine.history(did)
        chain = recomputed_chain(engine, did)
        assert (heads[did].version, heads[did].digest) == (len(history), chain[-1])
        last_rows = [r for r in log_rows(engine.store) if r.dispute_id == did]
        assert heads[did].position == last_rows[-1].position


def test_sealed_checkpoints_every_n_rows_and_a_tip(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        build_log(engine)
        rebuild_with(engine, AuditProjection(every=4), page_size=5)
        checkpoints = audit_tables(engine)["checkpoints"]
        rows = [r.stored for r in log_rows(engine.store)]
        running, expected = GENESIS, []
        for count, row in enumerate(rows, start=1):
            running = advance(running, row)
            if count % 4 == 0 or count == len(rows):
                expected.append((row.id, count, running, count % 4 == 0))
        assert checkpoints == expected
        assert verify(engine).ok


class RowlessAudit(AuditProjection):
    """As if a runner handed over the events only: ``apply`` reads the rows itself."""

    def apply_page(
        self, session: Session, notifications: Sequence[Notification], events: Sequence[Any]
    ) -> None:
        self.apply(session, events)


def test_apply_without_the_stored_rows_reads_them(engine: EscalationEngine) -> None:
    build_log(engine)
    more_commands(engine)
    engine.catch_up()
    expected = audit_tables(engine)
    rebuild_with(engine, RowlessAudit(), page_size=4)
    assert audit_tables(engine) == expected


def test_a_page_that_fails_midway_leaves_nothing_behind(
    engine: EscalationEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_log(engine)
    more_commands(engine)
    engine.catch_up()
    expected = audit_tables(engine)
    calls = {"n": 0}
    original = AuditProjection.apply_page

    def failing(
        self: AuditProjection,
        session: Session,
        notifications: Sequence[Notification],
        events: Sequence[Dispute.Event],
    ) -> None:
        original(self, session, notifications, events)  # rows written...
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")  # ...then the transaction dies

    monkeypatch.setattr(AuditProjection, "apply_page", failing)
    projection = AuditProjection()
    runner = ProjectionRunner(engine.store, [projection], page_size=4)
    runner.reset(projection)
    with pytest.raises(RuntimeError, match="killed"):
        runner.catch_up()
    assert 0 < runner.position(projection) < runner.head()
    runner.catch_up()
    assert audit_tables(engine) == expected


def test_verify_catches_an_edit_on_either_backend(engine: EscalationEngine) -> None:
    ids = build_log(engine)
    assert verify(engine).ok
    did = ids["reopened"]
    with engine.store.recorder.datastore.transaction(commit=True) as session:  # type: ignore[attr-defined]
        where = "WHERE originator_id = :id AND originator_version = 4"
        bind = {"id": did if session.get_bind().dialect.name == "postgresql" else did.bytes}
        raw = session.execute(text(f"SELECT state FROM escalation_events {where}"), bind).scalar()
        state = json.loads(bytes(raw))
        state["actor"] = "somebody else"
        session.execute(
            text(f"UPDATE escalation_events SET state = :s {where}"),
            {**bind, "s": json.dumps(state).encode()},
        )
    report = verify(engine)
    assert {(f.kind, f.dispute_id, f.version) for f in report.findings if f.dispute_id} == {
        ("altered", did, 4)
    }
    assert [f.kind for f in report.findings if f.dispute_id is None] == ["digest"]


def test_timeline_export_and_dispute_check_on_either_backend(engine: EscalationEngine) -> None:
    ids = build_log(engine)
    did = ids["stepwise"]
    entries = timeline(engine, did)
    history = engine.history(did)
    assert [(e.version, e.event) for e in entries] == [
        (h.originator_version, type(h).__name__) for h in history
    ]
    assert [e.position for e in entries] == sorted(e.position for e in entries)
    report = verify_dispute(engine, did)
    assert report.ok and report.events == len(history) and report.uncovered == 0
    out = io.StringIO()
    export(engine, out, what="timeline", dispute=did)
    assert [json.loads(x)["digest"] for x in out.getvalue().splitlines()] == recomputed_chain(
        engine, did
    )
