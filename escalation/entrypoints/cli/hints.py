"""One-line hints for a store whose clock stopped: the demo's, or an untended one.

A store's events end where its last day ended (the demo's month, a copy taken
for a what-if); people reading it later judge "overdue" against today and see
every dispute late, or simulate a period the store was never ticked through.
These hints name the exact option or command that reads it as of its own time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from escalation.aggregates.times import as_utc
from escalation.application.engine import DEFAULT_URL
from projections.disputes import disputes, timeline

#: A store quiet for longer than this is read as of its own last day (a weekend is not).
STALE_AFTER = timedelta(days=1)
_OVERDUE = "hint: overdue is judged against today"


def newest_event_at(session: Session) -> datetime | None:
    """When the newest event of the store occurred (the read model's timeline)."""
    newest = session.execute(select(func.max(timeline.c.occurred_at))).scalar()
    return as_utc(newest) if newest is not None else None


def stale_day(newest: datetime | None, now: datetime, zone: ZoneInfo) -> str | None:
    """The store's last local day, when its newest event is older than ``STALE_AFTER``."""
    if newest is None or now - newest <= STALE_AFTER:
        return None
    return newest.astimezone(zone).date().isoformat()


def as_of_hint(newest: datetime | None, now: datetime, zone: ZoneInfo) -> str | None:
    """The ``--as-of`` of the store's last day, when the store is stale."""
    day = stale_day(newest, now, zone)
    return None if day is None else f"{_OVERDUE}; the store's last day: --as-of {day}"


def last_day_hint(newest: datetime | None, now: datetime, zone: ZoneInfo) -> str | None:
    """For lists without ``--as-of`` (follow-ups): the store's last day, when it is stale."""
    day = stale_day(newest, now, zone)
    return None if day is None else f"{_OVERDUE}; the store's last event is of {day}"


def untended(session: Session, horizon: datetime) -> int:
    """Open disputes whose next time-driven action fell due by ``horizon`` unapplied.

    A store ticked up to ``horizon`` has none: a tick applies every action due by
    its time and moves ``next_due_at`` on. A store without read models shows none.
    """
    if not inspect(session.connection()).has_table(disputes.name):
        return 0
    d = disputes.c
    query = select(func.count()).where(d.status == "open", d.next_due_at <= horizon)
    return int(session.execute(query).scalar_one())


def untended_warning(count: int, horizon: datetime, zone: ZoneInfo, db: str) -> str | None:
    """The one line ``rules simulate`` prints when ticks are missing before ``horizon``."""
    if count == 0:
        return None
    at = horizon.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
    on = "" if db == DEFAULT_URL else f" --db {db}"
    return (
        f"warning: the store was not ticked up to the horizon ({count} open "
        f"{'dispute' if count == 1 else 'disputes'} with actions due by then): differences "
        f"there may only be missing ticks; run `escalation tick --at {at}{on}` first"
    )
