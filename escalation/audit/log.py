"""Reading the stored event log row by row, as auditors need it.

Auditing works on the stored rows (position, ids, raw bytes), not only on the
decoded events: a row that no longer decodes is itself a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification

from escalation.aggregates.dispute import Dispute
from escalation.store import DisputeLog

Progress = Callable[[int, int], None]  # (position reached, last position)
PAGE_SIZE = 2000


@dataclass(frozen=True)
class Row:
    """One stored row and its event, or why it does not decode."""

    stored: Notification
    event: Dispute.Event | None
    error: str | None = None

    @property
    def position(self) -> int:
        return self.stored.id

    @property
    def dispute_id(self) -> UUID:
        oid = self.stored.originator_id
        return oid if isinstance(oid, UUID) else UUID(str(oid))

    @property
    def version(self) -> int:
        return self.stored.originator_version


def decode(store: DisputeLog, stored: Notification) -> Row:
    try:
        event = store.mapper.to_domain_event(stored)
    except Exception as exc:  # any failure to decode is what we report
        cause = exc.__cause__ or exc  # the mapper wraps the transcoder's error
        return Row(stored, None, f"does not decode: {type(cause).__name__}: {cause}")
    if not isinstance(event, Dispute.Event):
        return Row(stored, None, f"not a dispute event: {type(event).__name__}")
    return Row(stored, event)


def head(store: DisputeLog) -> int:
    return int(store.recorder.max_notification_id() or 0)


def log_rows(
    store: DisputeLog,
    *,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> Iterator[Row]:
    """Every stored row in log order, a page at a time (bounded memory)."""
    recorder = cast(Any, store.recorder)
    last = head(store)
    start = 0
    while True:
        page = recorder.select_notifications(start=start + 1, limit=page_size)
        if not page:
            return
        for stored in page:
            yield decode(store, stored)
        start = page[-1].id
        if progress is not None:
            progress(start, max(last, start))


def dispute_rows(store: DisputeLog, dispute_id: UUID) -> list[Row]:
    """One dispute's stored rows, in log order, with their positions."""
    recorder = cast(Any, store.recorder)
    record = recorder.events_record_cls
    with recorder.transaction(commit=False) as session:
        query = session.query(record).filter(record.originator_id == dispute_id)
        stored = [
            Notification(
                id=r.id,
                originator_id=r.originator_id,
                originator_version=r.originator_version,
                topic=r.topic,
                state=bytes(r.state),
            )
            for r in query.order_by(record.id)
        ]
    return [decode(store, s) for s in stored]
