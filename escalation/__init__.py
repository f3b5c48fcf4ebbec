"""escalation: an event-sourced engine for tiered dispute resolution.

community → street → district: 就地化解、逐级上报、提级管理.

The public names below are imported on first use (PEP 562), so importing a
domain module (``escalation.aggregates``) never drags in the engine, the
database or the read models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalation.aggregates import Dispute, DisputeState
    from escalation.application.access import Principal
    from escalation.application.engine import EscalationEngine, QueueItem, TickReport
    from escalation.application.papers import Paper, PaperDesk
    from escalation.policies.rulebook import RuleBook
    from projections.changes import Change

_PUBLIC = {
    "Principal": "escalation.application.access",
    "Change": "projections.changes",
    "Dispute": "escalation.aggregates",
    "DisputeState": "escalation.aggregates",
    "EscalationEngine": "escalation.application.engine",
    "QueueItem": "escalation.application.engine",
    "Paper": "escalation.application.papers",
    "PaperDesk": "escalation.application.papers",
    "TickReport": "escalation.application.engine",
    "RuleBook": "escalation.policies.rulebook",
}

__all__ = [
    "Change",
    "Dispute",
    "DisputeState",
    "EscalationEngine",
    "Paper",
    "PaperDesk",
    "Principal",
    "QueueItem",
    "RuleBook",
    "TickReport",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'escalation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
