"""A host platform's own transaction decides: the engine writes inside it and commits nothing.

The host here has a model of its own (``tickets``) in the same database, as
a platform embedding the engine would; every test runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from escalation import EscalationEngine, RuleBook
from escalation.errors import (
    EscalationError,
    IllegalTransition,
    InvalidInput,
    RequestConflict,
    StorageError,
    UnknownDispute,
)
from tests.helpers import T0, hours


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    """The host's own record of a complaint, pointing at the engine's dispute."""

    __tablename__ = "host_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    dispute: Mapped[str | None] = mapped_column(String(36))


@pytest.fixture
def host(db_url: str) -> Iterator[Engine]:
    bind = create_engine(db_url)
    Base.metadata.create_all(bind)
    yield bind
    bind.dispose()


@pytest.fixture
def embedded(small_rules: RuleBook, host: Engine) -> Iterator[EscalationEngine]:
    with EscalationEngine(small_rules, bind=host, clock=lambda: T0 + hours(1)) as engine:
        yield engine


def receive(engine: EscalationEngine, session: Any, **extra: Any) -> UUID:
    values: dict[str, Any] = {
        "unit": "c11",
        "category": "neighbour",
        "source": "walk_in",
        "summary": "noise at night",
        "received_at": T0,
    }
    values.update(extra)
    return engine.receive(**values, session=session)


def tickets(host: Engine) -> list[tuple[str, str | None]]:
    with Session(host) as s:
        return [(t.title, t.dispute) for t in s.scalars(select(Ticket).order_by(Ticket.id))]


def event_rows(engine: EscalationEngine) -> int:
    with engine._read() as s:
        return int(s.execute(select(func.count()).select_from(engine.store.events_table)).scalar())


def test_the_hosts_commit_keeps_its_ticket_and_the_dispute(
    embedded: EscalationEngine, host: Engine, small_rules: RuleBook, db_url: str
) -> None:
    with Session(host) as s, s.begin():
        ticket = Ticket(title="noise")
        s.add(ticket)
        s.flush()  # SQLite: the host now holds the write lock; the engine must not wait for it
        did = receive(embedded, s)
        ticket.dispute = str(did)
    assert tickets(host) == [("noise", str(did))]
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as other:
        assert other.get(did).unit == "c11"
        assert [i.dispute_id for i in other.queue(unit="c11")] == [did]
        assert other.history(did)[0].summary == "noise at night"  # type: ignore[attr-defined]


def test_the_hosts_rollback_leaves_nothing_behind(embedded: EscalationEngine, host: Engine) -> None:
    before = event_rows(embedded)
    with Session(host) as s, s.begin():
        s.add(Ticket(title="noise"))
        did = receive(embedded, s)
        assert embedded.get(did, session=s).unit == "c11"  # its own write, before commit
        assert did in [i.dispute_id for i in embedded.queue(unit="c11", session=s)]
        s.rollback()
    assert tickets(host) == []
    assert event_rows(embedded) == before
    with pytest.raises(UnknownDispute):
        embedded.get(did)
    assert embedded.queue(unit="c11") == []  # the read model rolled back with the events
    assert embedded.catch_up() == 0


def test_uncommitted_work_is_invisible_to_others(
    embedded: EscalationEngine, host: Engine, small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as other:
        with Session(host) as s, s.begin():
            did = receive(embedded, s)
            with pytest.raises(UnknownDispute):
                other.get(did)
        assert other.get(did).unit == "c11"


def test_a_failed_command_writes_nothing_and_the_host_carries_on(
    embedded: EscalationEngine, host: Engine
) -> None:
    with Session(host) as s, s.begin():
        did = receive(embedded, s, request_id="form-1")
        embedded.close(did, outcome="resolved", actor="clerk", session=s)
        written = event_rows(embedded) if embedded.url.startswith("postgresql") else None
        with pytest.raises(IllegalTransition):
            embedded.close(did, outcome="resolved", actor="clerk", session=s)
        with pytest.raises(UnknownDispute):
            embedded.mediate(UUID(int=7), outcome="failed", mediator="m", session=s)
        with pytest.raises(RequestConflict):  # a unique-key violation in the database
            receive(embedded, s, request_id="form-1", summary="another text")
        with pytest.raises(InvalidInput):
            embedded.escalate(did, reason=123, actor="clerk", session=s)  # type: ignore[arg-type]
        s.add(Ticket(title="after the failures", dispute=str(did)))  # still usable
        if written is not None:
            assert event_rows(embedded) == written  # (committed rows only, on PostgreSQL)
    assert tickets(host) == [("after the failures", str(did))]
    assert [type(e).__name__ for e in embedded.history(did)][-1] == "Closed"
    assert embedded.get(did).status == "closed"
    assert len([e for e in embedded.history(did) if type(e).__name__ == "Closed"]) == 1


def test_a_connection_works_as_a_session(embedded: EscalationEngine, host: Engine) -> None:
    table = Ticket.__table__
    with host.connect() as conn:
        conn.execute(table.insert().values(title="kept"))
        kept = receive(embedded, conn)
        conn.commit()
        conn.execute(table.insert().values(title="dropped"))
        dropped = receive(embedded, conn, summary="other")
        assert embedded.get(dropped, session=conn).unit == "c11"
        conn.rollback()
    assert tickets(host) == [("kept", None)]
    assert embedded.get(kept).unit == "c11"
    with pytest.raises(UnknownDispute):
        embedded.get(dropped)


def test_a_connection_without_a_transaction_is_not_committed_by_the_engine(
    embedded: EscalationEngine, host: Engine
) -> None:
    with host.connect() as conn:
        did = receive(embedded, conn)
        assert conn.in_transaction()  # begun for the host, left for the host to end
        conn.rollback()
    with pytest.raises(UnknownDispute):
        embedded.get(did)


def test_ticks_inside_the_host_transaction_roll_back_with_it(
    embedded: EscalationEngine, host: Engine
) -> None:
    with Session(host) as s, s.begin():
        did = receive(embedded, s)
    history = len(embedded.history(did))
    with Session(host) as s, s.begin():
        report = embedded.tick(T0 + hours(40), session=s)
        assert report.total > 0
        assert len(embedded.history(did, session=s)) > history
        assert embedded.timeline(did, session=s)[-1].event == "Supervised"
        s.rollback()
    assert len(embedded.history(did)) == history
    assert embedded.tick(T0 + hours(40)).total == report.total  # all still due


def test_an_engine_on_the_hosts_engine_leaves_its_pool_open(
    small_rules: RuleBook, host: Engine
) -> None:
    with EscalationEngine(small_rules, bind=host, clock=lambda: T0) as engine:
        assert engine.store.database is host
        assert engine.url == host.url.render_as_string(hide_password=True)
    with Session(host) as s:  # shutdown did not dispose the host's engine
        assert s.execute(select(func.count()).select_from(Ticket)).scalar() == 0


def test_a_session_on_another_database_is_refused(
    embedded: EscalationEngine, new_db_url: Any
) -> None:
    elsewhere = create_engine(new_db_url())
    try:
        with (
            Session(elsewhere) as s,
            s.begin(),
            pytest.raises(StorageError, match="another database"),
        ):
            receive(embedded, s)
    finally:
        elsewhere.dispose()


@pytest.mark.parametrize("wrong", ["sqlite:///x.db", 42, object()])
def test_a_session_that_is_not_one_is_refused(embedded: EscalationEngine, wrong: object) -> None:
    with pytest.raises(InvalidInput, match="Session or Connection"):
        receive(embedded, wrong)


def test_one_database_only(small_rules: RuleBook, host: Engine, db_url: str) -> None:
    with pytest.raises(InvalidInput, match="one database"):
        EscalationEngine(small_rules, url=db_url, bind=host)


def test_without_a_session_a_locked_sqlite_file_is_a_storage_error(
    small_rules: RuleBook, tmp_path: Path
) -> None:
    # SQLite only: there the host's write lock covers the whole file.
    host = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    Base.metadata.create_all(host)
    with (
        EscalationEngine(small_rules, bind=host, clock=lambda: T0) as engine,
        Session(host) as s,
        s.begin(),
    ):
        s.add(Ticket(title="holds the write lock"))
        s.flush()
        with pytest.raises(StorageError, match="session=") as caught:
            receive(engine, None)
        assert isinstance(caught.value, EscalationError)
    host.dispose()


def test_every_query_reads_the_transactions_own_writes(
    embedded: EscalationEngine, host: Engine
) -> None:
    with Session(host) as s, s.begin():
        did = receive(embedded, s)
        embedded.mediate(did, outcome="failed", mediator="m", at=T0 + hours(1), session=s)
        assert embedded.state_at(did, T0 + hours(0.5), session=s).mediations == 0
        assert "Mediated" in [type(e).__name__ for e in embedded.history(did, session=s)]
        assert "Mediated" in [row.event for row in embedded.timeline(did, session=s)]
        assert embedded.figures("2026-03", session=s).received == 1
        days, counts = embedded.backlog("2026-03", session=s)
        assert counts[days.index(T0.date())]["community"] == 1
        assert embedded.changes(session=s)[-1].dispute_id == did
        assert embedded.catch_up(session=s) == 0  # already caught up, inside the transaction
        s.rollback()
    assert embedded.figures("2026-03").received == 0
    assert embedded.changes() == []
