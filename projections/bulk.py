"""Fast multi-row INSERT for the read models.

SQLAlchemy's ``executemany`` re-derives parameters per row through its
compiler; for the timeline (a row per event, thirty columns) that cost more
than the projection itself. Here each column's own bind processor is looked
up once and the DBAPI cursor gets plain tuples; the SQL text and the
conversions are SQLAlchemy's own, so both backends behave as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = [c for c in table.columns if c.name in rows[0]]
    statement = insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in columns})
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    if order is None:  # a named paramstyle: keep SQLAlchemy's own path
        session.execute(insert(table), list(rows))
        return
    by_name = {c.name: c for c in columns}
    processors: list[tuple[str, Callable[[Any], Any] | None]] = [
        (name, by_name[name].type._cached_bind_processor(dialect)) for name in order
    ]
    params = [
        tuple(p(row[name]) if p is not None else row[name] for name, p in processors)
        for row in rows
    ]
    connection.exec_driver_sql(str(compiled), params)
