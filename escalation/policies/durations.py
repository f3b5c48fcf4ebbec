"""Time limits as rule owners write them: ``5 workdays``, ``15 days``, ``36 hours``.

A duration is only an amount and a unit; what a working day *is* belongs to
the calendar (``calendar.WorkCalendar.add``), so the same rule book can run on
Chinese working days or on plain calendar days.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, get_args

Unit = Literal["workdays", "days", "hours"]
UNITS: Final[tuple[Unit, ...]] = get_args(Unit)

# Singular and plural spellings map to one canonical unit.
_SPELLINGS: Final[Mapping[str, Unit]] = MappingProxyType(
    {
        "workday": "workdays",
        "workdays": "workdays",
        "working day": "workdays",
        "working days": "workdays",
        "day": "days",
        "days": "days",
        "hour": "hours",
        "hours": "hours",
    }
)
_PATTERN = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s+([a-z]+(?:\s+[a-z]+)?)\s*$", re.IGNORECASE)
_EXAMPLES = "write it like '5 workdays', '15 days' or '36 hours'"

#: The longest time limit a rule book may set, per unit: two years. A limit
#: longer than that is a typo (or an attack: ``99999999999 days`` overflows
#: every date), and a dispute left two years at one tier has failed whatever
#: the rule book says. 731 days = 17,544 hours; 520 workdays = 104 weeks of
#: Monday-Friday (holidays make it a little longer than 731 days).
MAX_AMOUNT: Final[Mapping[str, int]] = MappingProxyType(
    {"workdays": 520, "days": 731, "hours": 17_544}
)

#: How many characters of a value a message echoes.
_SHOWN = 80


def shown(value: object, limit: int = _SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, never expanding a huge value first."""
    brief = reprlib.Repr()  # keyword arguments need Python 3.12
    brief.maxlevel, brief.maxstring, brief.maxother = 2, limit, limit
    brief.maxlist = brief.maxtuple = brief.maxdict = brief.maxset = 6
    text = brief.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Duration:
    """A positive whole number of workdays, days or hours."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(
                f"duration amount must be a positive integer, got {shown(self.amount)}"
            )
        if self.unit not in UNITS:
            raise ValueError(
                f"duration unit must be one of {', '.join(UNITS)}, got {shown(self.unit)}"
            )

    def __str__(self) -> str:
        # "1 workday", "5 workdays": parse_duration reads both back.
        return f"{self.amount} {self.unit[:-1] if self.amount == 1 else self.unit}"


def within_limit(duration: Duration) -> Duration:
    """``duration``, or ValueError if it is longer than ``MAX_AMOUNT`` allows (rule books)."""
    if duration.amount > MAX_AMOUNT[duration.unit]:
        raise ValueError(
            f"{duration} is too long: a time limit is at most "
            f"{MAX_AMOUNT[duration.unit]:,} {duration.unit} (two years)"
        )
    return duration


def parse_duration(text: str) -> Duration:
    """Parse ``"5 workdays"``, ``"1 working day"``, ``"15 days"``, ``"36 hours"``."""
    if not isinstance(text, str):
        raise ValueError(f"a duration must be text, got {shown(text)}; {_EXAMPLES}")
    match = _PATTERN.match(text) if len(text) <= _SHOWN else None
    if match is None:
        raise ValueError(f"cannot read duration {shown(text)}; {_EXAMPLES}")
    number, word = match.group(1), " ".join(match.group(2).lower().split())
    unit = _SPELLINGS.get(word)
    if unit is None:
        raise ValueError(
            f"unknown unit {match.group(2)!r} in duration {text!r}; use workdays, days or hours"
        )
    if not number.lstrip("+").isdigit() or int(number) < 1:
        raise ValueError(f"duration amount must be a positive integer, got {number!r} in {text!r}")
    return Duration(int(number), unit)
