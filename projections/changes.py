"""The change feed for host platforms: what happened, in log order, without personal data.

A change is one dispute event as a host needs it to act (send a letter or an
SMS when a dispute is escalated or a notice is issued): its position in the
log, the dispute, the event's name and time, and where the dispute stands
right after it (unit, tier, status, department). It is read from the log's
positions joined to the timeline read model, never from the event's text
fields: summaries, claims, locations and notes stay out.

``escalation_consumers`` keeps each named consumer's position. A consumer's
position moves in the same transaction as its handler's own writes
(``EscalationEngine.follow``), so each change is delivered to it exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, insert_missing
from projections.disputes import timeline

consumers = Table(
    "escalation_consumers",
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime),
)

# The event fields a change carries: names from the rule book, never people's text.
_CARRIED = {"Supervised": "notice", "Mediated": "outcome", "Closed": "outcome"}


@dataclass(frozen=True)
class Change:
    """One dispute event as a host sees it in the feed."""

    position: int  # in the log: strictly increasing; give it back as ``after``
    dispute_id: UUID
    version: int  # the dispute's own event number
    event: str  # Received, Escalated, Supervised, Closed, ...
    occurred_at: datetime
    unit: str  # where the dispute stands right after the event
    tier: str
    status: str
    department: str | None
    notice: str | None  # the notice issued (Supervised)
    outcome: str | None  # the outcome (Mediated, Closed)


def changes(session: Session, events: Table, *, after: int, limit: int, up_to: int) -> list[Change]:
    """The dispute events after position ``after`` (at most ``limit``, none past ``up_to``).

    ``up_to`` is the read model's position: later events have no timeline row yet.
    """
    t = timeline.c
    originator: Any = events.c.originator_id
    if session.get_bind().dialect.name == "sqlite":
        # The log keeps ids as 16 bytes there, the read models as 32 hex digits.
        originator = func.lower(func.hex(originator))
    query = (
        select(
            events.c.id,
            t.dispute_id,
            t.version,
            t.event,
            t.occurred_at,
            t.unit,
            t.tier,
            t.status,
            t.department,
            t.detail,
        )
        .join(
            timeline,
            and_(t.dispute_id == originator, t.version == events.c.originator_version),
        )
        .where(events.c.id > after, events.c.id <= up_to)
        .order_by(events.c.id)
        .limit(limit)
    )
    found: list[Change] = []
    for row in session.execute(query):
        carried = _CARRIED.get(row.event)
        value = json.loads(row.detail).get(carried) if carried else None
        found.append(
            Change(
                position=int(row.id),
                dispute_id=row.dispute_id,
                version=row.version,
                event=row.event,
                occurred_at=row.occurred_at,
                unit=row.unit,
                tier=row.tier,
                status=row.status,
                department=row.department,
                notice=value if carried == "notice" else None,
                outcome=value if carried == "outcome" else None,
            )
        )
    return found


def claim_position(session: Session, consumer: str) -> int:
    """The consumer's position, its row locked until the transaction ends.

    Two processes following as the same consumer take turns: the second
    reads the position the first committed.
    """
    insert_missing(session, consumers, [{"name": consumer, "position": 0}], key=["name"])
    mine = consumers.c.name == consumer
    query = select(consumers.c.position).where(mine)
    if session.get_bind().dialect.name == "sqlite":
        # No row locks: a write, even of nothing, takes the database write lock.
        session.execute(update(consumers).where(mine).values(position=consumers.c.position))
    else:
        query = query.with_for_update()
    return int(session.execute(query).scalar_one())


def move_position(session: Session, consumer: str, position: int, at: datetime) -> None:
    session.execute(
        update(consumers)
        .where(consumers.c.name == consumer)
        .values(position=position, updated_at=at)
    )


def positions(session: Session) -> dict[str, int]:
    """Every consumer's position (for ``status`` and operators)."""
    return {
        name: int(p) for name, p in session.execute(select(consumers.c.name, consumers.c.position))
    }
