"""Rule conditions: CEL expressions over a dispute's facts, compiled once.

CEL is safe to accept from a config file (no I/O, no loops without bound)
and never goes near Python ``eval``. It is also strictly typed, and that cuts
both ways: ``amount >= "500000"`` is a runtime error, ``category == 3`` is
silently false. We want such mistakes at load time, so ``Condition.compile``

1. compiles the source (syntax errors),
2. checks every variable against the facts the engine provides,
3. type-checks the expression (``cel_types``: a small checker over the CEL
   grammar, best effort: it only reports *certain* errors, and steps aside on
   syntax it does not model), because a trial run cannot see into branches
   that ``&&``/``||``/``?:`` skip,
4. runs the expression on a sample dispute and insists on a bool.

Before any of that it holds the condition to a cost budget (docs/rules.md,
"Limits"), because a rule book may come from anyone who can edit a file and
CEL macros multiply: ``L.map(a, L.map(b, ...))`` over ten-item lists does
10**4 steps, four levels of twenty-item lists take seconds. The static bounds
(text length, tokens, bracket and macro nesting, number of macros) keep the
worst condition to a few thousand steps on any facts; the timed trial run
then refuses one that is slow on the sample dispute all the same.
"""

from __future__ import annotations

import contextlib
import difflib
import operator
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import cel

from escalation.errors import RuleEvaluationError
from escalation.policies.cel_types import cel_type, check_types
from escalation.policies.durations import shown

# The facts a condition may read, with a value of each one's type. The types
# are a contract with the engine (it builds the facts); amount is always a
# float because CEL does not mix int and double in arithmetic.
FACT_SAMPLE: Final[Mapping[str, object]] = MappingProxyType(
    {
        "category": "other",
        "source": "walk_in",
        "parties": 2,
        "amount": 1000.0,  # yuan
        "risk": "low",  # low | medium | high
        "tier": "community",
        "unit": "sample-unit",
        "attempts": 0,  # failed mediation attempts at the current tier
        "reopened": 0,  # times the dispute was reopened
        "escalations": 0,
        "elevated": False,
        "location": "",
        "department": "",  # "" until routed
    }
)
FACT_VARIABLES: Final[frozenset[str]] = frozenset(FACT_SAMPLE)

# Identifiers CEL resolves itself (type names used as values: type(x) == int).
_CEL_NAMES: Final = frozenset({"int", "uint", "double", "string", "bool", "bytes", "list", "map"})
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_SYNTAX = re.compile(r"<input>:(\d+):(\d+): (.*)")

#: The cost budget of one condition (docs/rules.md, "Limits").
MAX_CONDITION_CHARS: Final = 1000
#: Tokens as ``_TOKEN`` splits them (a string literal is one; a // comment is
#: several): 300 is five times the longest condition of the shipped rule book.
MAX_CONDITION_TOKENS: Final = 300
#: Brackets ``( [ {`` open inside one another.
MAX_BRACKET_DEPTH: Final = 32
#: Macro calls (``.all .exists .exists_one .map .filter``), chained or not.
MAX_MACROS: Final = 10
#: Macros inside the body of another: two allows ``L.exists(a, M.exists(b, ...))``;
#: with the token cap that is at most a few thousand steps.
MAX_MACRO_NESTING: Final = 2
#: Wall time of the trial run on the sample dispute, in seconds.
MAX_TRIAL_SECONDS: Final = 0.05
_MACROS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TOKEN = re.compile(
    r""""(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|\d+(?:\.\d+)?|\w+|&&|\|\||[=!<>]=|\S"""
)


@dataclass(frozen=True)
class Condition:
    """A compiled CEL condition; build it with ``Condition.compile``."""

    source: str
    variables: frozenset[str]
    _program: cel.Program = field(repr=False, compare=False)
    _floats: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def compile(
        cls,
        source: str,
        allowed_vars: frozenset[str] = FACT_VARIABLES,
        sample: Mapping[str, object] = FACT_SAMPLE,
        enums: Mapping[str, Collection[str]] | None = None,
    ) -> Condition:
        """Compile and check ``source``; ValueError with a readable message if it is wrong.

        ``enums`` lists the known values of text facts (categories, tiers...):
        ``category == "wage_arears"`` would never match, so it is refused.
        """
        if not isinstance(source, str) or not source.strip():
            raise ValueError(
                "the condition is empty; write a CEL expression such as 'parties >= 10'"
            )
        _check_size(source)
        try:
            program = cel.compile(source)
        except ValueError as exc:
            raise ValueError(_syntax_message(str(exc))) from exc
        bound = set(_MACRO_VAR.findall(source))
        variables = frozenset(set(program.variables()) - bound - _CEL_NAMES)
        unknown = sorted(variables - allowed_vars)
        if unknown:
            raise ValueError(_unknown_message(unknown, allowed_vars))
        types = {name: cel_type(sample[name]) for name in allowed_vars if name in sample}
        # On syntax the checker does not model, the trial run below still applies.
        check_types(source, types, enums or {})
        if variables <= sample.keys():
            start = time.perf_counter()
            try:
                result = program.execute({name: sample[name] for name in variables})
            except Exception as exc:
                facts = ", ".join(f"{name}={sample[name]!r}" for name in sorted(variables))
                raise ValueError(
                    f"fails on a sample dispute ({facts}): {type(exc).__name__}: "
                    f"{shown(str(exc))[1:-1]}"
                ) from exc
            took = time.perf_counter() - start
            if took > MAX_TRIAL_SECONDS:
                raise ValueError(
                    f"takes {took:.2f} s on a sample dispute (at most {MAX_TRIAL_SECONDS} s, "
                    "and every received dispute runs it); iterate over shorter lists"
                )
            if not isinstance(result, bool):
                raise ValueError(f"must give true or false, but gives {shown(result)}")
        floats = frozenset(name for name in variables if isinstance(sample.get(name), float))
        return cls(source, variables, program, floats)

    def matches(self, facts: Mapping[str, object]) -> bool:
        """Evaluate against ``facts``; RuleEvaluationError if that fails or is not a bool."""
        values: dict[str, object] = {}
        for name in self.variables:
            if name not in facts:
                raise RuleEvaluationError(f"condition `{self.source}` needs the fact {name!r}")
            values[name] = _cel_value(facts[name], double=name in self._floats)
        try:
            result = self._program.execute(values)
        except Exception as exc:
            raise RuleEvaluationError(f"condition `{self.source}` failed: {exc}") from exc
        if not isinstance(result, bool):
            raise RuleEvaluationError(f"condition `{self.source}` gave {result!r}, not true/false")
        return result


@dataclass(frozen=True)
class ConditionSet:
    """A rule section's conditions evaluated together by one CEL program.

    Each CEL call converts its facts to CEL values, which costs more than the
    comparisons; ``[c1, c2, ...]`` pays that once for the whole section.
    ``evaluate`` answers None when that program fails (a condition that errs
    or gives a non-bool): the caller then evaluates one by one with the usual
    order and errors, so the combined program never changes an outcome.
    """

    conditions: tuple[Condition, ...]
    variables: tuple[str, ...]  # every fact any condition reads, sorted
    _program: cel.Program | None = field(repr=False, compare=False)
    _floats: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _values: Callable[[Mapping[str, object]], Any] | None = field(
        default=None, repr=False, compare=False
    )  # the variables' values in one C call (one variable: the value itself)

    @classmethod
    def of(cls, conditions: Iterable[Condition]) -> ConditionSet:
        conditions = tuple(conditions)
        variables = tuple(sorted(set().union(*(c.variables for c in conditions))))
        floats = frozenset().union(*(c._floats for c in conditions))
        program = None
        if conditions:
            # Newlines keep a condition's trailing // comment inside its own item.
            items = ",".join(f"(\n{c.source}\n)" for c in conditions)
            with contextlib.suppress(ValueError):
                program = cel.compile(f"[{items}]")
        values = operator.itemgetter(*variables) if variables else None
        return cls(conditions, variables, program, floats, values)

    def key(self, facts: Mapping[str, object]) -> tuple[object, ...] | None:
        """The facts the section reads: equal keys, equal outcomes (None if one is missing)."""
        if self._values is None:
            return ()
        try:
            found = self._values(facts)
        except KeyError:
            return None
        return found if len(self.variables) > 1 else (found,)

    def evaluate(self, facts: Mapping[str, object]) -> tuple[bool, ...] | None:
        """Every condition's outcome, or None when the one-program path cannot say."""
        if self._program is None:
            return None
        values: dict[str, object] = {}
        for name in self.variables:
            if name not in facts:
                return None
            values[name] = _cel_value(facts[name], double=name in self._floats)
        try:
            result = self._program.execute(values)
        except Exception:  # noqa: BLE001 - None: evaluated one by one, which reports it
            return None
        if not isinstance(result, list) or len(result) != len(self.conditions):
            return None
        if not all(isinstance(item, bool) for item in result):
            return None
        return tuple(result)


def _check_size(source: str) -> None:
    """Refuse a condition over the static budget, without echoing it."""
    if len(source) > MAX_CONDITION_CHARS:
        raise ValueError(
            f"the condition is {len(source):,} characters long (at most "
            f"{MAX_CONDITION_CHARS:,}); split it into several rules"
        )
    tokens = _TOKEN.findall(source)
    if len(tokens) > MAX_CONDITION_TOKENS:
        raise ValueError(
            f"the condition has {len(tokens):,} tokens (at most {MAX_CONDITION_TOKENS}); "
            "split it into several rules, or test a list with `in`"
        )
    stack: list[bool] = []  # open brackets: True for a macro's parenthesis
    macros = depth = 0
    for index, piece in enumerate(tokens):
        if piece in {"(", "[", "{"}:
            macro = piece == "(" and index >= 2 and tokens[index - 2] == "."
            macro = macro and tokens[index - 1] in _MACROS
            macros += macro
            stack.append(macro)
            depth = max(depth, sum(stack))
            if len(stack) > MAX_BRACKET_DEPTH:
                raise ValueError(
                    f"brackets are nested more than {MAX_BRACKET_DEPTH} deep in the condition"
                )
        elif piece in {")", "]", "}"} and stack:
            stack.pop()
    if macros > MAX_MACROS:
        raise ValueError(
            f"the condition calls {macros} macros (all, exists, exists_one, map, filter; "
            f"at most {MAX_MACROS}); split it into several rules"
        )
    if depth > MAX_MACRO_NESTING:
        raise ValueError(
            f"macros (all, exists, exists_one, map, filter) are nested {depth} deep in the "
            f"condition (at most {MAX_MACRO_NESTING}): each level multiplies the work of "
            "every dispute"
        )


def _cel_value(value: object, *, double: bool) -> object:
    # The engine may pass amount=0; CEL wants a double where the sample has one.
    if double and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _syntax_message(error: str) -> str:
    match = _SYNTAX.search(error)
    if match is None:
        return f"cannot parse the condition: {error.splitlines()[0]}"
    line, column, detail = match.groups()
    where = f"column {column}" if line == "1" else f"line {line}, column {column}"
    return f"syntax error at {where} of the condition: {detail}"


def _unknown_message(unknown: list[str], allowed: frozenset[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, allowed, n=1)
        parts.append(shown(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "variable" if len(unknown) == 1 else "variables"
    return f"unknown {noun} {', '.join(parts)}; the variables are: {', '.join(sorted(allowed))}"
