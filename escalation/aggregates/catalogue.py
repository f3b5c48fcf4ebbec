"""Every class the log stores, under the stable name it is stored by.

Stored topics are names, not module paths (docs/log-format.md): moving or
renaming a class changes nothing on disk. Logs written before the names
existed carry module paths; ``LEGACY_TOPICS`` maps each of those, as text, to
its class, so they keep loading after any refactoring. Both tables are
constants; the store registers them with ``eventsourcing`` when it opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.lifecycle import LIFECYCLE_EVENTS
from escalation.aggregates.rulebook_log import RuleBookLog
from escalation.aggregates.rules_applied import RulesApplied

#: The aggregates and events, in the order of the catalogue (docs/events.md).
STORED_CLASSES: Final[tuple[type, ...]] = (
    Dispute,
    Dispute.Received,
    Dispute.RiskAssessed,
    Dispute.Routed,
    Dispute.Mediated,
    Dispute.Escalated,
    Dispute.Supervised,
    Dispute.Closed,
    Dispute.Reopened,
    Dispute.Summoned,
    Dispute.CheckedIn,
    Dispute.ProgressReported,
    Dispute.LeaderRequired,
    Dispute.LeaderAssigned,
    Dispute.Assessed,
    Dispute.Notified,
    Dispute.ReviewDecided,
    Dispute.Erased,
    RulesApplied,
    *LIFECYCLE_EVENTS,
    RuleBookLog,
    RuleBookLog.Opened,
    RuleBookLog.Stored,
    RuleBookLog.Activated,
)


def stored_topic(cls: type) -> str:
    """The stable name ``cls`` is stored under (its own ``TOPIC``, never inherited)."""
    topic = cls.__dict__.get("TOPIC")
    if not isinstance(topic, str):
        raise TypeError(f"{cls.__qualname__} has no TOPIC of its own")
    return topic


#: Stable name -> class.
TOPICS: Final[Mapping[str, type]] = MappingProxyType(
    {stored_topic(cls): cls for cls in STORED_CLASSES}
)

#: The dispute events, in catalogue order, by the name readers and read models
#: know them by (the class name: ``Escalated``, ``RulesApplied``). Code that maps
#: every event to something (a text, a marker, a kind) checks itself against this.
DISPUTE_EVENTS: Final[Mapping[str, type[Dispute.Event]]] = MappingProxyType(
    {cls.__name__: cls for cls in STORED_CLASSES if issubclass(cls, Dispute.Event)}
)

#: Module-path topics written before stable names (commit 531e6f3 and earlier) -> class.
#: Literal text on purpose: these strings are in stored logs and must never move.
#: Classes added after the stable names (``SINCE_STABLE_NAMES``) never had one.
LEGACY_TOPICS: Final[Mapping[str, type]] = MappingProxyType(
    {
        "escalation.aggregates.dispute:Dispute": Dispute,
        "escalation.aggregates.dispute:Dispute.Received": Dispute.Received,
        "escalation.aggregates.dispute:Dispute.RiskAssessed": Dispute.RiskAssessed,
        "escalation.aggregates.dispute:Dispute.Routed": Dispute.Routed,
        "escalation.aggregates.dispute:Dispute.Mediated": Dispute.Mediated,
        "escalation.aggregates.dispute:Dispute.Escalated": Dispute.Escalated,
        "escalation.aggregates.dispute:Dispute.Supervised": Dispute.Supervised,
        "escalation.aggregates.dispute:Dispute.Closed": Dispute.Closed,
        "escalation.aggregates.dispute:Dispute.Reopened": Dispute.Reopened,
        "escalation.aggregates.rules_applied:RulesApplied": RulesApplied,
        "escalation.aggregates.rulebook_log:RuleBookLog": RuleBookLog,
        "escalation.aggregates.rulebook_log:RuleBookLog.Opened": RuleBookLog.Opened,
        "escalation.aggregates.rulebook_log:RuleBookLog.Stored": RuleBookLog.Stored,
        "escalation.aggregates.rulebook_log:RuleBookLog.Activated": RuleBookLog.Activated,
    }
)


#: The classes added after stable names existed: no log holds them under a module path.
SINCE_STABLE_NAMES: Final[tuple[type, ...]] = (
    Dispute.Summoned,
    Dispute.CheckedIn,
    Dispute.ProgressReported,
    Dispute.LeaderRequired,
    Dispute.LeaderAssigned,
    Dispute.Assessed,
    Dispute.Notified,
    Dispute.ReviewDecided,
    Dispute.Erased,
    *LIFECYCLE_EVENTS,
)


def class_versions() -> dict[str, int]:
    """Stable name -> the class version this code writes (and reads up to)."""
    return {topic: int(getattr(cls, "class_version", 1)) for topic, cls in TOPICS.items()}
