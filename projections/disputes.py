"""Every dispute now and through time: queues, the due index, the timeline.

``escalation_disputes`` holds each dispute's current state: the aggregate's
own ``DisputeState`` flattened to columns and advanced with the events' own
``apply``, so the read model cannot drift from what the aggregate would say.
``next_due_at`` (indexed) is when the next time-driven action falls due;
``tick`` reads it instead of scanning disputes.

``escalation_timeline`` has one row per event: what happened, who or which
rule did it and why, and the dispute's state right after it, valid until the
dispute's next event (``valid_to``). A queue as it stood at any past instant
is the set of open rows valid at that instant. Both tables are written in
the same transaction under one tracking position, so they always agree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
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
    bindparam,
    select,
    update,
)
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, insert_rows, upsert
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState, evolve
from projections.base import Projection

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
    Column("erased", Boolean, nullable=False),
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
    Column("next_due_at", UTCDateTime),
    # Acceptance, the step clocks (acceptance, follow-up), pauses and remands.
    Column("acceptance", String(8), nullable=False),
    Column("step", String(16)),
    Column("step_due_at", UTCDateTime),
    Column("step_schedule", Text, nullable=False),
    Column("step_notices", Text, nullable=False),
    Column("settled_at", UTCDateTime),
    Column("follow_ups", Integer, nullable=False),
    Column("paused_at", UTCDateTime),
    Column("pauses", Integer, nullable=False),
    Column("remands", Integer, nullable=False),
    Column("remanded", Boolean, nullable=False),
    Index("escalation_disputes_due_idx", "next_due_at"),
    Index("escalation_disputes_unit_idx", "unit", "status"),
    Index("escalation_disputes_tier_idx", "tier", "status"),
)

# 中心吹哨、部门报到, 领导包保 and 研判: the state's casework fields (lists as JSON),
# one row per dispute that has any. A table of its own, so a store whose
# disputes never had casework reads the same without it.
casework = Table(
    "escalation_dispute_casework",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_department", String(64)),
    Column("summoned", Text, nullable=False),
    Column("checked_in", Text, nullable=False),
    Column("leader", String(64)),
    Column("risk_assessor", String(200)),
    Column("duties", Text, nullable=False),
)

timeline = Table(
    "escalation_timeline",
    metadata,
    Column("dispute_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("event", String(32), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("valid_to", UTCDateTime),  # the next event's occurred_at; NULL for the latest
    Column("actor", String(200), nullable=False),
    Column("rule_id", String(200)),
    Column("rules_version", String(64)),
    Column("reason", Text),
    Column("detail", Text, nullable=False),  # the event's own fields, JSON
    # The dispute's state right after this event.
    Column("unit", String(64), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("status", String(8), nullable=False),
    Column("risk", String(8)),
    Column("department", String(64)),
    Column("category", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("parties", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_unit", String(64), nullable=False),
    Column("tier_entered_at", UTCDateTime),
    Column("due_at", UTCDateTime),
    Column("notices", Text, nullable=False),
    Column("elevated", Boolean, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("settled_at", UTCDateTime),  # when a mediation settled it, while it waits or closes
    Index("escalation_timeline_occurred_idx", "occurred_at"),
    Index("escalation_timeline_valid_idx", "valid_to"),
    Index("escalation_timeline_unit_idx", "unit", "occurred_at"),
)

# Fields every event has; the rest of an event's fields go to ``detail``.
_COMMON = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "actor",
    "recorded_at",
    "rule_id",
    "rules_version",
    "reason",
}
_TIMELINE_STATE = [
    "unit",
    "tier",
    "status",
    "risk",
    "department",
    "category",
    "source",
    "parties",
    "amount",
    "received_at",
    "received_unit",
    "tier_entered_at",
    "due_at",
    "elevated",
    "escalations",
    "updated_at",
    "settled_at",
]

# Personal data stays out of the read models: it is read (and opened) from the log.
_PERSONAL_STATE = ("summary", "location", "claim", "people")
_CASEWORK_FIELDS = (
    "lead_department",
    "summoned",
    "checked_in",
    "leader",
    "risk_assessor",
    "duties",
)
_STATE_FIELDS = [
    f.name
    for f in fields(DisputeState)
    if f.name not in ("request_ids", *_PERSONAL_STATE, *_CASEWORK_FIELDS)
]


def row_from_state(state: DisputeState) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(state, name) for name in _STATE_FIELDS}
    row["schedule"] = json.dumps([[a, t.isoformat()] for a, t in state.schedule])
    row["notices"] = _notices_text(state.notices)
    row["step_schedule"] = json.dumps([[a, t.isoformat()] for a, t in state.step_schedule])
    row["step_notices"] = _notices_text(state.step_notices)
    row["next_due_at"] = state.next_due_at()
    return row


def has_casework(state: DisputeState) -> bool:
    return bool(state.summoned or state.leader or state.risk_assessor or state.duties)


def casework_row(state: DisputeState) -> dict[str, Any]:
    """The casework fields of ``state`` as a row."""
    return {
        "id": state.id,
        "lead_department": state.lead_department,
        "summoned": json.dumps(list(state.summoned)),
        "checked_in": json.dumps(list(state.checked_in)),
        "leader": state.leader,
        "risk_assessor": state.risk_assessor,
        "duties": json.dumps(
            [[k, d, t.isoformat() if t else None, n] for k, d, t, n in state.duties]
        ),
    }


def casework_fields(row: Any) -> dict[str, Any]:
    """A ``casework`` row back as ``DisputeState`` fields."""
    return {
        "lead_department": row.lead_department,
        "summoned": tuple(json.loads(row.summoned)),
        "checked_in": tuple(json.loads(row.checked_in)),
        "leader": row.leader,
        "risk_assessor": row.risk_assessor,
        "duties": tuple(
            (k, d, datetime.fromisoformat(t) if t else None, n)
            for k, d, t, n in json.loads(row.duties)
        ),
    }


def state_from_row(row: Any) -> DisputeState:
    values = {name: getattr(row, name) for name in _STATE_FIELDS}
    values["schedule"] = tuple(
        (a, datetime.fromisoformat(t)) for a, t in json.loads(values["schedule"])
    )
    values["notices"] = tuple(json.loads(values["notices"]))
    values["step_schedule"] = tuple(
        (a, datetime.fromisoformat(t)) for a, t in json.loads(values["step_schedule"])
    )
    values["step_notices"] = tuple(json.loads(values["step_notices"]))
    return DisputeState(**values, summary="", location="")


def timeline_row(event: Dispute.Event, state: DisputeState) -> dict[str, Any]:
    # The event's own fields, but none that hold personal data.
    hidden = _COMMON.union(event.personal_fields())
    detail = {k: v for k, v in vars(event).items() if k not in hidden}
    row: dict[str, Any] = dict(zip(_TIMELINE_STATE, _timeline_state(state), strict=True))
    row.update(
        dispute_id=event.originator_id,
        version=event.originator_version,
        event=type(event).__name__,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        valid_to=None,
        actor=event.actor,
        rule_id=getattr(event, "rule_id", None),
        rules_version=getattr(event, "rules_version", None),
        reason=getattr(event, "reason", None),
        detail=_DETAIL.encode(detail),
        notices=_notices_text(state.notices),
    )
    return row


_timeline_state = attrgetter(*_TIMELINE_STATE)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# One encoder for every row: ``json.dumps`` with options builds a new one per call.
_DETAIL = json.JSONEncoder(default=_json_default, ensure_ascii=False, sort_keys=True)
_NOTICES: dict[tuple[str, ...], str] = {}


def _notices_text(notices: tuple[str, ...]) -> str:
    text = _NOTICES.get(notices)
    if text is None:
        if len(_NOTICES) >= 1000:
            _NOTICES.clear()
        text = _NOTICES[notices] = json.dumps(list(notices))
    return text


class DisputesProjection(Projection):
    name = "disputes"
    # 2: the casework table (吹哨报到, 领导包保, 研判).
    # 3: no personal data (summary, location; personal fields of the timeline's detail).
    # 4: acceptance, step clocks (acceptance, follow-up), pauses and remands; status "settled".
    version = 4

    @property
    def tables(self) -> Sequence[Table]:
        return [disputes, timeline, casework]

    def apply(self, session: Session, events: Sequence[Dispute.Event]) -> None:
        ids = {e.originator_id for e in events}
        shells: dict[UUID, Dispute] = {}
        extra = {
            row.id: casework_fields(row)
            for row in session.execute(select(casework).where(casework.c.id.in_(ids)))
        }
        for current in session.execute(select(disputes).where(disputes.c.id.in_(ids))):
            state = state_from_row(current)
            if current.id in extra:
                state = evolve(state, **extra[current.id])
            shells[current.id] = _shell(state)
        # The latest timeline row of each dispute already stored gets a valid_to.
        closing: dict[UUID, dict[str, Any]] = {
            did: {"d": did, "v": shell.state.version, "t": None} for did, shell in shells.items()
        }
        rows: list[dict[str, Any]] = []
        latest: dict[UUID, dict[str, Any]] = {}
        for event in events:
            shell = shells.get(event.originator_id)
            if shell is None:
                shell = shells[event.originator_id] = Dispute.__new__(Dispute)
            event.apply(shell)
            previous = latest.get(event.originator_id) or closing.get(event.originator_id)
            if previous is not None:
                previous["valid_to" if "valid_to" in previous else "t"] = event.occurred_at
            row = timeline_row(event, shell.state)
            rows.append(row)
            latest[event.originator_id] = row
        upsert(session, disputes, [row_from_state(s.state) for s in shells.values()], ["id"])
        # A row once written is kept up to date, even when its lists empty again.
        work = [s.state for s in shells.values() if has_casework(s.state) or s.state.id in extra]
        upsert(session, casework, [casework_row(state) for state in work], ["id"])
        insert_rows(session, timeline, rows)
        updates = [c for c in closing.values() if c["t"] is not None]
        if updates:
            stmt = (
                update(timeline)
                .where(timeline.c.dispute_id == bindparam("d"))
                .where(timeline.c.version == bindparam("v"))
                .values(valid_to=bindparam("t"))
            )
            session.execute(stmt, updates)


def _shell(state: DisputeState) -> Dispute:
    shell = Dispute.__new__(Dispute)
    shell.state = state
    return shell
