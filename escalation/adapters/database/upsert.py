"""Insert-or-update (or insert-if-missing) many rows in one statement, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECTS: dict[str, Any] = {"postgresql": postgresql, "sqlite": sqlite}


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: list[str]) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` every other column.

    Rows are written in key order, so two transactions upserting overlapping
    rows on PostgreSQL lock them in the same order and cannot deadlock.
    """
    if not rows:
        return
    stmt = _insert(session, table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    ordered = sorted(rows, key=lambda row: tuple(row[k] for k in key))
    session.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates), ordered)


def insert_missing(
    session: Session | Connection, table: Table, rows: Sequence[dict[str, Any]], key: list[str]
) -> None:
    """``INSERT ... ON CONFLICT (key) DO NOTHING``: add the rows whose key is not there yet."""
    if rows:
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=key)
        session.execute(stmt, sorted(rows, key=lambda row: tuple(row[k] for k in key)))


def _insert(session: Session | Connection, table: Table) -> Any:
    """The dialect's own ``insert`` (the one with ``ON CONFLICT``)."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    module = _DIALECTS.get(dialect)
    if module is None:
        raise NotImplementedError(
            f"upsert into {table.name}: the {dialect} dialect is not supported; "
            "use SQLite or PostgreSQL"
        )
    return module.insert(table)
