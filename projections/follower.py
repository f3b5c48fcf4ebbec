"""A projection follower: a process that keeps the read models current.

The engine catches the read models up before every read and tick, so a
follower is never needed for correctness; it keeps them warm, so readers
(dashboards, ``queue``, reviews) find nothing left to apply. Any number of
followers may run next to any number of writers: each page is applied once,
whoever gets to it (see ``ProjectionRunner.catch_up``).

On PostgreSQL the follower sleeps until the event store's ``NOTIFY`` (sent
with every write, on a channel named after the events table) and catches up
at once; on SQLite, which has no notifications, it polls.
"""

from __future__ import annotations

import threading
from typing import Any

from projections.runner import ProjectionRunner


def follow(
    runner: ProjectionRunner,
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Catch up now and after every write (PostgreSQL) or every ``interval`` s (SQLite).

    Returns when ``stop`` is set (checked at least every ``interval`` seconds).
    """
    stop = stop or threading.Event()
    engine: Any = runner.datastore.engine
    if engine.dialect.name != "postgresql":
        while not stop.is_set():
            runner.catch_up()
            stop.wait(interval)
        return
    pooled = engine.raw_connection()  # a connection of its own, kept while following
    try:
        listener: Any = pooled.driver_connection  # the psycopg connection
        listener.autocommit = True
        listener.execute(f'LISTEN "{runner.recorder.channel_name}"')
        while not stop.is_set():
            runner.catch_up()
            # Wake on the next write; the timeout only bounds how late `stop` is seen.
            for _ in listener.notifies(timeout=interval, stop_after=1):
                pass
    finally:
        pooled.invalidate()  # its session state (LISTEN, autocommit) must not go back to the pool
