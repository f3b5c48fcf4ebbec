"""Where the engine gets "now". The core never reads it; only the engine does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC (naive ones are rejected earlier)."""
    return value.astimezone(UTC)
