"""The rule book: ``config/tiers.yaml`` validated into plain, immutable objects.

* ``book``: the rule book at run time (``RuleBook``, its tiers, units and rules);
* ``schema``: the file's shape (pydantic models) and its vocabularies
  (``NOTICES``, ``NOTICE_NAMES``, ``RISK_LEVELS``);
* ``loader``: text in, every problem at once or a valid model out;
* ``messages``: how each problem is worded for the rule owner.

The names below are the public ones: import them from here.
"""

from escalation.policies.rulebook.book import (
    MAX_RULEBOOK_BYTES,
    ElevateRule,
    Memo,
    NoticeStep,
    RiskRule,
    RoutingRule,
    Rule,
    RuleBook,
    StepClock,
    Tier,
    Unit,
    WeakSignals,
)
from escalation.policies.rulebook.schema import (
    NOTICE_NAMES,
    NOTICES,
    RISK_LEVELS,
    NoticeName,
    RiskLevel,
)

__all__ = [
    "MAX_RULEBOOK_BYTES",
    "NOTICES",
    "NOTICE_NAMES",
    "RISK_LEVELS",
    "ElevateRule",
    "Memo",
    "NoticeName",
    "NoticeStep",
    "RiskLevel",
    "RiskRule",
    "RoutingRule",
    "Rule",
    "RuleBook",
    "StepClock",
    "Tier",
    "Unit",
    "WeakSignals",
]
