"""Fast multi-row INSERT for the read models.

SQLAlchemy's ``executemany`` re-derives parameters per row through its
compiler; for the timeline (a row per event, thirty columns) that cost more
than the projection itself. Here the statement is compiled once per table
and dialect, each row becomes a tuple in one C call (``itemgetter``), and
only the columns whose type converts values (times, ids, booleans) go
through their bind processor. The SQL text and the conversions are
SQLAlchemy's own, so both backends behave as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Plan:
    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in statement order
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)


_PLANS: dict[tuple[str, str, frozenset[str]], _Plan | None] = {}


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    plan = _plan(connection.dialect, table, frozenset(rows[0]))
    if plan is None:  # a named paramstyle: keep SQLAlchemy's own path
        session.execute(insert(table), list(rows))
        return
    values, convert = plan.values, plan.convert
    if not convert:
        params: list[Any] = [values(row) for row in rows]
    else:
        params = []
        for row in rows:
            out = list(values(row))
            for i, process in convert:
                out[i] = process(out[i])
            params.append(tuple(out))
    connection.exec_driver_sql(plan.sql, params)


def _plan(dialect: Dialect, table: Table, keys: frozenset[str]) -> _Plan | None:
    key = (dialect.name, table.name, keys)
    if key in _PLANS:
        return _PLANS[key]
    columns = [c for c in table.columns if c.name in keys]
    statement = insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in columns})
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    plan = None
    if order is not None:
        by_name = {c.name: c for c in columns}
        convert = []
        for i, name in enumerate(order):
            process = by_name[name].type._cached_bind_processor(dialect)
            if process is not None:
                convert.append((i, process))
        getter = itemgetter(*order)
        values = getter if len(order) > 1 else (lambda row: (getter(row),))
        plan = _Plan(str(compiled), values, tuple(convert))
    _PLANS[key] = plan
    return plan
