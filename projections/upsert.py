"""Insert-or-update many rows in one statement, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: list[str]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    session.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates), list(rows))
