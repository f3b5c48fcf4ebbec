"""A small static type checker for CEL rule conditions (best effort).

``Condition.compile`` runs it after CEL has parsed a condition: a trial run
on a sample dispute cannot see into the branches ``&&``, ``||`` and ``?:``
skip, and CEL is strict about types (``amount >= "500000"`` is a runtime
error, ``category == 3`` silently false). The checker walks CEL's grammar
and reports only *certain* errors, in words a rule owner understands; on
syntax it does not model it steps aside (``check_types`` returns quietly).

Types are strings: int, uint, double, string, bool, bytes, null, map, dyn
(unknown) and "list:<element type>". Anything the checker cannot be sure of
is dyn, and dyn never produces an error.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

import cel

from escalation.policies.durations import shown


def check_types(
    source: str, types: Mapping[str, str], enums: Mapping[str, Collection[str]]
) -> None:
    """ValueError if ``source`` is certainly mistyped, or compares a fact with an unknown value.

    ``types`` gives each variable's CEL type (see ``cel_type``); ``enums`` the
    known values of text facts. Syntax the checker does not model passes.
    """
    with contextlib.suppress(_Unsupported, RecursionError):
        _Checker(source, types, enums).check()


def cel_type(value: object) -> str:
    """The CEL type of a Python value, as the checker names types."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "string" if isinstance(value, str) else "dyn"


_NUM: Final = frozenset({"int", "uint", "double"})
_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "int": "an integer",
        "uint": "an unsigned integer",
        "double": "a decimal number (double)",
        "string": "text (a string)",
        "bool": "true/false (a bool)",
        "bytes": "bytes",
        "null": "null",
        "map": "a map",
    }
)
_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*)
    | (?P<num>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d+|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
    | (?P<str>(?:[rR][bB]?|[bB][rR]?)?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"
               |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    | (?P<ident>[A-Za-z_]\w*)
    | (?P<op>\|\||&&|==|!=|<=|>=|[<>!+\-*/%?:.,()\[\]{}])""",
    re.VERBOSE,
)
_CONVERSIONS: Final = frozenset({"int", "uint", "double", "string", "bool", "bytes"})
_STRING_TESTS: Final = frozenset({"startsWith", "endsWith", "contains", "matches"})
_MACROS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})


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
                    raise ValueError(f"{shown(text)} is not a known {var.var}; {listed.strip()}")

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
                        f"and has no field {shown(name.text)}"
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
