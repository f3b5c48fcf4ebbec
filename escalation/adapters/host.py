"""Working inside a host platform's own transaction.

A host hands the engine its SQLAlchemy ``Session`` or ``Connection``; the
store then reads and writes through it (``DisputeLog.joined``). Three things
make that safe:

* every store transaction becomes a SAVEPOINT in the host's transaction and
  is never committed here (``JoinedTransaction``): a failed write rolls back
  to its savepoint, so the host's transaction stays usable, even on
  PostgreSQL, where an error otherwise aborts the whole transaction;
* a ``Connection`` is wrapped in a ``Session`` that joins its transaction
  with a savepoint of its own, so closing the wrapper never ends the host's;
* on SQLite, Python's driver opens a transaction only before a write, and a
  SAVEPOINT outside one starts a transaction that its RELEASE *commits*. So
  a real transaction is begun first (``BEGIN IMMEDIATE`` for commands: it
  takes the write lock up front instead of failing to upgrade a read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.persistence import PersistenceError
from eventsourcing_sqlalchemy.datastore import Transaction, exception_classes
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

#: What a host may pass as ``session=``.
HostSession = Session | Connection


class JoinedTransaction(Transaction):
    """eventsourcing-sqlalchemy's transaction as a savepoint of the host's, never committed.

    The stock class begins, commits and closes a session of its own, and
    translates the driver's errors only at the outermost level. Here each
    entry, nested or not, takes a savepoint and translates: the recorders
    enter once per read or write, so a failed insert undoes only itself and
    reaches the command as ``eventsourcing``'s ``IntegrityError`` (a retry).
    """

    def __init__(self, session: Session) -> None:
        super().__init__(session, commit=True, lock=None, is_scoped_session=True)
        self._savepoints: list[SessionTransaction] = []

    def __enter__(self) -> Session:
        self._savepoints.append(self.session.begin_nested())
        self.nested_level += 1
        return self.session

    def __exit__(self, exc_type: object, exc_val: object, exc_tb: object) -> None:
        self.nested_level -= 1
        savepoint = self._savepoints.pop()
        if exc_val is None:
            try:
                savepoint.commit()  # RELEASE: the host's transaction keeps the rows
            except SQLAlchemyError as error:
                exc_val = error
        if exc_val is not None and savepoint.is_active:  # (inner errors rolled it back already)
            savepoint.rollback()
        if isinstance(exc_val, SQLAlchemyError):
            translated = exception_classes.get(type(exc_val).__name__, PersistenceError)
            raise translated(exc_val) from exc_val


@contextmanager
def host_session(host: HostSession, *, write: bool) -> Iterator[Session]:
    """A session for the store on the host's transaction (see the module's notes)."""
    if isinstance(host, Session):
        _begin_sqlite(host.connection(), write=write)
        yield host
        return
    if not host.in_transaction():
        host.begin()  # the host's to commit: joined below, never committed here
    _begin_sqlite(host, write=write)
    wrapper = Session(bind=host, join_transaction_mode="create_savepoint")
    try:
        yield wrapper
        wrapper.commit()  # releases the wrapper's savepoint, not the host's transaction
    finally:
        wrapper.close()


def _begin_sqlite(connection: Connection, *, write: bool) -> None:
    if connection.dialect.name != "sqlite":
        return
    driver: Any = connection.connection.driver_connection
    if not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def same_database(host: HostSession, engine: Engine) -> bool:
    """Whether the host's session is on the engine's database (same server and database)."""
    bind = host.get_bind() if isinstance(host, Session) else host
    theirs = bind.engine if isinstance(bind, Connection) else bind
    if theirs is engine:
        return True
    return _where(theirs.url) == _where(engine.url)


def _where(url: URL) -> tuple[object, ...]:
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database.startswith("file:"):  # a URI filename: file:/path?mode=ro
            database = database[5:].split("?", 1)[0]
        return ("sqlite", str(Path(database).resolve()) if database else ":memory:")
    return (url.get_backend_name(), url.host, url.port or 5432, url.database)
