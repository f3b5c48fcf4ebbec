"""A memoising twin of a rule book, for bulk replay: ``memoised(rules)``.

Replaying a year of history asks the calendar about the same few hundred days
and the CEL conditions about the same fact combinations over and over
(``decide`` re-evaluates every rule on each step). Both are pure functions,
so the twin remembers their answers. It has the same ``version`` and decides
exactly as the original; only faster. Still pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Final, TypeVar

from escalation.policies.calendar import WorkCalendar
from escalation.policies.conditions import Condition
from escalation.policies.rulebook import Rule, RuleBook

R = TypeVar("R", bound=Rule)

# Conditions over amounts see a new key for nearly every dispute: start over
# rather than grow without bound.
_MAX_MEMO: Final = 50_000


@dataclass(frozen=True)
class _MemoisedCalendar(WorkCalendar):
    _days: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def is_workday(self, d: date) -> bool:
        known = self._days.get(d)
        if known is None:
            known = self._days[d] = WorkCalendar.is_workday(self, d)
        return known


@dataclass(frozen=True)
class _MemoisedCondition(Condition):
    _key: Callable[[Mapping[str, object]], Any] = field(
        default=lambda facts: (), repr=False, compare=False
    )
    _memo: dict[Any, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def matches(self, facts: Mapping[str, object]) -> bool:
        # Each fact has one type (DisputeState.facts builds them), so its
        # values alone tell two evaluations apart.
        try:
            key = self._key(facts)
        except KeyError:
            return Condition.matches(self, facts)  # reports the missing fact
        known = self._memo.get(key)
        if known is None:
            if len(self._memo) >= _MAX_MEMO:
                self._memo.clear()
            known = self._memo[key] = Condition.matches(self, facts)
        return known


def _memoised_condition(c: Condition) -> Condition:
    return _MemoisedCondition(
        source=c.source,
        variables=c.variables,
        _program=c._program,
        _floats=c._floats,
        _key=itemgetter(*sorted(c.variables)) if c.variables else _no_facts,
    )


def _no_facts(facts: Mapping[str, object]) -> tuple[()]:
    return ()


def memoised(rules: RuleBook) -> RuleBook:
    """The memoising twin of ``rules`` (same version, same decisions); itself if it is one."""
    if isinstance(rules.calendar, _MemoisedCalendar):
        return rules
    cal = rules.calendar
    return dataclasses.replace(
        rules,
        calendar=_MemoisedCalendar(
            cal.kind, cal.timezone, cal.extra_holidays, cal.extra_workdays, cal.working_hours
        ),
        risk_rules=_memoised_rules(rules.risk_rules),
        elevate_rules=_memoised_rules(rules.elevate_rules),
        routing_rules=_memoised_rules(rules.routing_rules),
        notice_conditions=MappingProxyType(
            {k: _memoised_condition(c) for k, c in rules.notice_conditions.items()}
        ),
    )


def _memoised_rules(rules: tuple[R, ...]) -> tuple[R, ...]:
    return tuple(dataclasses.replace(r, when=_memoised_condition(r.when)) for r in rules)
