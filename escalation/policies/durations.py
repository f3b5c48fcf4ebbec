"""Time limits as rule owners write them: ``5 workdays``, ``15 days``, ``36 hours``.

A duration is only an amount and a unit; what a working day *is* belongs to
the calendar (``calendar.WorkCalendar.add``), so the same rule book can run on
Chinese working days or on plain calendar days.
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class Duration:
    """A positive whole number of workdays, days or hours."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(f"duration amount must be a positive integer, got {self.amount!r}")
        if self.unit not in UNITS:
            raise ValueError(f"duration unit must be one of {', '.join(UNITS)}, got {self.unit!r}")

    def __str__(self) -> str:
        # "1 workday", "5 workdays": parse_duration reads both back.
        return f"{self.amount} {self.unit[:-1] if self.amount == 1 else self.unit}"


def parse_duration(text: str) -> Duration:
    """Parse ``"5 workdays"``, ``"1 working day"``, ``"15 days"``, ``"36 hours"``."""
    if not isinstance(text, str):
        raise ValueError(f"a duration must be text, got {text!r}; {_EXAMPLES}")
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"cannot read duration {text!r}; {_EXAMPLES}")
    number, word = match.group(1), " ".join(match.group(2).lower().split())
    unit = _SPELLINGS.get(word)
    if unit is None:
        raise ValueError(
            f"unknown unit {match.group(2)!r} in duration {text!r}; use workdays, days or hours"
        )
    if not number.lstrip("+").isdigit() or int(number) < 1:
        raise ValueError(f"duration amount must be a positive integer, got {number!r} in {text!r}")
    return Duration(int(number), unit)
