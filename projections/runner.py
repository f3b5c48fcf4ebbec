"""Keeps projections caught up with the event log, exactly once.

Pull-based, so it works on SQLite (no LISTEN/NOTIFY): read the notification
log in pages after the lowest tracked position, hand each projection the
events it has not seen, and record each projection's new position (the
``eventsourcing`` tracking table) in the same transaction as its rows. A
crash between pages loses nothing and repeats nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking
from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from escalation.adapters.database import create_serialised, insert_missing
from escalation.adapters.logs import get_logger
from escalation.aggregates.dispute import Dispute
from escalation.progress import Progress
from projections.base import Projection
from projections.changes import consumers

#: Times one catch-up may lose the race to insert a first tracking row.
MAX_LOST_RACES = 8
#: A projection caught up from the start of a log at least this long (a rebuild,
#: the first catch-up after a bulk import) gets its secondary indexes built once
#: at the end: one sort instead of a B-tree insert per row per index.
DEFER_INDEXES_FROM = 20_000
log = get_logger("projections.runner")

#: The schema version each projection's tables were built at (``Projection.version``).
#: A store from before this table has every projection at version 1.
read_models = Table(
    "escalation_read_models",
    MetaData(),
    Column("name", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)


class ProjectionRunner:
    def __init__(
        self, app: Application[Any], projections: Sequence[Projection], page_size: int = 2000
    ) -> None:
        self.app = app
        self.projections = list(projections)
        self.page_size = page_size
        self.recorder: Any = cast("Any", app.recorder)  # the eventsourcing-sqlalchemy recorder
        # The read models hold no personal data: decode without opening sealed
        # fields (no data-key lookups; they read as "[sealed]").
        mapper: Any = copy.copy(app.mapper)
        mapper.keyring = None
        self.mapper: Any = mapper
        self.datastore: Any = self.recorder.datastore
        self.retries = 0  # pages tried again after losing a race to another process
        self.tracking: Any = create_serialised(self.datastore.engine, self._create_tables)

    def _create_tables(self) -> Any:
        tracking = self.app.factory.tracking_recorder()
        read_models.create(self.datastore.engine, checkfirst=True)
        consumers.create(self.datastore.engine, checkfirst=True)  # the change feed's positions
        for projection in self.projections:
            self._rebuild_if_outdated(projection, tracking)
            for table in projection.tables:
                table.create(self.datastore.engine, checkfirst=True)
        # A catch-up killed while its indexes were deferred left them out.
        self._create_indexes(self.projections)
        return tracking

    def _rebuild_if_outdated(self, projection: Projection, tracking: Any) -> None:
        """Drop a projection built at another schema version; the next catch-up rebuilds it.

        Runs under the schema lock (``create_serialised``), before its tables are created.
        """
        with self.datastore.engine.begin() as conn:
            stored = conn.execute(
                select(read_models.c.version).where(read_models.c.name == projection.name)
            ).scalar_one_or_none()
            if stored is None:
                built = inspect(conn).has_table(projection.tables[0].name)
                # Tables built before versions were recorded have the first shape.
                first = 1 if built else projection.version
                # Processes starting together: the first row written stands.
                insert_missing(
                    conn, read_models, [{"name": projection.name, "version": first}], ["name"]
                )
                stored = conn.execute(
                    select(read_models.c.version).where(read_models.c.name == projection.name)
                ).scalar_one()
            if stored == projection.version:
                return
            for table in reversed(projection.tables):
                table.drop(conn, checkfirst=True)
            table = tracking.tracking_table
            conn.execute(delete(table).where(table.c.application_name == self.key(projection)))
            conn.execute(
                update(read_models)
                .where(read_models.c.name == projection.name)
                .values(version=projection.version)
            )
        log.info(
            "projection.outdated", projection=projection.name, was=stored, now=projection.version
        )

    def named(self, name: str) -> Projection:
        """The projection called ``name`` (a read model's position is asked by name)."""
        return next(p for p in self.projections if p.name == name)

    def key(self, projection: Projection) -> str:
        return f"{self.app.name}.{projection.name}"[:32]

    def position(self, projection: Projection) -> int:
        return int(self.tracking.max_tracking_id(self.key(projection)) or 0)

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def lag(self) -> int:
        head = self.head()
        return max((head - self.position(p) for p in self.projections), default=0)

    def catch_up(self, progress: Progress | None = None, stop: int | None = None) -> int:
        """Apply every new event (up to position ``stop``) to every projection.

        Returns how many events were applied.

        Safe with several processes catching up at once: each page's
        transaction first locks the projections' tracking rows (PostgreSQL:
        ``SELECT ... FOR UPDATE``; SQLite: its database write lock) and reads
        the positions again under the lock, so a page is never applied twice.
        """
        positions = {p.name: self.position(p) for p in self.projections}
        start = min(positions.values(), default=0)
        head = self.head() if stop is None else min(stop, self.head())
        deferred = [
            p for p in self.projections if positions[p.name] == 0 and head >= DEFER_INDEXES_FROM
        ]
        self._drop_indexes(deferred)
        try:
            return self._pages(start, head, progress)
        finally:
            self._create_indexes(deferred)

    def _pages(self, start: int, head: int, progress: Progress | None) -> int:
        applied = lost = 0
        while start < head:
            page = self.recorder.select_notifications(
                start=start + 1, limit=self.page_size, stop=head
            )
            if not page:
                break
            events = [cast("Dispute.Event", self.mapper.to_domain_event(n)) for n in page]
            last = page[-1].id
            try:
                with self.datastore.transaction(commit=True) as session:
                    # Another process may have applied (part of) this page since
                    # the positions were read: lock and read them again.
                    positions = self._lock_positions(session)
                    low = min(positions.values(), default=0)
                    if low < start:  # a projection was reset meanwhile: page from there
                        start = low
                        continue
                    for projection in self.projections:
                        seen = positions[projection.name]
                        fresh = [e for n, e in zip(page, events, strict=True) if n.id > seen]
                        if not fresh:
                            continue
                        self.tracking._insert_tracking(
                            session, Tracking(self.key(projection), last)
                        )
                        session.flush()  # a concurrent first insert fails here, before any rows
                        projection.apply_page(session, page[len(page) - len(fresh) :], fresh)
            except IntegrityError:
                # Two processes inserted a projection's first tracking row at once.
                self.retries += 1
                lost += 1
                log.debug("projection.race_lost", position=start, attempt=lost)
                if lost > MAX_LOST_RACES:
                    raise
                continue  # this page again; the positions are re-read under the lock
            applied += sum(1 for n in page if n.id > low)
            log.debug("projection.page", first=page[0].id, last=last, head=head, events=len(page))
            start = max(last, low)
            if progress is not None:
                progress(last, head)
        return applied

    def _drop_indexes(self, projections: Sequence[Projection]) -> None:
        for index in _secondary_indexes(projections):
            index.drop(self.datastore.engine, checkfirst=True)
        if projections:
            log.info("projection.indexes_deferred", projections=[p.name for p in projections])

    def _create_indexes(self, projections: Sequence[Projection]) -> None:
        for index in _secondary_indexes(projections):
            index.create(self.datastore.engine, checkfirst=True)

    def _lock_positions(self, session: Session) -> dict[str, int]:
        """Every projection's position, read after locking its tracking row."""
        table = self.tracking.tracking_table
        names = {self.key(p): p.name for p in self.projections}
        mine = table.c.application_name.in_(list(names))
        query = select(table.c.application_name, table.c.notification_id).where(mine)
        if session.get_bind().dialect.name == "sqlite":
            # No row locks: a write, even of no rows, takes the database write lock.
            session.execute(
                update(table).where(mine).values(notification_id=table.c.notification_id)
            )
        else:
            query = query.order_by(table.c.application_name).with_for_update()
        found = {names[name]: int(position or 0) for name, position in session.execute(query)}
        return {p.name: found.get(p.name, 0) for p in self.projections}

    def reset(self, projection: Projection) -> None:
        """Empty a projection and forget its position, ready to rebuild."""
        with self.datastore.transaction(commit=True) as session:
            tracking = self.tracking.tracking_table
            bind = session.get_bind()
            if bind.dialect.name == "postgresql":
                # Wait for pages in flight and keep new ones out until this commits.
                name = bind.dialect.identifier_preparer.format_table(tracking)
                session.execute(text(f"LOCK TABLE {name} IN EXCLUSIVE MODE"))
            session.execute(
                delete(tracking).where(tracking.c.application_name == self.key(projection))
            )
            for table in projection.tables:
                session.execute(delete(table))
        log.info("projection.reset", projection=projection.name)


def _secondary_indexes(projections: Sequence[Projection]) -> list[Index]:
    return [i for p in projections for table in p.tables for i in table.indexes]
