"""Rule conditions: CEL expressions over a dispute's facts, compiled once.

CEL is safe to accept from a config file (no I/O, no loops without bound)
and never goes near Python ``eval``. It is also strictly typed, and that cuts
both ways: ``amount >= "500000"`` is a runtime error, ``category == 3`` is
silently false. We want such mistakes at load time, so ``Condition.compile``

1. compiles the source (syntax errors),
2. checks every variable against the facts the engine provides,
3. type-checks the expression with a small checker over the CEL grammar
   (best effort: it only reports *certain* errors, and steps aside on syntax
   it does not model), because a trial run cannot see into branches that
   ``&&``/``||``/``?:`` skip,
4. runs the expression on a sample dispute and insists on a bool.
"""

from __future__ import annotations

import contextlib
import difflib
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import cel

from escalation.errors import RuleEvaluationError

# The facts a condition may read, with a value of each one's type. The types
# are a contract with the engine (it builds the facts); amount is always a
# float because CEL does not mix int and double in arithmetic.
FACT_SAMPLE: dict[str, object] = {
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
FACT_VARIABLES: frozenset[str] = frozenset(FACT_SAMPLE)

# Identifiers CEL resolves itself (type names used as values: type(x) == int).
_CEL_NAMES = frozenset({"int", "uint", "double", "string", "bool", "bytes", "list", "map"})
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_SYNTAX = re.compile(r"<input>:(\d+):(\d+): (.*)")


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
        try:
            program = cel.compile(source)
        except ValueError as exc:
            raise ValueError(_syntax_message(str(exc))) from exc
        bound = set(_MACRO_VAR.findall(source))
        variables = frozenset(set(program.variables()) - bound - _CEL_NAMES)
        unknown = sorted(variables - allowed_vars)
        if unknown:
            raise ValueError(_unknown_message(unknown, allowed_vars))
        types = {name: _cel_type(sample[name]) for name in allowed_vars if name in sample}
        # On syntax the checker does not model, the trial run below still applies.
        with contextlib.suppress(_Unsupported, RecursionError):
            _Checker(source, types, enums or {}).check()
        if variables <= sample.keys():
            try:
                result = program.execute({name: sample[name] for name in variables})
            except Exception as exc:
                facts = ", ".join(f"{name}={sample[name]!r}" for name in sorted(variables))
                raise ValueError(
                    f"fails on a sample dispute ({facts}): {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(result, bool):
                raise ValueError(f"must give true or false, but gives {result!r}")
        floats = frozenset(name for name in variables if isinstance(sample.get(name), float))
        return cls(source, variables, program, floats)

    def matches(self, facts: Mapping[str, object]) -> bool:
        """Evaluate against ``facts``; RuleEvaluationError if that fails or is not a bool."""
        values: dict[str, object] = {}
        for name in self.variables:
            if name not in facts:
                raise RuleEvaluationError(f"condition `{self.source}` needs the fact {name!r}")
            value = facts[name]
            if name in self._floats and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # the engine may pass amount=0; CEL wants a double
            values[name] = value
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
            value = facts[name]
            if name in self._floats and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            values[name] = value
        try:
            result = self._program.execute(values)
        except Exception:
            return None
        if not isinstance(result, list) or len(result) != len(self.conditions):
            return None
        if not all(isinstance(item, bool) for item in result):
            return None
        return tuple(result)


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
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "variable" if len(unknown) == 1 else "variables"
    return f"unknown {noun} {', '.join(parts)}; the variables are: {', '.join(sorted(allowed))}"


# --- a small static type checker for CEL ------------------------------------
# Types are strings: int, uint, double, string, bool, bytes, null, map, dyn
# (unknown) and "list:<element type>". Anything the checker cannot be sure
# of is dyn, and dyn never produces an error.

_NUM = frozenset({"int", "uint", "double"})
_NAMES = {
    "int": "an integer",
    "uint": "an unsigned integer",
    "double": "a decimal number (double)",
    "string": "text (a string)",
    "bool": "true/false (a bool)",
    "bytes": "bytes",
    "null": "null",
    "map": "a map",
}
_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*)
    | (?P<num>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d+|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
    | (?P<str>(?:[rR][bB]?|[bB][rR]?)?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"
               |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    | (?P<ident>[A-Za-z_]\w*)
    | (?P<op>\|\||&&|==|!=|<=|>=|[<>!+\-*/%?:.,()\[\]{}])""",
    re.VERBOSE,
)
_CONVERSIONS = {"int", "uint", "double", "string", "bool", "bytes"}
_STRING_TESTS = {"startsWith", "endsWith", "contains", "matches"}
_MACROS = {"all", "exists", "exists_one", "map", "filter"}


class _Unsupported(Exception):
    """The checker does not model this syntax; leave it to the trial run."""


class _Tok(NamedTuple):
    kind: str  # int, uint, double, string, bytes, ident, op, end
    text: str
    lo: int
    hi: int


class _T(NamedTuple):
    type: str
    lo: int
    hi: int
    var: str = ""  # set when the expression is a bare fact variable
    texts: tuple[str, ...] | None = None  # set for a string literal or a list of them


def _cel_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "string" if isinstance(value, str) else "dyn"


def _describe(cel_type: str) -> str:
    return "a list" if cel_type.startswith("list:") else _NAMES.get(cel_type, cel_type)


def _tokenize(source: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise _Unsupported
        kind, text = match.lastgroup or "", match.group()
        if kind == "num":
            low = text.lower()
            if low.endswith("u"):
                kind = "uint"
            elif not low.startswith("0x") and ("." in low or "e" in low):
                kind = "double"
            else:
                kind = "int"
        elif kind == "str":
            prefix = text[: min(i for i in (text.find('"'), text.find("'")) if i >= 0)]
            kind = "bytes" if "b" in prefix.lower() else "string"
        if kind != "space":
            tokens.append(_Tok(kind, text, match.start(), match.end()))
        pos = match.end()
    tokens.append(_Tok("end", "", pos, pos))
    return tokens


def _eq_ok(x: str, y: str) -> bool:
    return (
        "dyn" in (x, y)
        or "null" in (x, y)
        or x == y
        or (x in _NUM and y in _NUM)
        or (x.startswith("list:") and y.startswith("list:"))
    )


def _order_ok(x: str, y: str) -> bool:
    return "dyn" in (x, y) or (x in _NUM and y in _NUM) or (x == y and x in _NAMES)


class _Checker:
    """Recursive descent over CEL's grammar, computing types bottom-up."""

    def __init__(
        self, source: str, types: Mapping[str, str], enums: Mapping[str, Collection[str]]
    ) -> None:
        self.src = source
        self.types = dict(types)
        self.enums = enums
        self.toks = _tokenize(source)
        self.i = 0
        self.bound: list[str] = []  # comprehension variables in scope

    def check(self) -> None:
        result = self.expr()
        if self.toks[self.i].kind != "end":
            raise _Unsupported
        if result.type not in ("bool", "dyn"):
            raise ValueError(
                f"the condition gives {_describe(result.type)}, but it must be true or false"
            )

    # token helpers
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind == "end":
            raise _Unsupported
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().kind in ("op", "ident") and self.peek().text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> int:
        if not self.accept(text):
            raise _Unsupported
        return self.toks[self.i - 1].hi

    def text(self, lo: int, hi: int) -> str:
        return " ".join(self.src[lo:hi].split())

    def need(self, t: _T, allowed: set[str], what: str) -> None:
        if t.type != "dyn" and t.type not in allowed:
            raise ValueError(f"{what}, but `{self.text(t.lo, t.hi)}` is {_describe(t.type)}")

    # grammar, loosest binding first
    def expr(self) -> _T:
        cond = self.logic("||")
        if not self.accept("?"):
            return cond
        self.need(cond, {"bool"}, "the test before `?` must be true or false")
        yes = self.logic("||")
        self.expect(":")
        no = self.expr()
        if yes.type != no.type and not _eq_ok(yes.type, no.type):
            raise ValueError(
                f"`{self.text(cond.lo, no.hi)}` gives {_describe(yes.type)} on one branch "
                f"and {_describe(no.type)} on the other"
            )
        return _T(yes.type if yes.type == no.type else "dyn", cond.lo, no.hi)

    def logic(self, op: str) -> _T:
        left = self.logic("&&") if op == "||" else self.relation()
        while self.accept(op):
            right = self.logic("&&") if op == "||" else self.relation()
            for side in (left, right):
                self.need(side, {"bool"}, f"`{op}` needs true/false on both sides")
            left = _T("bool", left.lo, right.hi)
        return left

    def relation(self) -> _T:
        left = self.addition()
        while self.peek().text in ("<", "<=", ">", ">=", "==", "!=", "in"):
            op = self.take().text
            right = self.addition()
            x, y, expr = left.type, right.type, self.text(left.lo, right.hi)
            if op == "in":
                if not (y.startswith("list:") or y in ("map", "dyn")):
                    raise ValueError(f"`in` needs a list on its right in `{expr}`")
                ok = not y.startswith("list:") or _eq_ok(x, y[5:])
            else:
                ok = _eq_ok(x, y) if op in ("==", "!=") else _order_ok(x, y)
            if not ok:
                pair = {x, y[5:] if op == "in" else y}
                hint = ""
                if "string" in pair and pair & _NUM:
                    hint = "; write numbers without quotes and text in quotes"
                other = f"a list of {y[5:]}" if op == "in" else _describe(y)
                raise ValueError(f"`{expr}` compares {_describe(x)} with {other}{hint}")
            self.known_values(left, right, op)
            left = _T("bool", left.lo, right.hi)
        return left

    def known_values(self, left: _T, right: _T, op: str) -> None:
        pairs = [(left, right)] if op == "in" else [(left, right), (right, left)]
        for var, texts in pairs:
            known = self.enums.get(var.var)
            if known is None or texts.texts is None or var.var in self.bound:
                continue
            for text in texts.texts:
                if text not in known:
                    close = difflib.get_close_matches(text, list(known), n=3)
                    listed = f"did you mean {', '.join(map(repr, close))}?" if close else ""
                    if len(known) <= 12:
                        listed += f" the known values are: {', '.join(sorted(known))}"
                    raise ValueError(f"{text!r} is not a known {var.var}; {listed.strip()}")

    def addition(self) -> _T:
        left = self.product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.take().text
            left = self.arith(op, left, self.product())
        return left

    def product(self) -> _T:
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            op = self.take().text
            left = self.arith(op, left, self.unary())
        return left

    def arith(self, op: str, a: _T, b: _T) -> _T:
        x, y, expr = a.type, b.type, self.text(a.lo, b.hi)
        if "dyn" in (x, y):
            return _T("dyn", a.lo, b.hi)
        if op == "+" and x == y and (x in ("string", "bytes") or x.startswith("list:")):
            return _T(x, a.lo, b.hi)
        if x == y and x in _NUM and not (op == "%" and x == "double"):
            return _T(x, a.lo, b.hi)
        if x in _NUM and y in _NUM:
            raise ValueError(
                f"`{expr}` mixes {_describe(x)} and {_describe(y)}; CEL does not convert "
                "numbers: write 2.0 instead of 2, or convert with double(...)"
            )
        raise ValueError(f"`{expr}` cannot apply `{op}` to {_describe(x)} and {_describe(y)}")

    def unary(self) -> _T:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-"):
            self.i += 1
            inner = self.unary()
            if tok.text == "!":
                self.need(inner, {"bool"}, "`!` needs true/false")
                return _T("bool", tok.lo, inner.hi)
            self.need(inner, set(_NUM), "`-` needs a number")
            return _T(inner.type, tok.lo, inner.hi)
        return self.member()

    def member(self) -> _T:
        value = self.primary()
        while True:
            if self.accept("."):
                name = self.take()
                if name.kind != "ident":
                    raise _Unsupported
                if self.peek().text == "(":
                    value = self.method(value, name.text)
                elif value.type in _NAMES or value.type.startswith("list:"):
                    raise ValueError(
                        f"`{self.text(value.lo, value.hi)}` is {_describe(value.type)} "
                        f"and has no field {name.text!r}"
                    )
                else:
                    value = _T("dyn", value.lo, name.hi)
            elif self.accept("["):
                self.expr()
                hi = self.expect("]")
                if value.type.startswith("list:"):
                    value = _T(value.type[5:], value.lo, hi)
                elif value.type in _NAMES and value.type != "map":
                    raise ValueError(
                        f"`{self.text(value.lo, hi)}` indexes {_describe(value.type)}; "
                        "only lists and maps can be indexed"
                    )
                else:
                    value = _T("dyn", value.lo, hi)
            else:
                return value

    def method(self, target: _T, name: str) -> _T:
        self.expect("(")
        if name in _MACROS:
            return self.macro(target, name)
        args = self.arguments()
        hi = self.toks[self.i - 1].hi
        if name in _STRING_TESTS:
            self.need(target, {"string"}, f"`.{name}()` works on text")
            for arg in args:
                self.need(arg, {"string"}, f"`.{name}()` takes text")
            return _T("bool", target.lo, hi)
        return _T("int" if name == "size" else "dyn", target.lo, hi)

    def macro(self, target: _T, name: str) -> _T:
        var = self.take()
        if var.kind != "ident":
            raise _Unsupported
        self.expect(",")
        if target.type.startswith("list:"):
            element = target.type[5:]
        elif target.type in ("map", "dyn"):
            element = "dyn"
        else:
            raise ValueError(
                f"`.{name}()` needs a list, but `{self.text(target.lo, target.hi)}` is "
                f"{_describe(target.type)}"
            )
        saved = self.types.get(var.text)
        self.types[var.text] = element
        self.bound.append(var.text)
        body = self.expr()
        if name == "map" and self.accept(","):  # map(x, filter, transform)
            body = self.expr()
        hi = self.expect(")")
        self.bound.pop()
        if saved is None:
            del self.types[var.text]
        else:
            self.types[var.text] = saved
        if name in ("all", "exists", "exists_one"):
            self.need(body, {"bool"}, f"the test inside `.{name}()` must be true or false")
            return _T("bool", target.lo, hi)
        if name == "filter":
            return _T(target.type, target.lo, hi)
        return _T("list:dyn" if body.type == "dyn" else f"list:{body.type}", target.lo, hi)

    def arguments(self) -> list[_T]:
        args: list[_T] = []
        while not self.accept(")"):
            if args:
                self.expect(",")
            args.append(self.expr())
        return args

    def primary(self) -> _T:
        tok = self.take()
        if tok.kind == "string":
            try:
                value = cel.evaluate(tok.text)  # CEL decodes its own escapes
            except Exception as exc:
                raise _Unsupported from exc
            return _T("string", tok.lo, tok.hi, texts=(value,) if isinstance(value, str) else None)
        if tok.kind in ("int", "uint", "double", "bytes"):
            return _T(tok.kind, tok.lo, tok.hi)
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return _T("bool", tok.lo, tok.hi)
            if tok.text == "null":
                return _T("null", tok.lo, tok.hi)
            if self.accept("("):
                self.arguments()
                hi = self.toks[self.i - 1].hi
                if tok.text in _CONVERSIONS:
                    return _T(tok.text, tok.lo, hi)
                if tok.text in ("has", "matches"):
                    return _T("bool", tok.lo, hi)
                return _T("int" if tok.text == "size" else "dyn", tok.lo, hi)
            return _T(self.types.get(tok.text, "dyn"), tok.lo, tok.hi, var=tok.text)
        if tok.text == "(":
            inner = self.expr()
            return _T(inner.type, tok.lo, self.expect(")"))
        if tok.text == "[":
            items: list[_T] = []
            while not self.accept("]"):
                if items:
                    self.expect(",")
                    if self.accept("]"):  # trailing comma
                        break
                items.append(self.expr())
            kinds = {item.type for item in items}
            element = kinds.pop() if len(kinds) == 1 else "dyn"
            texts = [text for item in items for text in item.texts or ()]
            return _T(
                f"list:{element}",
                tok.lo,
                self.toks[self.i - 1].hi,
                texts=tuple(texts) if len(texts) == len(items) else None,
            )
        if tok.text == "{":
            while not self.accept("}"):
                self.expr()
                self.expect(":")
                self.expr()
                if not self.accept(","):
                    self.expect("}")
                    break
            return _T("map", tok.lo, self.toks[self.i - 1].hi)
        raise _Unsupported
