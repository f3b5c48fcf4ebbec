"""Values of the engine as JSON: times in RFC 3339 with their offset, ids as text."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses, named tuples and mappings to objects)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        # Stored times are UTC; a naive one (SQLite hands them back so) is UTC too.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):  # a named tuple (a read-model row)
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, Counter | Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dict__"):  # SimpleNamespace rows of the timeline
        return {k: jsonable(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def state_json(state: Any) -> dict[str, Any]:
    """A dispute's state; request ids are the callers' own and are left out."""
    data: dict[str, Any] = jsonable(state)
    data.pop("request_ids", None)
    return data
