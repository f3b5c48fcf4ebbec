"""Tamper evidence: each dispute's chain head and checkpoints of a running log digest.

Two tables, both functions of the log alone (a rebuild writes the same rows
as incremental projection, whatever the page sizes were):

* ``escalation_audit_heads`` — per dispute, the version, digest and log
  position of its latest event: the end of its hash chain. An altered or
  deleted *last* event has no later event whose ``prev_hash`` would notice;
  the recorded head does.
* ``escalation_audit_checkpoints`` — the running digest over every stored
  row (id, originator id, version, topic, state bytes) in log order. A sealed
  checkpoint is kept at every ``every``-th row; the tip (unsealed) marks the
  end of the projected log and moves forward with every page. A verifier
  re-hashes the rows and compares at each checkpoint.

The running digest needs the raw stored bytes, not the decoded events: the
runner hands them over through ``apply_page``; ``apply`` alone re-reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Notification
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from escalation.adapters.database import upsert
from escalation.adapters.log_digests import GENESIS
from escalation.adapters.log_digests import advance as advance_digest
from escalation.adapters.persistence import chain_rows
from escalation.aggregates.dispute import Dispute
from projections.base import Projection

metadata = MetaData()

audit_heads = Table(
    "escalation_audit_heads",
    metadata,
    Column("dispute_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
)

audit_checkpoints = Table(
    "escalation_audit_checkpoints",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("events", BigInteger, nullable=False),  # rows hashed from the start of the log
    Column("digest", String(64), nullable=False),
    Column("sealed", Boolean, nullable=False),
)

# The store's own table (escalation.adapters.store.STORE_NAME + "_events"), read only by
# ``apply`` when it is called without the stored rows.
_events = Table(
    "escalation_events",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("originator_version", BigInteger),
    Column("topic", Text),
    Column("state", LargeBinary),
)

#: A sealed checkpoint every this many rows.
CHECKPOINT_EVERY = 1000


class Checkpoint(NamedTuple):
    position: int  # notification id of the last row hashed
    events: int  # number of rows hashed
    digest: str  # running digest after that row


START = Checkpoint(0, 0, GENESIS)


def advance(running: str, row: Notification) -> str:
    """The running digest after one more stored row (``log_digests.advance``)."""
    return advance_digest(
        running, row.id, row.originator_id, row.originator_version, row.topic, row.state
    )


def last_checkpoint(session: Session) -> Checkpoint:
    row = session.execute(
        select(audit_checkpoints).order_by(audit_checkpoints.c.position.desc()).limit(1)
    ).first()
    return START if row is None else Checkpoint(row.position, row.events, row.digest)


class AuditProjection(Projection):
    name = "audit"

    def __init__(self, every: int = CHECKPOINT_EVERY) -> None:
        if every < 1:
            raise ValueError("checkpoint interval must be at least 1")
        self.every = every

    @property
    def tables(self) -> Sequence[Table]:
        return [audit_heads, audit_checkpoints]

    def apply(self, session: Session, events: Sequence[Dispute.Event]) -> None:
        self._apply_rows(session, self._stored_rows(session, events), events)

    def apply_page(
        self,
        session: Session,
        notifications: Sequence[Notification],
        events: Sequence[Dispute.Event],
    ) -> None:
        self._apply_rows(session, notifications, events)

    def _apply_rows(
        self,
        session: Session,
        notifications: Sequence[Notification],
        events: Sequence[Dispute.Event],
    ) -> None:
        if not notifications:
            return
        self._checkpoint(session, notifications)
        self._heads(session, notifications, events)

    def _checkpoint(self, session: Session, rows: Sequence[Notification]) -> None:
        _, count, running = last_checkpoint(session)
        sealed: list[dict[str, Any]] = []
        for row in rows:
            running = advance(running, row)
            count += 1
            if count % self.every == 0:
                sealed.append({"position": row.id, "events": count, "digest": running})
        # The old tip is covered by the new one (the digest is cumulative).
        session.execute(delete(audit_checkpoints).where(audit_checkpoints.c.sealed.is_(False)))
        tip = {"position": rows[-1].id, "events": count, "digest": running}
        records = [{**r, "sealed": True} for r in sealed]
        if not sealed or sealed[-1]["position"] != tip["position"]:
            records.append({**tip, "sealed": False})
        session.execute(insert(audit_checkpoints), records)

    def _heads(
        self, session: Session, rows: Sequence[Notification], events: Sequence[Dispute.Event]
    ) -> None:
        latest: dict[UUID, tuple[Dispute.Event, int]] = {}
        for row, event in zip(rows, events, strict=True):
            seen = latest.get(event.originator_id)
            if seen is None or event.originator_version > seen[0].originator_version:
                latest[event.originator_id] = (event, row.id)
        # The chain digest the recorder sealed each dispute's last record with.
        sealed = chain_rows(session, [position for _, position in latest.values()])
        heads = [
            {
                "dispute_id": dispute_id,
                "version": event.originator_version,
                "digest": sealed[position][2] if position in sealed else "",
                "position": position,
            }
            for dispute_id, (event, position) in latest.items()
        ]
        upsert(session, audit_heads, heads, ["dispute_id"])

    def _stored_rows(self, session: Session, events: Sequence[Dispute.Event]) -> list[Notification]:
        """The stored rows behind ``events``: the next ones after the tip."""
        after = last_checkpoint(session).position
        query = select(_events).where(_events.c.id > after).order_by(_events.c.id)
        rows = list(session.execute(query.limit(len(events))))
        if [r.originator_version for r in rows] != [e.originator_version for e in events]:
            raise RuntimeError(
                f"audit projection: the stored rows after position {after} are not the "
                "events given; run it through ProjectionRunner"
            )
        return [
            Notification(
                id=r.id,
                originator_id=e.originator_id,
                originator_version=r.originator_version,
                topic=r.topic,
                state=bytes(r.state),
            )
            for r, e in zip(rows, events, strict=True)
        ]
