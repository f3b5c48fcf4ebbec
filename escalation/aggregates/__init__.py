"""Dispute aggregate and events: pure, no I/O, no clock."""

from escalation.aggregates.dispute import CLOSE_OUTCOMES, MEDIATION_OUTCOMES, Dispute
from escalation.aggregates.state import ESCALATE, DisputeState

__all__ = ["CLOSE_OUTCOMES", "ESCALATE", "MEDIATION_OUTCOMES", "Dispute", "DisputeState"]
