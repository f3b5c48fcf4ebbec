"""The persistence module: ``eventsourcing-sqlalchemy`` with a bulk row insert.

Selected with ``PERSISTENCE_MODULE=escalation.persistence:Factory``. Same tables, same
transactions, same table lock on PostgreSQL and the same NOTIFY; the only
difference is how rows go in. The stock recorder adds one ORM object per
event and flushes the unit of work, which costs more than the commit for a
dispute's three or four events; one Core ``executemany`` (with ``RETURNING``
for the notification ids) writes the same rows in a fraction of that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import insert, select
from sqlalchemy.orm import Session


class BulkApplicationRecorder(SQLAlchemyApplicationRecorder):
    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        table = self.events_record_cls.__table__
        rows = _rows(stored_events)
        self._lock_table(session)  # PostgreSQL: ids committed in order, followers skip none
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = [int(row[0]) for row in session.execute(statement, rows)]
        self._notify_channel(session)
        return ids

    def append_events(self, stored_events: Sequence[StoredEvent]) -> None:
        """Insert in one transaction without reading the ids back (bulk import).

        Without ``RETURNING`` the driver's own ``executemany`` runs the rows,
        about twice as fast; an id already taken raises ``IntegrityError``
        and writes nothing, like ``insert_events``.
        """
        if not stored_events:
            return
        table = self.events_record_cls.__table__
        rows = _rows(stored_events)
        with self.transaction(commit=True) as session:
            self._lock_table(session)
            session.execute(insert(table), rows)
            self._notify_channel(session)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The same rows as the stock method, read with Core instead of the ORM.

        The stock query builds an ORM object per row and then a notification
        from it; rebuilds, audits and exports read every row of the log.
        """
        table = self.events_record_cls.__table__
        c = table.c
        query = select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
        if start is not None:
            query = query.where(c.id >= start if inclusive_of_start else c.id > start)
        if stop is not None:
            query = query.where(c.id <= stop)
        if topics:
            query = query.where(c.topic.in_(topics))
        query = query.order_by(c.id).limit(limit)
        with self.transaction(commit=False) as session:
            return [
                Notification(
                    id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]) if isinstance(row[4], memoryview) else row[4],
                )
                for row in session.execute(query)
            ]


def _rows(stored_events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {
            "originator_id": e.originator_id,
            "originator_version": e.originator_version,
            "topic": e.topic,
            "state": e.state,
        }
        for e in stored_events
    ]


class Factory(SQLAlchemyFactory):
    application_recorder_class = BulkApplicationRecorder
