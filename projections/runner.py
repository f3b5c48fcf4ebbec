"""Keeps projections caught up with the event log, exactly once.

Pull-based, so it works on SQLite (no LISTEN/NOTIFY): read the notification
log in pages after the lowest tracked position, hand each projection the
events it has not seen, and record each projection's new position (the
``eventsourcing`` tracking table) in the same transaction as its rows. A
crash between pages loses nothing and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from sqlalchemy import delete

from escalation.aggregates.dispute import Dispute
from projections.base import Projection

Progress = Callable[[int, int], None]  # (position reached, last position)


class ProjectionRunner:
    def __init__(
        self, app: Application[Any], projections: Sequence[Projection], page_size: int = 2000
    ) -> None:
        self.app = app
        self.projections = list(projections)
        self.page_size = page_size
        self.recorder: Any = cast(Any, app.recorder)  # the eventsourcing-sqlalchemy recorder
        self.datastore: Any = self.recorder.datastore
        self.tracking: Any = app.factory.tracking_recorder()
        for projection in self.projections:
            for table in projection.tables:
                table.create(self.datastore.engine, checkfirst=True)

    def key(self, projection: Projection) -> str:
        return f"{self.app.name}.{projection.name}"[:32]

    def position(self, projection: Projection) -> int:
        return int(self.tracking.max_tracking_id(self.key(projection)) or 0)

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def lag(self) -> int:
        head = self.head()
        return max((head - self.position(p) for p in self.projections), default=0)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply every new event to every projection; returns events applied."""
        positions = {p.name: self.position(p) for p in self.projections}
        start = min(positions.values(), default=0)
        head = self.head()
        applied = 0
        while start < head:
            page = self.recorder.select_notifications(start=start + 1, limit=self.page_size)
            if not page:
                break
            events = [cast(Dispute.Event, self.app.mapper.to_domain_event(n)) for n in page]
            last = page[-1].id
            with self.datastore.transaction(commit=True) as session:
                for projection in self.projections:
                    seen = positions[projection.name]
                    fresh = [e for n, e in zip(page, events, strict=True) if n.id > seen]
                    if not fresh:
                        continue
                    # Raises IntegrityError if another process got there first.
                    self.tracking._insert_tracking(session, Tracking(self.key(projection), last))
                    projection.apply(session, fresh)
                    positions[projection.name] = last
            applied += len(page)
            start = last
            if progress is not None:
                progress(last, head)
        return applied

    def reset(self, projection: Projection) -> None:
        """Empty a projection and forget its position, ready to rebuild."""
        with self.datastore.transaction(commit=True) as session:
            for table in projection.tables:
                session.execute(delete(table))
            session.execute(
                delete(self.tracking.tracking_table).where(
                    self.tracking.tracking_table.c.application_name == self.key(projection)
                )
            )
