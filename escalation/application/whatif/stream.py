"""Reading the live dispute log, read-only, one whole dispute at a time.

Two passes over the notification log, both in pages: the first (one grouped
query, nothing decoded) learns how many events each dispute has up to the
log's head; the second decodes events in log order, gathers them per dispute
and hands a dispute over as soon as its last event has been read. Memory
holds the disputes still in progress at that point of the log, not the log;
if that grows past ``max_buffered`` events (disputes that stay open for
months), the oldest are dropped from memory and read again at the end, one
index-backed query each.

Pages are read with a Core ``select`` on the recorder's own events table
and decoded by the store's mapper (``to_domain_event``): the same rows
``recorder.select_notifications`` returns, without building an ORM object
per row, which made it a third of the run.

The store comes from ``escalation.bootstrap.open_log``, opened so that
nothing can be written: SQLite files read-only, no table ever created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import func, select

from escalation.adapters.store import DisputeLog
from escalation.aggregates.dispute import Dispute

Keep = Callable[[Dispute.Received], bool]
Part = tuple[int, int]  # (this part, of how many): disputes split by id


class LogReader:
    def __init__(
        self, store: DisputeLog, *, page_size: int = 5000, max_buffered: int = 500_000
    ) -> None:
        self.store = store
        self._table = store.events_table
        self.page_size = page_size
        self.max_buffered = max_buffered
        self.reread = 0  # disputes read again at the end (memory bound reached)
        self.total = 0  # set when ``disputes`` starts

    def head(self) -> int:
        """Position of the last event now in the log; a run reads up to here."""
        return int(self.store.recorder.max_notification_id() or 0)

    def last_event_time(self, head: int, tail: int = 10_000) -> datetime | None:
        """The latest event time among the last ``tail`` events written by ``head``.

        The log is written in time order except for decisions dated when they
        fell due and facts recorded late, so the latest time is near its end.
        """
        latest: datetime | None = None
        for row in self._rows(head, after=max(0, head - tail)):
            at = self._decode(row).occurred_at
            latest = at if latest is None or at > latest else latest
        return latest

    def lengths(self, head: int, part: Part = (0, 1)) -> dict[UUID, int]:
        """Events per dispute up to ``head`` (its last version), for one part."""
        t = self._table
        query = (
            select(t.c.originator_id, func.max(t.c.originator_version))
            .where(t.c.id <= head)
            .group_by(t.c.originator_id)
        )
        with self.store.reading() as session:
            rows = session.execute(query).all()
        ids = ((i if isinstance(i, UUID) else UUID(str(i)), int(n)) for i, n in rows)
        return {i: n for i, n in ids if _mine(i, part)}

    def disputes(
        self, head: int, *, part: Part = (0, 1), keep: Keep | None = None
    ) -> Iterator[list[Dispute.Event]]:
        """Each dispute's events up to ``head``, oldest first; ``keep`` picks by receipt."""
        expected = self.lengths(head, part)
        self.total = len(expected)  # disputes in this part (before selection)
        buffers: dict[UUID, list[Dispute.Event]] = {}
        deferred: set[UUID] = set()
        held = 0
        for row in self._rows(head):
            oid = row[0]
            if oid not in expected or oid in deferred:
                continue
            event = self._decode(row)
            events = buffers.get(oid)
            if events is None:
                chosen = isinstance(event, Dispute.Received) and (keep is None or keep(event))
                if not chosen:
                    del expected[oid]  # not a dispute, or not selected: skip the rest of it
                    continue
                events = buffers[oid] = []
            events.append(event)
            held += 1
            if len(events) == expected[oid]:
                del buffers[oid], expected[oid]
                held -= len(events)
                yield events
            elif held > self.max_buffered:
                for old in list(buffers)[: max(1, len(buffers) // 2)]:
                    held -= len(buffers.pop(old))
                    deferred.add(old)
        yield from buffers.values()  # only if the log changed under us
        for oid in deferred:
            self.reread += 1
            yield cast("list[Dispute.Event]", list(self.store.events.get(oid, lte=expected[oid])))

    def _rows(self, head: int, after: int = 0) -> Iterator[Any]:
        t = self._table
        columns = (t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state, t.c.id)
        position = after
        while position < head:
            query = (
                select(*columns)
                .where(t.c.id > position, t.c.id <= head)
                .order_by(t.c.id)
                .limit(self.page_size)
            )
            with self.store.reading() as session:
                rows = session.execute(query).all()
            if not rows:
                return
            position = rows[-1][4]
            self.store.preload_keys({r[0] for r in rows})  # one query per page, not per dispute
            yield from rows

    def _decode(self, row: Any) -> Dispute.Event:
        oid, version, topic, state = row[0], row[1], row[2], row[3]
        stored = StoredEvent(
            originator_id=oid,
            originator_version=version,
            topic=topic,
            state=bytes(state) if isinstance(state, memoryview) else state,
        )
        return cast("Dispute.Event", self.store.mapper.to_domain_event(stored))


def _mine(oid: UUID, part: Part) -> bool:
    index, parts = part
    return parts <= 1 or oid.int % parts == index
