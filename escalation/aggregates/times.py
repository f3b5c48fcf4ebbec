"""Instants in the domain: always aware, compared and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC (naive ones are rejected earlier)."""
    return value.astimezone(UTC)
