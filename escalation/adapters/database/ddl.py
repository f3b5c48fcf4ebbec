"""Creating tables when several processes start at once on an empty database.

``CREATE TABLE`` after a "does it exist?" check (SQLAlchemy's ``checkfirst``,
and ``eventsourcing-sqlalchemy``'s table creation) races between processes
starting together: both see no table, both create it, one fails. On
PostgreSQL a session advisory lock serialises the check-and-create across
processes; on SQLite, where one file has few writers, a creation that lost
the race is simply tried again (the retry's check then sees the table), and
so is one that found the file locked (switching a new file to WAL mode
needs it to itself for a moment).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

T = TypeVar("T")

#: Key of the PostgreSQL advisory lock held while creating tables ("escl").
SCHEMA_LOCK_KEY = 0x6573636C
_SQLITE_ATTEMPTS = 10
_SQLITE_RACES = ("already exists", "database is locked")


def create_serialised(bind: Engine | str, create: Callable[[], T]) -> T:
    """Run ``create`` (which creates tables if missing) with other processes kept out.

    ``bind`` is the engine (or URL) of the database the tables go to; ``create``
    may use its own connections: the lock is held on a separate one.
    """
    url = bind.url if isinstance(bind, Engine) else make_url(bind)
    if url.get_backend_name() == "postgresql":
        return _under_advisory_lock(bind, create)
    for attempt in range(_SQLITE_ATTEMPTS):
        try:
            return create()
        except Exception as exc:  # the driver's error type differs by path
            lost = any(race in str(exc) for race in _SQLITE_RACES)
            if not lost or attempt == _SQLITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _under_advisory_lock(bind: Engine | str, create: Callable[[], T]) -> T:
    engine = bind if isinstance(bind, Engine) else create_engine(bind, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            try:
                return create()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
                conn.rollback()
    finally:
        if engine is not bind:
            engine.dispose()
