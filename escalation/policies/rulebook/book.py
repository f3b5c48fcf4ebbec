"""The rule book at run time: plain, immutable objects the policies read.

``RuleBook.from_yaml`` hands the text to the loader (``loader.validate``),
which finds every problem or returns a valid model; the rule book is then
built from that model. ``RuleBook.load`` only reads a file for it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

from escalation.errors import InvalidInput, RulesError
from escalation.policies.calendar import WorkCalendar
from escalation.policies.conditions import Condition, ConditionSet
from escalation.policies.durations import Duration
from escalation.policies.retention import Retention
from escalation.policies.rulebook.labels import BUILT_IN
from escalation.policies.rulebook.loader import Validated, validate
from escalation.policies.rulebook.messages import unknown
from escalation.policies.rulebook.schema import LabelModel, RiskLimits, RuleBookModel, plain

T = TypeVar("T")

#: The largest rule book file ``RuleBook.load`` reads: far above any real one
#: (the shipped rule book, with every unit of a district, is 16 KB).
MAX_RULEBOOK_BYTES: Final = 4 * 1024 * 1024
#: How many answers a rule book's memo keeps before it starts over.
MEMO_LIMIT: Final = 200_000


@dataclass(frozen=True)
class NoticeStep:
    at: float  # share of the tier's time limit used: 0.5 is 50%
    notice: str


@dataclass(frozen=True)
class Tier:
    name: str
    index: int  # 0 is the lowest tier
    handle_within: Duration
    max_mediation_attempts: int | None  # None: no limit
    notices: tuple[NoticeStep, ...]
    #: Limits that differ by risk level (``{default: .., high: ..}``); empty: one limit.
    by_risk: Mapping[str, Duration] = field(default_factory=lambda: MappingProxyType({}))

    def limit(self, risk: str | None) -> Duration:
        """The time limit of a visit to this tier for a dispute of ``risk`` (None: the default)."""
        return self.by_risk.get(risk or "", self.handle_within)


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    tier: str
    parent: str | None


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition


@dataclass(frozen=True)
class RiskRule(Rule):
    level: str


@dataclass(frozen=True)
class ElevateRule(Rule):
    to: str


@dataclass(frozen=True)
class RoutingRule(Rule):
    department: str
    at_once: bool = False  # routed at receipt rather than at the analysis step


@dataclass(frozen=True)
class StepClock:
    """The time limit of a step beside the tier visit (acceptance, follow-up)."""

    within: Duration
    notices: tuple[NoticeStep, ...]  # empty: the ladder of the tier holding the dispute
    mode: str = "auto"  # acceptance only: auto | explicit


@dataclass(frozen=True)
class WeakSignals:
    """弱信号 thresholds.

    ``min_cluster`` similar disputes within ``window``, grouped ``by``, that
    came through ``min_sources`` channels.
    """

    window: timedelta
    min_cluster: int
    by: tuple[str, ...]  # "unit" and/or "location"
    min_sources: int = 1


@dataclass(frozen=True)
class SummonRules:
    """中心吹哨、部门报到: limits for summoned departments (``summon`` in the file)."""

    check_in_within: Duration
    feedback_every: Duration
    on_routing: frozenset[str]  # departments a routing decision summons
    notices: int  # at most this many notices on one missed check-in or report


@dataclass(frozen=True)
class LeaderRules:
    """领导包保: which disputes need a leader (None: none), how soon, who may lead."""

    required_when: Condition | None
    within: Duration
    notices: int  # at most this many notices on one missing leader
    people: Mapping[str, str]  # id -> name; empty: any name is accepted


class Memo:
    """Answers of pure functions of one rule book, kept with it.

    Bounded (it starts over when full) and safe to drop at any time: it only
    saves recomputing. It lives and dies with its rule book, so nothing
    outlives the rules it was computed under.
    """

    def __init__(self, limit: int = MEMO_LIMIT) -> None:
        self.limit = limit
        self._answers: dict[Hashable, object] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer remembered under ``key``, computed (and remembered) on a miss."""
        try:
            return cast("T", self._answers[key])
        except KeyError:
            pass
        found = compute()
        if len(self._answers) >= self.limit:
            self._answers.clear()
        self._answers[key] = found
        return found


@dataclass(frozen=True, eq=False, repr=False)
class RuleBook:
    """A validated rule book. Build it with ``load``, ``from_yaml`` or ``default``."""

    source: str
    text: str
    version: str  # content hash, recorded on every decision
    calendar: WorkCalendar
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    tiers: tuple[str, ...]  # lowest first
    units: Mapping[str, Unit]
    risk_rules: tuple[RiskRule, ...]
    elevate_rules: tuple[ElevateRule, ...]
    routing_rules: tuple[RoutingRule, ...]
    #: Notices sent only to the disputes a condition matches (重点案件督办), by notice.
    notice_conditions: Mapping[str, Condition]
    _tiers: Mapping[str, Tier] = field(repr=False)
    _children: Mapping[str, tuple[str, ...]] = field(repr=False)
    _model: RuleBookModel = field(repr=False)
    #: The leaders' ``required_when``, compiled (None: no dispute requires a leader).
    _leader_rule: Condition | None = field(default=None, repr=False)
    #: What the policies worked out under these rules (``decide.verdict``).
    memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path) -> RuleBook:
        """The rule book in the file at ``path`` (at most ``MAX_RULEBOOK_BYTES``)."""
        try:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_RULEBOOK_BYTES + 1)
        except FileNotFoundError:
            raise _unreadable(path, "there is no such file") from None
        except OSError as exc:
            raise _unreadable(path, exc.strerror or str(exc)) from exc
        if len(raw) > MAX_RULEBOOK_BYTES:
            raise _unreadable(path, f"the file is larger than {MAX_RULEBOOK_BYTES:,} bytes")
        try:  # as Path.read_text reads it: UTF-8, any line ending read as "\n"
            text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
        except UnicodeDecodeError as exc:
            raise _unreadable(path, str(exc)) from exc
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> RuleBook:
        """The rule book written in ``text``; RulesError lists every problem in it."""
        return cls._build(validate(text, source), text, source)

    @classmethod
    def default(cls) -> RuleBook:
        """The rule book shipped with the package (``config/tiers.yaml``)."""
        return _default()

    @classmethod
    def _build(cls, valid: Validated, text: str, source: str) -> RuleBook:
        model = valid.model
        tiers = {
            tier.name: Tier(
                name=tier.name,
                index=index,
                handle_within=_default_limit(tier.handle_within),
                max_mediation_attempts=tier.max_mediation_attempts,
                notices=tuple(NoticeStep(step.at, step.notice) for step in tier.notices),
                by_risk=_limits_by_risk(tier.handle_within),
            )
            for index, tier in enumerate(model.tiers)
        }
        units = {u.id: Unit(u.id, u.name, u.tier, u.parent) for u in model.units}
        children: dict[str, list[str]] = {}
        for unit in model.units:
            if unit.parent is not None:
                children.setdefault(unit.parent, []).append(unit.id)
        canonical = json.dumps(
            plain(model), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        when = valid.conditions  # each rule's compiled condition, by section
        return cls(
            source=source,
            text=text,
            version=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16],
            calendar=WorkCalendar(
                model.calendar,
                model.timezone,
                frozenset(model.holidays),
                frozenset(model.workdays),
                model.working_hours,
            ),
            categories=model.categories,
            sources=model.sources,
            tiers=tuple(tiers),
            units=MappingProxyType(units),
            risk_rules=tuple(
                RiskRule(r.id, c, r.level) for r, c in zip(model.risk, when["risk"], strict=True)
            ),
            elevate_rules=tuple(
                ElevateRule(r.id, c, r.to)
                for r, c in zip(model.elevate, when["elevate"], strict=True)
            ),
            routing_rules=tuple(
                RoutingRule(r.id, c, r.department, r.at_once)
                for r, c in zip(model.routing, when["routing"], strict=True)
            ),
            notice_conditions=MappingProxyType(
                dict(zip(model.notices, when.get("notices", ()), strict=True))
            ),
            _tiers=MappingProxyType(tiers),
            _children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
            _model=model,
            _leader_rule=next(iter(when.get("leaders", ())), None),
        )

    @property
    def top_tier(self) -> str:
        return self.tiers[-1]

    def tier(self, name: str) -> Tier:
        if name not in self._tiers:
            raise InvalidInput(unknown("tier", name, self.tiers))
        return self._tiers[name]

    def tier_index(self, name: str) -> int:
        return self.tier(name).index

    def unit(self, unit_id: str) -> Unit:
        found = self.units.get(unit_id)
        if found is None:
            by_name = [u.id for u in self.units.values() if u.name == unit_id]
            raise InvalidInput(unknown("unit", unit_id, list(self.units), exact=by_name))
        return found

    def parent(self, unit_id: str) -> str | None:
        return self.unit(unit_id).parent

    def ancestor(self, unit_id: str, tier: str) -> str:
        """The unit's ancestor at ``tier`` (the unit itself at its own tier)."""
        unit = self.unit(unit_id)
        if self.tier_index(tier) < self.tier_index(unit.tier):
            raise InvalidInput(
                f"unit {unit_id!r} is at tier {unit.tier!r}; it has no ancestor at the lower "
                f"tier {tier!r}"
            )
        while unit.tier != tier and unit.parent is not None:
            unit = self.units[unit.parent]
        return unit.id

    def children(self, unit_id: str) -> tuple[str, ...]:
        self.unit(unit_id)
        return self._children.get(unit_id, ())

    # Each section's conditions as one CEL program (see ConditionSet), built on first use.
    @functools.cached_property
    def risk_conditions(self) -> ConditionSet:
        return ConditionSet.of(r.when for r in self.risk_rules)

    @functools.cached_property
    def routing_conditions(self) -> ConditionSet:
        return ConditionSet.of(r.when for r in self.routing_rules)

    @functools.cached_property
    def elevate_conditions(self) -> ConditionSet:
        return ConditionSet.of(r.when for r in self.elevate_rules)

    @property
    def weak_signals(self) -> WeakSignals:
        """The reviews' weak-signal thresholds (the defaults when the file has none)."""
        model = self._model.weak_signals
        hours = model.window.amount * (24 if model.window.unit == "days" else 1)
        return WeakSignals(
            timedelta(hours=hours), model.min_cluster, tuple(model.by), model.min_sources
        )

    @property
    def retention(self) -> Retention | None:
        """How long personal data is kept after closure (None: until erased by hand)."""
        model = self._model.retention
        return None if model is None else Retention.parse(model.personal_data)

    @functools.cached_property
    def departments(self) -> Mapping[str, str]:
        """Department id -> name: the ``departments`` list, else those routing names."""
        listed = {d.id: d.name for d in self._model.departments}
        if not listed:
            listed = {r.department: r.department for r in self.routing_rules}
        return MappingProxyType(listed)

    def label(self, kind: str, code: str | None, *, english: bool = False) -> str:
        """How people read a code: its display name (``labels:``, else the built-in one).

        ``kind`` is one of ``LABEL_KINDS`` (categories, sources, tiers, notices,
        outcomes, risks, departments, units, leaders). A code without a name
        shows as itself; ``None`` as "-".
        """
        if code is None:
            return "-"
        if kind == "leaders":
            return self.leaders.people.get(code, code)
        if kind == "units":
            unit = self.units.get(code)
            return unit.name if unit is not None else code
        if kind == "departments":
            if english:
                found = next((d for d in self._model.departments if d.id == code), None)
                if found is not None and found.english:
                    return found.english
            return self.departments.get(code, code)
        named: Mapping[str, LabelModel] = getattr(self._model.labels, kind, {})
        given = named.get(code)
        if given is not None:
            return (given.english or given.name) if english else given.name
        built_in = BUILT_IN.get(kind, {}).get(code)
        if built_in is not None:
            return built_in[1] if english else built_in[0]
        return code

    def department(self, department: str) -> str:
        """``department`` if these rules know it, else InvalidInput with close matches."""
        if department not in self.departments:
            by_name = [d for d, name in self.departments.items() if name == department]
            raise InvalidInput(unknown("department", department, list(self.departments), by_name))
        return department

    @property
    def summon(self) -> SummonRules:
        model = self._model.summon
        return SummonRules(
            model.check_in_within,
            model.feedback_every,
            frozenset(model.on_routing),
            model.notices,
        )

    @functools.cached_property
    def leaders(self) -> LeaderRules:
        model = self._model.leaders
        people = MappingProxyType({p.id: p.name for p in model.people})
        return LeaderRules(self._leader_rule, model.within, model.notices, people)

    @property
    def acceptance(self) -> StepClock:
        """受理: mode (auto | explicit), its time limit and notices (defaults: auto, 1 workday)."""
        model = self._model.acceptance
        steps = tuple(NoticeStep(n.at, n.notice) for n in model.notices)
        return StepClock(model.within, steps, model.mode)

    @property
    def follow_up(self) -> StepClock:
        """回访: the time limit after settling and its notices (default: 7 days)."""
        model = self._model.follow_up
        return StepClock(model.within, tuple(NoticeStep(n.at, n.notice) for n in model.notices))

    def to_dict(self) -> dict[str, Any]:
        """The validated rule book as plain data (durations and dates as text)."""
        return plain(self._model)

    def __repr__(self) -> str:
        return (
            f"RuleBook(source={self.source!r}, version={self.version!r}, "
            f"tiers={self.tiers!r}, units={len(self.units)})"
        )


def _default_limit(value: Duration | RiskLimits) -> Duration:
    return value.default if isinstance(value, RiskLimits) else value


def _limits_by_risk(value: Duration | RiskLimits) -> Mapping[str, Duration]:
    return MappingProxyType(dict(value.by_risk) if isinstance(value, RiskLimits) else {})


def _unreadable(path: str | Path, why: str) -> RulesError:
    return RulesError([(str(path), None, "<file>", f"cannot read the rule book: {why}")])


@functools.cache
def _default() -> RuleBook:
    resource = files("escalation.defaults") / "tiers.yaml"
    return RuleBook.from_yaml(resource.read_text(encoding="utf-8"), source=str(resource))
