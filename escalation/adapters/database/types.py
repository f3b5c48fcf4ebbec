"""Column types shared by the read models."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


# A timeline row repeats its dispute's times (received, entered the tier, due)
# and a page shares its recorded times; formatting one costs 20 times a lookup.
@functools.lru_cache(maxsize=50_000)
def sqlite_text(value: datetime) -> str:
    """An aware UTC datetime as SQLite column text (naive UTC, microseconds)."""
    # isoformat of a UTC value ends in "+00:00" after exactly 26 characters.
    return value.isoformat(sep=" ", timespec="microseconds")[:26]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamp with time zone`` (an instant; what psql shows
    follows the session's ``TimeZone``, the value does not). SQLite has no time
    zones: values are stored as naive UTC text, ``2026-09-01 00:41:00.000000``
    (SQLAlchemy's own format), so string order is time order and comparisons in
    indexes stay correct. We format it ourselves: the generic DATETIME
    processor was the largest single cost of a rebuild. Either way Python gets
    aware UTC back.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(26))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to a UTC column")
            value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return sqlite_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
