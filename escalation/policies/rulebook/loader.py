"""Reading a rule book's text: every problem found at once, or a valid model.

Rule owners edit the YAML; everything that can be wrong with it is found at
load time and reported together, each problem with its file, line and key,
so a broken rule book never reaches a running engine. Pydantic checks the
shape of each entry (``schema``); the cross-references (unit tree, tier
names, rule ids, notice ladders, CEL conditions) are checked afterwards on
whatever entries were well-formed, so one typo does not hide the other
problems. The loader takes text: reading files belongs to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import yaml
from pydantic import ValidationError

from escalation.errors import RulesError
from escalation.policies.conditions import FACT_VARIABLES, Condition
from escalation.policies.durations import shown
from escalation.policies.rulebook.labels import BUILT_IN
from escalation.policies.rulebook.messages import (
    MAX_MESSAGE,
    KeyPath,
    Problem,
    key_text,
    percent,
    schema_message,
    unknown,
)
from escalation.policies.rulebook.schema import (
    RISK_LEVELS,
    RULE_SECTIONS,
    NoticeModel,
    RuleBookModel,
)

#: Limits on the YAML itself (docs/rules.md, "Limits"). The shipped rule book,
#: with every unit of a district, has about 1,100 nodes, no alias and 4 levels.
#: Text longer than this many characters is refused before it is parsed.
MAX_TEXT_CHARS: Final = 4 * 1024 * 1024
#: Aliases (``*name``) in one file: reuse is fine, a chain of them is a bomb.
MAX_ALIASES: Final = 100
#: Nodes (scalars, lists, mappings) with every alias expanded: what pydantic,
#: the checks and any message would walk.
MAX_NODES: Final = 50_000
#: Lists and mappings nested in one another.
MAX_DEPTH: Final = 50

# A rule may not read what it decides: it would flip-flop on every decision.
_FORBIDDEN: Final[Mapping[str, str]] = MappingProxyType({"risk": "risk", "routing": "department"})


#: Where the leaders' condition (领导包保 ``required_when``) is in the file.
LEADER_CONDITION: Final[KeyPath] = ("leaders", "required_when")


@dataclass(frozen=True)
class Validated:
    """A rule book's text that passed every check."""

    model: RuleBookModel
    #: Each rule's compiled ``when``, by section, in the file's order.
    conditions: Mapping[str, tuple[Condition, ...]]


def validate(text: str, source: str = "<string>") -> Validated:
    """Check ``text`` (named ``source`` in problems); RulesError lists every problem."""
    if len(text) > MAX_TEXT_CHARS:
        raise RulesError(
            [
                (
                    source,
                    None,
                    "<file>",
                    (
                        f"the rule book is longer than {MAX_TEXT_CHARS:,} characters; "
                        "a real one is far smaller"
                    ),
                )
            ]
        )
    return _Loader(text, source).build()


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses too many aliases and too deep nesting as it composes."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source, self.aliases, self.depth, self.nodes = source, 0, 0, 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise self.refuse(
                    line,
                    f"more than {MAX_ALIASES} aliases (*name); write the values out "
                    "instead of referring to anchors",
                )
        self.nodes += 1
        if self.nodes > MAX_NODES:  # stop reading: a long file takes long to parse
            raise self.refuse(
                line, f"more than {MAX_NODES:,} values; a real rule book is far smaller"
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.refuse(line, f"lists and mappings nested more than {MAX_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def refuse(self, line: int | None, message: str) -> RulesError:
        return RulesError([(self.source, line, "<yaml>", message)])


#: What a node too big or too deep (or inside itself) measures.
_TOO_MUCH: Final = (MAX_NODES + 1, MAX_DEPTH + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _measure(root: yaml.Node, found: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(nodes, nesting depth) under ``root`` with aliases expanded, each capped just past its limit.

    Iterative, so that a chain of aliases cannot exhaust Python's stack.
    ``found`` memoizes by node; a node still being measured when met again
    (an alias to one of its own parents) measures ``_TOO_MUCH``.
    """
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = _children(node)
        if not children_done:
            if id(node) in found:
                continue
            found[id(node)] = _TOO_MUCH  # until measured: a cycle meets this
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in found)
            continue
        size = 1 + sum(found[id(child)][0] for child in children)
        depth = 1 + max((found[id(child)][1] for child in children), default=0)
        found[id(node)] = (min(size, MAX_NODES + 1), min(depth, MAX_DEPTH + 1))
    return found[id(root)]


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
    return [_date(value) for value in raw] if isinstance(raw, list) else []


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None


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
            brief = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
            problem = (self.source, line or _line(self.root, path), key_text(path), brief)
            if problem not in problems:
                problems.append(problem)
        problems.sort(key=lambda p: p[1] or 0)
        return RulesError(problems)

    def build(self) -> Validated:
        data = self.parse()
        model: RuleBookModel | None = None
        try:
            model = RuleBookModel.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                self.add(tuple(error["loc"]), schema_message(error))
        if isinstance(data, dict):
            self.check(data)
        if self.problems or model is None:
            raise self.fail()
        conditions = {
            section: tuple(
                self.conditions[(section, index, "when")]
                for index in range(len(getattr(model, section)))
            )
            for section in RULE_SECTIONS
        }
        # Each notice's condition, in the order the notices are listed.
        conditions["notices"] = tuple(
            self.conditions[("notices", name, "when")] for name in model.notices
        )
        leader_rule = self.conditions.get(LEADER_CONDITION)
        conditions["leaders"] = () if leader_rule is None else (leader_rule,)
        return Validated(model, MappingProxyType(conditions))

    def parse(self) -> object:
        loader = _BoundedLoader(self.text, self.source)
        try:
            self.root = loader.get_single_node()
            if self.root is None:
                raise RulesError([(self.source, 1, "<top level>", "the rule book is empty")])
            self.bounded(self.root)
            self.duplicate_keys(self.root, ())
            try:
                return loader.construct_document(self.root)
            except ValueError as exc:  # e.g. 2027-02-30 matches YAML's date pattern
                line, key = _bad_scalar(yaml.SafeLoader(""), self.root, ())
                raise RulesError(
                    [(self.source, line, key_text(key), f"cannot read: {exc}")]
                ) from exc
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

    def bounded(self, root: yaml.Node) -> None:
        """Refuse a document that expands, through aliases, past ``MAX_NODES`` or ``MAX_DEPTH``."""
        found: dict[int, tuple[int, int]] = {}
        size, depth = _measure(root, found)
        if size <= MAX_NODES and depth <= MAX_DEPTH:
            return
        where: KeyPath = ()
        if isinstance(root, yaml.MappingNode):  # name the biggest section
            biggest = max(root.value, key=lambda kv: found[id(kv[1])])
            where = (str(biggest[0].value)[:80],)
        if size <= MAX_NODES:
            message = (
                f"nests lists and mappings more than {MAX_DEPTH} deep through aliases (*name); "
                "write the values out instead"
            )
        else:
            message = (
                f"expands to more than {MAX_NODES:,} values through aliases (*name), "
                "or an alias refers to itself; write the values out instead"
            )
        raise RulesError(
            [
                (
                    self.source,
                    _line(root, where),
                    key_text(where),
                    message,
                )
            ]
        )

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
                        self.add((*path, key.value), f"key {shown(key.value)} appears twice", line)
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
        for section in ("acceptance", "follow_up"):  # their notice ladders, as a tier's
            clock = data.get(section)
            if isinstance(clock, dict):
                self.check_ladder(clock.get("notices"), (section, "notices"))
        units = self.check_units(data, tiers)
        self.check_rules(data, tiers, categories, sources, units)
        self.check_casework(data, tiers, categories, sources, units)
        self.check_labels(data, {"categories": categories, "sources": sources, "tiers": tiers})

    def names(self, data: dict[str, Any], key: str, noun: str) -> list[str]:
        raw = data.get(key)
        if not isinstance(raw, list):
            return []
        if not raw:
            self.add((key,), f"list at least one {noun}")
        names: list[str] = []
        for index, name in enumerate(raw):
            if isinstance(name, str) and name in names:
                self.add((key, index), f"{noun} {shown(name)} is listed twice")
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
                self.add(("tiers", index, "name"), f"tier {shown(name)} is defined twice")
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
                    f"{percent(step.at)} must come after the previous step "
                    f"({percent(previous.at)}); list the notices in the order they are sent",
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
                self.add(("units", index, "id"), f"unit id {shown(unit_id)} is used twice")
                continue
            units[unit_id] = _RawUnit(index, tier, parent if isinstance(parent, str) else None)
            if tier is not None and tier not in tiers and tiers:
                self.add(("units", index, "tier"), unknown("tier", tier, tiers))
            if parent is not None and not isinstance(parent, str):
                units[unit_id] = units[unit_id]._replace(tier=None)  # reported by pydantic
        rank = {name: i for i, name in enumerate(tiers)}
        for unit in units.values():
            if unit.tier not in rank:
                continue
            path: KeyPath = ("units", unit.position, "parent")
            above = tiers[rank[unit.tier] + 1] if rank[unit.tier] + 1 < len(tiers) else None
            if unit.parent is None and above is not None:
                self.add(path, f"a {unit.tier} unit needs a parent one tier up, at {shown(above)}")
            elif unit.parent is None:
                continue
            elif above is None:
                self.add(path, f"{shown(unit.tier)} is the top tier: its units have no parent")
            elif unit.parent not in units:
                self.add(path, unknown("unit", unit.parent, list(units)))
            elif units[unit.parent].tier != above and units[unit.parent].tier is not None:
                self.add(
                    path,
                    f"parent {shown(unit.parent)} is at tier "
                    f"{shown(units[unit.parent].tier)}, but the parent of a {unit.tier} unit "
                    f"must be one tier up, at {shown(above)}",
                )
        self.cycles(units)
        present = {unit.tier for unit in units.values()}
        if isinstance(data.get("units"), list):
            for index, item in _entries(data, "tiers"):
                name = _str(item, "name")
                if name is not None and name not in present:
                    self.add(("tiers", index, "name"), f"no unit belongs to tier {shown(name)}")
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
        enums.update(
            (name, values)
            for name, values in (
                ("category", categories),
                ("source", sources),
                ("tier", tiers),
                ("unit", units),
                ("department", [*(d for d in departments if d), ""]),
            )
            if values
        )
        self.check_notice_conditions(data, enums)
        ids: dict[str, KeyPath] = {}
        for section in RULE_SECTIONS:
            for index, item in _entries(data, section):
                path: KeyPath = (section, index)
                rule_id, when = _str(item, "id"), _str(item, "when")
                if rule_id is not None and rule_id in ids:
                    used = key_text(ids[rule_id])
                    self.add((*path, "id"), f"rule id {shown(rule_id)} is already used by {used}")
                elif rule_id is not None:
                    ids[rule_id] = path
                if when is not None and when.strip():
                    self.condition((*path, "when"), when, section, enums)
                to = _str(item, "to")
                if section != "elevate" or to is None or not tiers:
                    continue
                if to not in tiers:
                    self.add((*path, "to"), unknown("tier", to, tiers))
                elif to == tiers[0]:
                    self.add(
                        (*path, "to"), f"{shown(to)} is the lowest tier; elevation must go higher"
                    )

    def check_notice_conditions(self, data: dict[str, Any], enums: Mapping[str, list[str]]) -> None:
        """``notices: {supervision: {when: ...}}``: each condition compiles over the facts."""
        raw = data.get("notices")
        if not isinstance(raw, dict):
            return
        for name, item in raw.items():
            when = item.get("when") if isinstance(item, dict) else None
            if isinstance(when, str) and when.strip():
                self.condition(("notices", name, "when"), when, "notices", enums)

    def check_labels(self, data: dict[str, Any], listed: Mapping[str, list[str]]) -> None:
        """Labels name codes the rule book knows (or the engine's outcomes and risks)."""
        labels = data.get("labels")
        if not isinstance(labels, dict):
            return
        known = {**listed, "outcomes": list(BUILT_IN["outcomes"]), "risks": list(BUILT_IN["risks"])}
        for kind, names in labels.items():
            if kind not in known or not isinstance(names, dict):
                continue  # the schema reports those
            for code in names:
                if isinstance(code, str) and code not in known[kind]:
                    noun = "category" if kind == "categories" else kind.removesuffix("s")
                    self.add(("labels", kind, code), unknown(noun, code, known[kind]))

    def check_casework(
        self,
        data: dict[str, Any],
        tiers: list[str],
        categories: list[str],
        sources: list[str],
        units: list[str],
    ) -> None:
        """Departments (吹哨报到) and leaders (领导包保): names used must be listed."""
        listed: list[str] = []
        for index, item in _entries(data, "departments"):
            dept = _str(item, "id")
            if dept in listed:
                self.add(("departments", index, "id"), f"department {shown(dept)} is listed twice")
            elif dept is not None:
                listed.append(dept)
        routed = [(i, _str(item, "department")) for i, item in _entries(data, "routing")]
        if listed:
            for index, dept in routed:
                if dept is not None and dept not in listed:
                    self.add(("routing", index, "department"), unknown("department", dept, listed))
        known = listed or [d for _, d in routed if d is not None]
        summon = data.get("summon")
        on_routing = summon.get("on_routing") if isinstance(summon, dict) else None
        for index, dept in enumerate(on_routing if isinstance(on_routing, list) else []):
            if isinstance(dept, str) and dept not in known:
                self.add(("summon", "on_routing", index), unknown("department", dept, known))
        leaders = data.get("leaders")
        if not isinstance(leaders, dict):
            return
        people: list[str] = []
        for index, item in enumerate(leaders.get("people") or []):
            leader = _str(item, "id") if isinstance(item, dict) else None
            if leader in people:
                self.add(
                    ("leaders", "people", index, "id"), f"leader {shown(leader)} is listed twice"
                )
            elif leader is not None:
                people.append(leader)
        when = leaders.get("required_when")
        if isinstance(when, str) and when.strip():
            enums: dict[str, list[str]] = {"risk": list(RISK_LEVELS)}
            enums.update(
                (name, values)
                for name, values in (
                    ("category", categories),
                    ("source", sources),
                    ("tier", tiers),
                    ("unit", units),
                    ("department", [*known, ""]),
                )
                if values
            )
            self.condition(LEADER_CONDITION, when, "leaders", enums)

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
