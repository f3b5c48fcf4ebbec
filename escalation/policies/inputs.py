"""Validation of command input: pydantic for shape, the rule book for names.

Every failure becomes one ``InvalidInput`` whose message names the field,
what was given and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from escalation.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class ReceiveInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1)
    category: str = Field(min_length=1)
    source: str = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=10_000)
    parties: int = Field(ge=1, le=1_000_000)
    amount: float = Field(ge=0, allow_inf_nan=False)
    location: str = Field(default="", max_length=1_000)
    claim: str = Field(default="", max_length=10_000)
    received_at: AwareDatetime
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    actor: str = Field(min_length=1)


class ActionInput(BaseModel):
    """The common part of the commands on an existing dispute."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    actor: str = Field(min_length=1)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)


def validated(model: type[M], command: str, **values: Any) -> M:
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            given = err.get("input")
            problems.append(f"{field}: {err['msg']} (got {given!r})")
        raise InvalidInput(f"{command}: " + "; ".join(problems)) from None


def require_known(kind: str, value: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value in allowed:
        return
    close = difflib.get_close_matches(value, allowed, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    raise InvalidInput(f"unknown {kind} {value!r}; {hint}known {kind}s: {shown}")


def as_dispute_id(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a dispute id (a UUID)") from None


def aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value
