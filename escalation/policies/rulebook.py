"""The rule book: ``config/tiers.yaml`` validated into plain, immutable objects.

Rule owners edit the YAML; everything that can be wrong with it is found at
load time and reported together, each problem with its file, line and key,
so a broken rule book never reaches a running engine. Pydantic checks the
shape of each entry; the cross-references (unit tree, tier names, rule ids,
notice ladders, CEL conditions) are checked afterwards on whatever entries
were well-formed, so one typo does not hide the other problems.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    ValidationError,
    WithJsonSchema,
)

from escalation.errors import InvalidInput, RulesError
from escalation.policies.calendar import WorkCalendar, zone
from escalation.policies.conditions import FACT_VARIABLES, Condition, ConditionSet
from escalation.policies.durations import Duration, parse_duration

NOTICES = ("reminder", "prompt", "warning", "supervision")
RISK_LEVELS = ("low", "medium", "high")
NoticeName = Literal["reminder", "prompt", "warning", "supervision"]
RiskLevel = Literal["low", "medium", "high"]
Problem = tuple[str, int | None, str, str]
KeyPath = tuple[str | int, ...]

# --- runtime objects ---------------------------------------------------------


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


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    tier: str
    parent: str | None


@dataclass(frozen=True)
class RiskRule:
    id: str
    when: Condition
    level: str


@dataclass(frozen=True)
class ElevateRule:
    id: str
    when: Condition
    to: str


@dataclass(frozen=True)
class RoutingRule:
    id: str
    when: Condition
    department: str


@dataclass(frozen=True)
class WeakSignals:
    """弱信号 thresholds: ``min_cluster`` similar disputes within ``window``, grouped ``by``."""

    window: timedelta
    min_cluster: int
    by: tuple[str, ...]  # "unit" and/or "location"


# --- the file's schema -------------------------------------------------------


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(f"cannot read duration {value!r}; write it like '5 workdays'")
    return parse_duration(value)


def _fraction(value: object) -> float:
    # "50%" is how people write it; 0.5 is accepted for generated files.
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            share = float("nan")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value)
    else:
        raise ValueError(f"cannot read {value!r}; write a share of the time limit like 50%")
    if not 0 < share <= 2:
        raise ValueError(f"{value!r} must be more than 0% and at most 200% of the time limit")
    return share


def _word(value: str) -> str:
    if not value.strip() or value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} must be one word without spaces")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _version(value: int) -> int:
    if value != 1:
        raise ValueError(f"unsupported version {value}; this engine reads version 1")
    return value


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError(f"must be at least 1 (or left out for no limit), got {value}")
    return value


def _timezone(value: str) -> str:
    zone(value)
    return value


DurationField = Annotated[
    Duration,
    PlainValidator(_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["5 workdays", "15 days", "36 hours"]}),
]
Fraction = Annotated[
    float, PlainValidator(_fraction), WithJsonSchema({"type": "string", "examples": ["50%"]})
]
Word = Annotated[str, AfterValidator(_word)]
Text = Annotated[str, AfterValidator(_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoticeModel(_Model):
    at: Fraction
    notice: NoticeName


class TierModel(_Model):
    name: Word
    handle_within: DurationField
    max_mediation_attempts: Annotated[StrictInt, AfterValidator(_positive)] | None = None
    notices: tuple[NoticeModel, ...] = ()


class UnitModel(_Model):
    id: Word
    name: Text
    tier: Word
    parent: Word | None = None


class _RuleModel(_Model):
    id: Word
    when: Text  # a CEL expression over the dispute's facts


class RiskModel(_RuleModel):
    level: RiskLevel


class ElevateModel(_RuleModel):
    to: Word


class RoutingModel(_RuleModel):
    department: Word


def _window(value: object) -> Duration:
    duration = _duration(value)
    if duration.unit == "workdays":
        raise ValueError(
            f"cannot use {value!r} as a window; write it in days or hours (clusters are "
            "counted in calendar time)"
        )
    return duration


def _cluster_size(value: int) -> int:
    if value < 2:
        raise ValueError(f"a cluster needs at least 2 disputes, got {value}")
    return value


def _groupings(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("list at least one of unit, location")
    if len(set(value)) != len(value):
        raise ValueError(f"{list(value)} lists a grouping twice")
    return value


class WeakSignalsModel(_Model):
    """弱信号: clusters of similar disputes the reviews flag for 类案治理 (reviews only)."""

    window: Annotated[
        Duration,
        PlainValidator(_window),
        PlainSerializer(str, return_type=str),
        WithJsonSchema({"type": "string", "examples": ["7 days", "72 hours"]}),
    ] = Duration(7, "days")
    min_cluster: Annotated[StrictInt, AfterValidator(_cluster_size)] = 3
    by: Annotated[tuple[Literal["unit", "location"], ...], AfterValidator(_groupings)] = (
        "unit",
        "location",
    )


class RuleBookModel(_Model):
    version: Annotated[StrictInt, AfterValidator(_version)]
    calendar: Literal["cn-workdays", "calendar-days"] = "cn-workdays"
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Shanghai"
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    categories: tuple[Word, ...]
    sources: tuple[Word, ...]
    tiers: tuple[TierModel, ...]
    units: tuple[UnitModel, ...]
    risk: tuple[RiskModel, ...] = ()
    elevate: tuple[ElevateModel, ...] = ()
    routing: tuple[RoutingModel, ...] = ()
    weak_signals: WeakSignalsModel = WeakSignalsModel()


# Which model describes the mapping at a path (list indices dropped): used to
# suggest the right spelling of an unknown key.
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): RuleBookModel,
    ("tiers",): TierModel,
    ("tiers", "notices"): NoticeModel,
    ("units",): UnitModel,
    ("risk",): RiskModel,
    ("elevate",): ElevateModel,
    ("routing",): RoutingModel,
    ("weak_signals",): WeakSignalsModel,
}
_RULE_SECTIONS = ("risk", "elevate", "routing")
# A rule may not read what it decides: it would flip-flop on every decision.
_FORBIDDEN = {"risk": "risk", "routing": "department"}


# --- the rule book -----------------------------------------------------------


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
    _tiers: Mapping[str, Tier] = field(repr=False)
    _children: Mapping[str, tuple[str, ...]] = field(repr=False)
    _model: RuleBookModel = field(repr=False)

    @classmethod
    def load(cls, path: str | Path) -> RuleBook:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = (str(path), None, "<file>", f"cannot read the rule book: {exc}")
            raise RulesError([problem]) from exc
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> RuleBook:
        return _Loader(text, source).build()

    @classmethod
    def default(cls) -> RuleBook:
        """The rule book shipped with the package (``config/tiers.yaml``)."""
        return _default()

    @property
    def top_tier(self) -> str:
        return self.tiers[-1]

    def tier(self, name: str) -> Tier:
        if name not in self._tiers:
            raise InvalidInput(_unknown("tier", name, self.tiers))
        return self._tiers[name]

    def tier_index(self, name: str) -> int:
        return self.tier(name).index

    def unit(self, unit_id: str) -> Unit:
        found = self.units.get(unit_id)
        if found is None:
            by_name = [u.id for u in self.units.values() if u.name == unit_id]
            raise InvalidInput(_unknown("unit", unit_id, list(self.units), exact=by_name))
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
        return WeakSignals(timedelta(hours=hours), model.min_cluster, tuple(model.by))

    def to_dict(self) -> dict[str, Any]:
        """The validated rule book as plain data (durations and dates as text)."""
        return _plain(self._model)

    def __repr__(self) -> str:
        return (
            f"RuleBook(source={self.source!r}, version={self.version!r}, "
            f"tiers={self.tiers!r}, units={len(self.units)})"
        )


def _plain(model: RuleBookModel) -> dict[str, Any]:
    """The model as plain data, as hashed for the version.

    ``weak_signals`` only shapes the reviews: it is left out unless the file
    sets it, so rule books written before the section existed keep their version.
    """
    unset = None if "weak_signals" in model.model_fields_set else {"weak_signals"}
    return model.model_dump(mode="json", exclude=unset)


@functools.cache
def _default() -> RuleBook:
    resource = files("escalation.defaults") / "tiers.yaml"
    return RuleBook.from_yaml(resource.read_text(encoding="utf-8"), source=str(resource))


def _unknown(what: str, name: str, known: Sequence[str], exact: Sequence[str] = ()) -> str:
    close = list(exact) or difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else ""
    if len(known) <= 12:
        hint += f" known {what}s: {', '.join(known)}"
    return f"unknown {what} {name!r}; {hint.strip()}"


def _bad_scalar(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath
) -> tuple[int | None, KeyPath]:
    """Find the scalar that failed to construct, to point at its line."""
    if isinstance(node, yaml.ScalarNode):
        try:
            loader.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            return node.start_mark.line + 1, path
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found = _bad_scalar(loader, value, (*path, str(key.value)))
            if found[0] is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _bad_scalar(loader, item, (*path, index))
            if found[0] is not None:
                return found
    return None, ()


class _RawUnit(NamedTuple):
    position: int  # index in the units list
    tier: str | None
    parent: str | None


def _entries(data: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    raw = data.get(key)
    if not isinstance(raw, list):
        return []
    return [(index, item) for index, item in enumerate(raw) if isinstance(item, dict)]


def _str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _dates(raw: object) -> list[date | None]:
    """Dates as pydantic will read them (None where it will complain)."""
    out: list[date | None] = []
    for value in raw if isinstance(raw, list) else []:
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        out.append(value if isinstance(value, date) else None)
    return out


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


def _key(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "<top level>"


def _line(root: yaml.Node | None, path: KeyPath) -> int | None:
    """Line of the node at ``path`` (of its key, in a mapping), else of its nearest parent."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            entry = next((kv for kv in node.value if kv[0].value == part), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


class _Loader:
    """One validation run: collects every problem, then builds or raises."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.problems: list[tuple[KeyPath, str, int | None]] = []
        self.root: yaml.Node | None = None
        self.conditions: dict[KeyPath, Condition] = {}
        self.walked: set[int] = set()

    def add(self, path: KeyPath, message: str, line: int | None = None) -> None:
        """Record a problem; its line is looked up from ``path`` unless given."""
        self.problems.append((path, message, line))

    def fail(self) -> RulesError:
        problems: list[Problem] = []
        for path, message, line in self.problems:
            problem = (self.source, line or _line(self.root, path), _key(path), message)
            if problem not in problems:
                problems.append(problem)
        problems.sort(key=lambda p: p[1] or 0)
        return RulesError(problems)

    def build(self) -> RuleBook:
        data = self.parse()
        model: RuleBookModel | None = None
        try:
            model = RuleBookModel.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.add(tuple(error["loc"]), _message(error))
        if isinstance(data, dict):
            self.check(data)
        if self.problems or model is None:
            raise self.fail()
        return self.assemble(model)

    def parse(self) -> object:
        loader = yaml.SafeLoader(self.text)
        try:
            self.root = loader.get_single_node()
            if self.root is None:
                raise RulesError([(self.source, 1, "<top level>", "the rule book is empty")])
            self.duplicate_keys(self.root, ())
            try:
                return loader.construct_document(self.root)
            except ValueError as exc:  # e.g. 2027-02-30 matches YAML's date pattern
                line, key = _bad_scalar(yaml.SafeLoader(""), self.root, ())
                raise RulesError([(self.source, line, _key(key), f"cannot read: {exc}")]) from exc
        except yaml.MarkedYAMLError as exc:
            # The context (e.g. where an unclosed bracket opened) is nearer the
            # mistake than the place the parser gave up.
            mark = exc.context_mark or exc.problem_mark
            line = mark.line + 1 if mark is not None else None
            parts = [(exc.context, exc.context_mark), (exc.problem, exc.problem_mark)]
            detail = " ".join(
                f"{text} (line {where.line + 1})" if where is not None else str(text)
                for text, where in parts
                if text
            )
            message = f"YAML syntax error: {detail}"
            raise RulesError([(self.source, line, "<yaml>", message)]) from exc
        except yaml.YAMLError as exc:
            raise RulesError([(self.source, None, "<yaml>", f"YAML error: {exc}")]) from exc
        finally:
            loader.dispose()

    def duplicate_keys(self, node: yaml.Node, path: KeyPath) -> None:
        # PyYAML keeps the last of two equal keys silently; a second `risk:`
        # section would quietly replace the first.
        if id(node) in self.walked:  # an alias met again (or a recursive one)
            return
        self.walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        line = key.start_mark.line + 1  # the second one, not the first
                        self.add((*path, key.value), f"key {key.value!r} appears twice", line)
                    seen.add(key.value)
                    self.duplicate_keys(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.duplicate_keys(item, (*path, index))

    # Cross-reference checks. They read the raw data leniently (pydantic has
    # reported the malformed parts), so one broken entry hides nothing else.
    def check(self, data: dict[str, Any]) -> None:
        categories = self.names(data, "categories", "category")
        sources = self.names(data, "sources", "source")
        self.check_calendar(data)
        tiers = self.check_tiers(data)
        units = self.check_units(data, tiers)
        self.check_rules(data, tiers, categories, sources, units)

    def names(self, data: dict[str, Any], key: str, noun: str) -> list[str]:
        raw = data.get(key)
        if not isinstance(raw, list):
            return []
        if not raw:
            self.add((key,), f"list at least one {noun}")
        names: list[str] = []
        for index, name in enumerate(raw):
            if isinstance(name, str) and name in names:
                self.add((key, index), f"{noun} {name!r} is listed twice")
            elif isinstance(name, str):
                names.append(name)
        return names

    def check_calendar(self, data: dict[str, Any]) -> None:
        holidays, workdays = _dates(data.get("holidays")), _dates(data.get("workdays"))
        if data.get("calendar") == "calendar-days":
            for key in ("holidays", "workdays"):
                if data.get(key):
                    self.add(
                        (key,),
                        f"{key} only apply to calendar: cn-workdays; with calendar-days every "
                        "day counts, so remove them or change the calendar",
                    )
        for index, day in enumerate(workdays):
            if day is not None and day in holidays:
                self.add(("workdays", index), f"{day} is also listed in holidays")

    def check_tiers(self, data: dict[str, Any]) -> list[str]:
        tiers: list[str] = []
        if data.get("tiers") == []:
            self.add(("tiers",), "define at least one tier")
        for index, item in _entries(data, "tiers"):
            name = _str(item, "name")
            if name in tiers:
                self.add(("tiers", index, "name"), f"tier {name!r} is defined twice")
            elif name is not None:
                tiers.append(name)
            self.check_ladder(item.get("notices"), ("tiers", index, "notices"))
        return tiers

    def check_ladder(self, raw: object, path: KeyPath) -> None:
        previous: NoticeModel | None = None
        used: set[str] = set()
        for index, item in enumerate(raw if isinstance(raw, list) else []):
            try:
                step = NoticeModel.model_validate(item)
            except ValidationError:
                continue  # reported by the full validation
            if previous is not None and step.at <= previous.at:
                self.add(
                    (*path, index, "at"),
                    f"{_pct(step.at)} must come after the previous step ({_pct(previous.at)}); "
                    "list the notices in the order they are sent",
                )
            if step.notice in used:
                self.add((*path, index, "notice"), f"notice {step.notice!r} appears twice")
            used.add(step.notice)
            previous = step

    def check_units(self, data: dict[str, Any], tiers: list[str]) -> list[str]:
        # Read ids, tiers and parents leniently, so that a unit with another
        # problem (say, an empty name) does not make its children orphans.
        units: dict[str, _RawUnit] = {}
        for index, item in _entries(data, "units"):
            unit_id, tier, parent = _str(item, "id"), _str(item, "tier"), item.get("parent")
            if unit_id is None:
                continue
            if unit_id in units:
                self.add(("units", index, "id"), f"unit id {unit_id!r} is used twice")
                continue
            units[unit_id] = _RawUnit(index, tier, parent if isinstance(parent, str) else None)
            if tier is not None and tier not in tiers and tiers:
                self.add(("units", index, "tier"), _unknown("tier", tier, tiers))
            if parent is not None and not isinstance(parent, str):
                units[unit_id] = units[unit_id]._replace(tier=None)  # reported by pydantic
        rank = {name: i for i, name in enumerate(tiers)}
        for unit in units.values():
            if unit.tier not in rank:
                continue
            path: KeyPath = ("units", unit.position, "parent")
            above = tiers[rank[unit.tier] + 1] if rank[unit.tier] + 1 < len(tiers) else None
            if unit.parent is None and above is not None:
                self.add(path, f"a {unit.tier} unit needs a parent one tier up, at {above!r}")
            elif unit.parent is None:
                continue
            elif above is None:
                self.add(path, f"{unit.tier!r} is the top tier: its units have no parent")
            elif unit.parent not in units:
                self.add(path, _unknown("unit", unit.parent, list(units)))
            elif units[unit.parent].tier != above and units[unit.parent].tier is not None:
                self.add(
                    path,
                    f"parent {unit.parent!r} is at tier {units[unit.parent].tier!r}, but the "
                    f"parent of a {unit.tier} unit must be one tier up, at {above!r}",
                )
        self.cycles(units)
        present = {unit.tier for unit in units.values()}
        if isinstance(data.get("units"), list):
            for index, item in _entries(data, "tiers"):
                name = _str(item, "name")
                if name is not None and name not in present:
                    self.add(("tiers", index, "name"), f"no unit belongs to tier {name!r}")
        return list(units)

    def cycles(self, units: dict[str, _RawUnit]) -> None:
        done: set[str] = set()
        for start in units:
            chain: list[str] = []
            current: str | None = start
            while current in units and current not in chain and current not in done:
                chain.append(current)
                current = units[current].parent
            if current in chain:
                loop = chain[chain.index(current) :]
                first = loop.index(min(loop, key=lambda u: units[u].position))
                shown = " → ".join([*loop[first:], *loop[:first], loop[first]])
                where = ("units", units[loop[first]].position, "parent")
                self.add(where, f"units form a cycle: {shown}")
            done.update(chain)

    def check_rules(
        self,
        data: dict[str, Any],
        tiers: list[str],
        categories: list[str],
        sources: list[str],
        units: list[str],
    ) -> None:
        departments = [_str(item, "department") for _, item in _entries(data, "routing")]
        enums: dict[str, list[str]] = {"risk": list(RISK_LEVELS)}
        for name, values in (
            ("category", categories),
            ("source", sources),
            ("tier", tiers),
            ("unit", units),
            ("department", [*(d for d in departments if d), ""]),
        ):
            if values:
                enums[name] = values
        ids: dict[str, KeyPath] = {}
        for section in _RULE_SECTIONS:
            for index, item in _entries(data, section):
                path: KeyPath = (section, index)
                rule_id, when = _str(item, "id"), _str(item, "when")
                if rule_id is not None and rule_id in ids:
                    used = _key(ids[rule_id])
                    self.add((*path, "id"), f"rule id {rule_id!r} is already used by {used}")
                elif rule_id is not None:
                    ids[rule_id] = path
                if when is not None and when.strip():
                    self.condition((*path, "when"), when, section, enums)
                to = _str(item, "to")
                if section != "elevate" or to is None or not tiers:
                    continue
                if to not in tiers:
                    self.add((*path, "to"), _unknown("tier", to, tiers))
                elif to == tiers[0]:
                    self.add((*path, "to"), f"{to!r} is the lowest tier; elevation must go higher")

    def condition(
        self, path: KeyPath, source: str, section: str, enums: Mapping[str, list[str]]
    ) -> None:
        try:
            condition = Condition.compile(source, FACT_VARIABLES, enums=enums)
        except ValueError as exc:
            self.add(path, str(exc))
            return
        forbidden = _FORBIDDEN.get(section)
        if forbidden in condition.variables:
            self.add(
                path,
                f"{section} rules cannot use {forbidden!r}: they decide it, and a rule reading "
                "its own result would flip-flop",
            )
            return
        self.conditions[path] = condition

    def assemble(self, model: RuleBookModel) -> RuleBook:
        tiers = {
            tier.name: Tier(
                name=tier.name,
                index=index,
                handle_within=tier.handle_within,
                max_mediation_attempts=tier.max_mediation_attempts,
                notices=tuple(NoticeStep(step.at, step.notice) for step in tier.notices),
            )
            for index, tier in enumerate(model.tiers)
        }
        units = {u.id: Unit(u.id, u.name, u.tier, u.parent) for u in model.units}
        children: dict[str, list[str]] = {}
        for unit in model.units:
            if unit.parent is not None:
                children.setdefault(unit.parent, []).append(unit.id)
        canonical = json.dumps(
            _plain(model),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )

        def rules(section: str, make: Callable[[Any, Condition], Any]) -> tuple[Any, ...]:
            entries = getattr(model, section)
            return tuple(
                make(r, self.conditions[(section, i, "when")]) for i, r in enumerate(entries)
            )

        return RuleBook(
            source=self.source,
            text=self.text,
            version=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16],
            calendar=WorkCalendar(
                model.calendar, model.timezone, frozenset(model.holidays), frozenset(model.workdays)
            ),
            categories=model.categories,
            sources=model.sources,
            tiers=tuple(tiers),
            units=MappingProxyType(units),
            risk_rules=rules("risk", lambda r, c: RiskRule(r.id, c, r.level)),
            elevate_rules=rules("elevate", lambda r, c: ElevateRule(r.id, c, r.to)),
            routing_rules=rules("routing", lambda r, c: RoutingRule(r.id, c, r.department)),
            _tiers=MappingProxyType(tiers),
            _children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
            _model=model,
        )


_FRIENDLY = {
    "missing": "this key is required",
    "string_type": "expected text (quote values YAML would read as numbers, dates or yes/no)",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "tuple_type": "expected a list ('- item' lines or [a, b])",
    "list_type": "expected a list ('- item' lines or [a, b])",
    "model_type": "expected a mapping (key: value lines or {key: value})",
    "dict_type": "expected a mapping (key: value lines or {key: value})",
    "date_type": "expected a date like 2027-01-01",
    "date_parsing": "expected a date like 2027-01-01",
    "date_from_datetime_parsing": "expected a date like 2027-01-01",
    "date_from_datetime_inexact": "expected a date like 2027-01-01, without a time",
}


def _message(error: Any) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "literal_error":
        return f"got {error['input']!r}; expected {error['ctx']['expected']}"
    if kind == "extra_forbidden":
        model = _MODELS.get(tuple(p for p in loc[:-1] if isinstance(p, str)))
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {loc[-1]!r}; {hint}allowed keys: {', '.join(allowed)}"
    return _FRIENDLY.get(kind, str(error["msg"]))
