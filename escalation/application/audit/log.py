"""Reading the stored event log row by row, as auditors need it.

Auditing works on the stored rows (position, ids, raw bytes, and the chain
digest sealed with each), not on decoded events: verification never decodes,
so upcasting and erasure never change its answer. ``Row.event`` decodes on
demand for the readers that show events (timeline, export); a row that no
longer decodes says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from sqlalchemy import Select, select

from escalation.adapters.log_digests import as_uuid
from escalation.adapters.persistence import chain_table
from escalation.adapters.store import DisputeLog
from escalation.aggregates.dispute import Dispute
from escalation.progress import Progress

PAGE_SIZE = 2000


@dataclass(frozen=True)
class Seal:
    """What the recorder sealed a record with: digest scheme, previous digest, digest."""

    scheme: int
    prev: str
    digest: str


@dataclass(frozen=True)
class Row:
    """One stored row, its seal (None: written behind the recorder's back)."""

    stored: Notification
    seal: Seal | None
    store: DisputeLog | None = field(default=None, compare=False, repr=False)

    @property
    def position(self) -> int:
        return self.stored.id

    @property
    def dispute_id(self) -> UUID:
        return as_uuid(self.stored.originator_id)

    @property
    def version(self) -> int:
        return self.stored.originator_version

    @cached_property
    def decoded(self) -> tuple[Dispute.Event | None, str | None]:
        """The event (upcast to this version's form), or why it does not decode."""
        assert self.store is not None, "a row read without its store does not decode"
        try:
            event = self.store.mapper.to_domain_event(self.stored)
        except Exception as exc:  # noqa: BLE001 - any failure to decode is what we report
            cause = exc.__cause__ or exc  # the mapper wraps the transcoder's error
            return None, f"does not decode: {type(cause).__name__}: {cause}"
        if not isinstance(event, Dispute.Event):
            return None, f"not a dispute event: {type(event).__name__}"
        return event, None

    @property
    def event(self) -> Dispute.Event | None:
        return self.decoded[0]


def head(store: DisputeLog) -> int:
    return int(store.recorder.max_notification_id() or 0)


def _query(store: DisputeLog) -> Select[Any]:
    events = store.events_table
    c, s = events.c, chain_table.c
    return select(
        c.id, c.originator_id, c.originator_version, c.topic, c.state, s.scheme, s.prev, s.digest
    ).outerjoin(chain_table, s.position == c.id)


def _row(store: DisputeLog, r: Any) -> Row:
    state = r[4]
    stored = Notification(
        id=int(r[0]),
        originator_id=as_uuid(r[1]),
        originator_version=int(r[2]),
        topic=str(r[3]),
        state=bytes(state) if isinstance(state, memoryview) else state,
    )
    seal = None if r[5] is None else Seal(int(r[5]), str(r[6]), str(r[7]))
    return Row(stored, seal, store)


def log_rows(
    store: DisputeLog,
    *,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> Iterator[Row]:
    """Every stored row in log order with its seal, a page at a time (bounded memory)."""
    events = store.events_table
    last = head(store)
    start = 0
    base = _query(store)
    while True:
        query = base.where(events.c.id > start).order_by(events.c.id).limit(page_size)
        with store.reading() as session:
            page = [_row(store, r) for r in session.execute(query)]
        if not page:
            return
        store.preload_keys({r.dispute_id for r in page})  # one query per page, not per dispute
        yield from page
        start = page[-1].position
        if progress is not None:
            progress(start, max(last, start))


def dispute_rows(store: DisputeLog, dispute_id: UUID) -> list[Row]:
    """One dispute's stored rows with their seals, in log order."""
    events = store.events_table
    query = _query(store).where(events.c.originator_id == dispute_id).order_by(events.c.id)
    with store.reading() as session:
        return [_row(store, r) for r in session.execute(query)]
