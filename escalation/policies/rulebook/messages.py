"""How rule book problems are worded: every message a rule owner reads.

A problem names its file, line and key (``tiers[1].handle_within``) and says
what is wrong in the rule owner's words, with the likely fix: a close match
for a misspelt name, the allowed keys for an unknown one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from escalation.policies.durations import shown
from escalation.policies.rulebook.schema import MODELS

#: (file, line or None, key, message): one entry of ``RulesError.problems``.
Problem = tuple[str, int | None, str, str]
#: Where in the file: mapping keys and list indices from the top.
KeyPath = tuple[str | int, ...]

#: The longest message a problem shows: a safety net under ``shown``, which
#: cuts every echoed value to 80 characters.
MAX_MESSAGE: Final = 400

#: Pydantic's error kinds, in words for people who write YAML.
FRIENDLY: Final[Mapping[str, str]] = MappingProxyType(
    {
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
)


def unknown(what: str, name: str, known: Sequence[str], exact: Sequence[str] = ()) -> str:
    """``unknown tier 'stret'; did you mean 'street'? known tiers: ...``."""
    close = list(exact) or difflib.get_close_matches(name[:MAX_MESSAGE], known, n=3)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else ""
    if len(known) <= 12:
        hint += f" known {plural(what)}: {', '.join(known)}"
    return f"unknown {what} {shown(name)}; {hint.strip()}"


def plural(noun: str) -> str:
    """The plural of an English noun: category, categories; tier, tiers."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def counted(n: int, noun: str) -> str:
    """1 change, 2 changes, 1 category, 3 categories."""
    return f"{n:,} {noun if n == 1 else plural(noun)}"


def schema_message(error: Any) -> str:
    """One pydantic error (of ``ValidationError.errors()``) in the rule owner's words."""
    kind, loc = error["type"], error["loc"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "literal_error":
        return f"got {shown(error['input'])}; expected {error['ctx']['expected']}"
    if kind == "extra_forbidden":
        model = MODELS.get(tuple(p for p in loc[:-1] if isinstance(p, str)))
        allowed = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {shown(loc[-1])}; {hint}allowed keys: {', '.join(allowed)}"
    return FRIENDLY.get(kind, str(error["msg"]))


def key_text(path: KeyPath) -> str:
    """``("tiers", 1, "name")`` as ``tiers[1].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "<top level>"


def percent(share: float) -> str:
    return f"{share * 100:g}%"
