"""A dispute's timeline for auditors: every event, where it stood, and why.

Read from the stored rows (with their log positions), not from a read model:
an audit answers from the source of record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from escalation.aggregates.dispute import Dispute
from escalation.application.audit.log import Seal, dispute_rows
from escalation.application.engine import EscalationEngine
from escalation.application.event_text import Labeller, describe
from escalation.errors import UnknownDispute
from escalation.policies.inputs import as_dispute_id

#: What every event carries; everything else is the event's own fields.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "actor", "recorded_at"})


@dataclass(frozen=True)
class TimelineEntry:
    position: int  # in the log (notification id)
    dispute_id: UUID
    version: int
    event: str  # the catalogue name
    occurred_at: datetime  # business time, UTC
    recorded_at: datetime  # when it was written, UTC
    actor: str  # who, or "rules" for a policy decision
    unit: str  # where the dispute stood after this event
    tier: str
    by_rule: bool  # a policy's decision (not a fact from outside)
    rule_id: str | None
    rules_version: str | None
    reason: str | None
    what: str  # one line for people
    prev_hash: str  # the chain: the digest of the dispute's previous record
    digest: str  # the digest sealed with this record ("" if it has none)
    fields: dict[str, Any]  # every event-specific field, as stored


class Placement:
    """Where each dispute stands (unit, tier) as its events go by."""

    def __init__(self) -> None:
        self._at: dict[UUID, tuple[str, str]] = {}

    def after(self, event: Dispute.Event) -> tuple[str, str]:
        if isinstance(event, Dispute.Escalated):
            place = (event.to_unit, event.to_tier)
        elif isinstance(getattr(event, "unit", None), str):
            place = (str(getattr(event, "unit", "")), str(getattr(event, "tier", "")))
        else:  # RiskAssessed, Routed: where it already was
            place = self._at.get(event.originator_id, ("", ""))
        self._at[event.originator_id] = place
        return place


def entry(
    event: Dispute.Event,
    position: int,
    placement: Placement,
    seal: Seal | None,
    *,
    label: Labeller | None = None,
    zone: ZoneInfo | None = None,
) -> TimelineEntry:
    unit, tier = placement.after(event)
    reason = getattr(event, "reason", None)
    return TimelineEntry(
        position=position,
        dispute_id=event.originator_id,
        version=event.originator_version,
        event=type(event).__name__,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        actor=event.actor,
        unit=unit,
        tier=tier,
        by_rule=event.by_rule,
        rule_id=getattr(event, "rule_id", None),
        rules_version=getattr(event, "rules_version", None),
        reason=reason if isinstance(reason, str) else None,
        what=describe(event, detail=True, label=label, zone=zone),
        prev_hash=seal.prev if seal is not None else "",
        digest=seal.digest if seal is not None else "",
        fields=fields_of(event),
    )


def fields_of(event: Dispute.Event) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in ENVELOPE}


def timeline(
    engine: EscalationEngine,
    dispute_id: UUID | str,
    *,
    label: Labeller | None = None,
    zone: ZoneInfo | None = None,
) -> list[TimelineEntry]:
    """One dispute's decodable events, by version (``verify_dispute`` names the rest).

    ``what`` is in codes and UTC (for exports); people's pages pass ``label``
    (``rules.label``) and ``zone``.
    """
    did = as_dispute_id(dispute_id)
    rows = [r for r in dispute_rows(engine.store, did) if r.event is not None]
    if not rows:
        raise UnknownDispute(f"no dispute with id {did}")
    placement = Placement()
    rows.sort(key=lambda r: r.version)
    return [
        entry(r.event, r.position, placement, r.seal, label=label, zone=zone)
        for r in rows
        if r.event is not None
    ]
