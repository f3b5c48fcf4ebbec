"""The audit report of one dispute, from the engine: timeline, chain check, HTML."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

from escalation.application.audit.html import render_dispute_report
from escalation.application.audit.timeline import timeline
from escalation.application.audit.verify import verify_dispute
from escalation.application.engine import EscalationEngine


def dispute_report(engine: EscalationEngine, dispute_id: UUID | str) -> str:
    """Self-contained HTML: facts, timeline chart, event table, hash-chain status."""
    zone = ZoneInfo(engine.rules.calendar.timezone)
    entries = timeline(engine, dispute_id, label=engine.rules.label, zone=zone)
    return render_dispute_report(
        entries,
        tiers=engine.rules.tiers,
        zone=zone,
        chain=verify_dispute(engine, dispute_id),
        unit_names={uid: unit.name for uid, unit in engine.rules.units.items()},
        label=engine.rules.label,
    )
