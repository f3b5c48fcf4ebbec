"""escalation: an event-sourced engine for tiered dispute resolution.

community → street → district: 就地化解、逐级上报、提级管理.
"""

from escalation.aggregates import Dispute, DisputeState
from escalation.engine import EscalationEngine, QueueItem, TickReport
from escalation.policies.rulebook import RuleBook

__all__ = ["Dispute", "DisputeState", "EscalationEngine", "QueueItem", "RuleBook", "TickReport"]
__version__ = "0.1.0"
