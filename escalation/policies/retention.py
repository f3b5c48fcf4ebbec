"""How long personal data is kept: ``retention: {personal_data: 3 years after closure}``.

The purpose of personal data in a dispute ends some time after it is closed
(案结事了); the rule book says how long. ``serve`` then erases it
(``EscalationEngine.erase_due``). Pure: the caller gives the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_PERIOD = re.compile(r"^\s*(\d{1,3})\s*(year|month|day)s?\s+after\s+closure\s*$")
UNITS = ("year", "month", "day")
#: Longest a rule book may keep personal data.
MAX_YEARS = 100


@dataclass(frozen=True)
class Retention:
    amount: int
    unit: str  # year | month | day

    @classmethod
    def parse(cls, text: str) -> Retention:
        found = _PERIOD.match(text) if isinstance(text, str) else None
        if found is None:
            msg = "must read like '3 years after closure' (years, months or days)"
            raise ValueError(msg)
        amount, unit = int(found.group(1)), found.group(2)
        limit = {"year": MAX_YEARS, "month": 12 * MAX_YEARS, "day": 366 * MAX_YEARS}[unit]
        if not 1 <= amount <= limit:
            msg = f"must be 1 to {limit} {unit}s"
            raise ValueError(msg)
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'s' if self.amount != 1 else ''} after closure"

    def closed_before(self, now: datetime) -> datetime:
        """Disputes closed before this instant are due for erasure at ``now``."""
        if self.unit == "day":
            return now - timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "year" else 1)
        year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
        day = now.day
        while True:  # the same day of the month, or the month's last (29 February)
            try:
                return now.replace(year=year, month=month + 1, day=day)
            except ValueError:
                day -= 1
