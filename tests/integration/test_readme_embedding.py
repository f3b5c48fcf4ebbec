"""The README's embedding example runs as written, on both databases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from escalation import EscalationEngine
from escalation.errors import InvalidInput

README = Path(__file__).resolve().parents[2] / "README.md"


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "readme_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    dispute: Mapped[str | None] = mapped_column(String(36))


def example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- embedding-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "the README lost its embedding example"
    return found.group(1)


def test_the_embedding_example_keeps_ticket_and_dispute_together(db_url: str) -> None:
    Base.metadata.create_all(create_engine(db_url))
    scope: dict[str, Any] = {"DATABASE_URL": db_url, "Ticket": Ticket, "__name__": "readme"}
    exec(compile(example(), "README.md", "exec"), scope)
    app, db, engine = scope["app"], scope["db"], scope["engine"]
    assert isinstance(engine, EscalationEngine)
    app.testing = True  # exceptions reach the test instead of a 500 page
    client = app.test_client()
    try:
        reply = client.post("/tickets", json={"title": "楼上噪音", "unit": "huangbei-c01"})
        assert reply.status_code == 200
        dispute = reply.get_json()["dispute"]
        assert engine.get(dispute).unit == "huangbei-c01"
        with pytest.raises(InvalidInput, match="unit"):  # refused: the transaction rolls back
            client.post("/tickets", json={"title": "漏水", "unit": "nowhere"})
        with Session(db) as s:
            assert [(t.title, t.dispute) for t in s.scalars(select(Ticket))] == [
                ("楼上噪音", dispute)
            ]
        assert [i.dispute_id for i in engine.queue(unit="huangbei-c01")] == [engine.get(dispute).id]
    finally:
        engine.shutdown()
        db.dispose()
