"""The current state of every dispute: tier and unit queues, and the due index.

Each row is the aggregate's own ``DisputeState`` flattened to columns, and it
is advanced with the events' own ``apply``: the read model cannot drift from
what the aggregate would say. ``next_due_at`` (indexed) is when the next
time-driven action falls due; ``tick`` reads it instead of scanning disputes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    select,
)
from sqlalchemy.orm import Session

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState
from projections.base import Projection
from projections.types import UTCDateTime
from projections.upsert import upsert

metadata = MetaData()

disputes = Table(
    "escalation_disputes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("status", String(8), nullable=False),
    Column("category", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("parties", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("summary", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_unit", String(64), nullable=False),
    Column("risk", String(8)),
    Column("risk_rule", String(64)),
    Column("department", String(64)),
    Column("attempts", Integer, nullable=False),
    Column("mediations", Integer, nullable=False),
    Column("last_mediation_at", UTCDateTime),
    Column("reopened", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("elevated", Boolean, nullable=False),
    Column("visit", Integer, nullable=False),
    Column("tier_entered_at", UTCDateTime),
    Column("due_at", UTCDateTime),
    Column("schedule", Text, nullable=False),
    Column("notices", Text, nullable=False),
    Column("notices_total", Integer, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("outcome", String(32)),
    Column("updated_at", UTCDateTime),
    Column("chain_head", String(64), nullable=False),
    Column("next_due_at", UTCDateTime),
    Index("escalation_disputes_due_idx", "next_due_at"),
    Index("escalation_disputes_unit_idx", "unit", "status"),
    Index("escalation_disputes_tier_idx", "tier", "status"),
)

_STATE_FIELDS = [f.name for f in fields(DisputeState) if f.name != "request_ids"]


def row_from_state(state: DisputeState) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(state, name) for name in _STATE_FIELDS}
    row["schedule"] = json.dumps([[a, t.isoformat()] for a, t in state.schedule])
    row["notices"] = json.dumps(list(state.notices))
    row["next_due_at"] = state.next_due_at()
    return row


def state_from_row(row: Any) -> DisputeState:
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    values["schedule"] = tuple(
        (a, datetime.fromisoformat(t)) for a, t in json.loads(values["schedule"])
    )
    values["notices"] = tuple(json.loads(values["notices"]))
    return DisputeState(**values)


class DisputesProjection(Projection):
    name = "disputes"

    @property
    def tables(self) -> Sequence[Table]:
        return [disputes]

    def apply(self, session: Session, events: Sequence[Dispute.Event]) -> None:
        ids = {e.originator_id for e in events}
        shells: dict[UUID, Dispute] = {}
        for row in session.execute(select(disputes).where(disputes.c.id.in_(ids))):
            shells[row.id] = _shell(state_from_row(row))
        for event in events:
            shell = shells.get(event.originator_id)
            if shell is None:
                shell = shells[event.originator_id] = Dispute.__new__(Dispute)
            event.apply(shell)
        upsert(session, disputes, [row_from_state(s.state) for s in shells.values()], ["id"])


def _shell(state: DisputeState) -> Dispute:
    shell = Dispute.__new__(Dispute)
    shell.state = state
    return shell
