"""The import file format: one dispute per line, JSON (JSON Lines).

Each line is a receipt and the facts that followed it, the input of
``escalation.application.importer``::

    {"unit": "donghu-c01", "category": "neighbour", "source": "walk_in",
     "summary": "噪音纠纷", "received_at": "2025-03-03T09:12:00+08:00",
     "parties": 2, "amount": 0, "location": "", "request_id": "LH-2025-000123",
     "facts": [
       {"kind": "mediation", "at": "2025-03-05T15:00:00+08:00", "actor": "调解员 王",
        "outcome": "failed"},
       {"kind": "close", "at": "2025-03-20T10:00:00+08:00", "actor": "街道综治中心",
        "outcome": "agreement"}]}

Fact kinds: ``mediation`` (outcome, note), ``escalation`` (reason, to_tier),
``notice`` (notice, reason), ``close`` (outcome, note), ``reopen`` (reason).
Times carry a UTC offset. Only the shape is checked here; units, categories
and what may follow what are the rule book's and the aggregate's business,
checked when the record is imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from escalation.application.importer import DisputeRecord, Receipt
from escalation.errors import InvalidInput
from escalation.policies.facts import (
    Closure,
    Fact,
    FollowUp,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Reopening,
)


class _FactLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    actor: str = Field(min_length=1)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)


class _Mediation(_FactLine):
    kind: Literal["mediation"]
    outcome: str
    note: str = ""


class _Escalation(_FactLine):
    kind: Literal["escalation"]
    reason: str = ""
    to_tier: str | None = None


class _Notice(_FactLine):
    kind: Literal["notice"]
    notice: str
    reason: str = ""


class _Close(_FactLine):
    kind: Literal["close"]
    outcome: str
    note: str = ""


class _Reopen(_FactLine):
    kind: Literal["reopen"]
    reason: str = ""


class _FollowUp(_FactLine):
    kind: Literal["follow_up"]
    outcome: str
    note: str = ""


_AnyFact = Annotated[
    _Mediation | _Escalation | _Notice | _Close | _Reopen | _FollowUp,
    Field(discriminator="kind"),
]


class _RecordLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1)
    category: str = Field(min_length=1)
    source: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    received_at: AwareDatetime
    parties: int = 1
    amount: float = 0.0
    location: str = ""
    claim: str = ""
    request_id: str | None = None
    actor: str = "import"
    facts: list[_AnyFact] = []


def _fact(line: _FactLine) -> Fact:
    common: dict[str, Any] = {"at": line.at, "actor": line.actor, "request_id": line.request_id}
    if isinstance(line, _Mediation):
        return Mediation(**common, outcome=line.outcome, note=line.note)
    if isinstance(line, _Escalation):
        return ManualEscalation(**common, reason=line.reason, to_tier=line.to_tier)
    if isinstance(line, _Notice):
        return ManualNotice(**common, notice=line.notice, reason=line.reason)
    if isinstance(line, _Close):
        return Closure(**common, outcome=line.outcome, note=line.note)
    if isinstance(line, _FollowUp):
        return FollowUp(**common, outcome=line.outcome, note=line.note)
    assert isinstance(line, _Reopen)
    return Reopening(**common, reason=line.reason)


def parse_record(text: str, origin: str = "") -> DisputeRecord:
    """One line as a record; InvalidInput naming the field when it is malformed."""
    where = f"{origin}: " if origin else ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}a record is a JSON object, got {type(data).__name__}")
    try:
        line = _RecordLine.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "record"
            problems.append(f"{field}: {err['msg']}")
        raise InvalidInput(where + "; ".join(problems)) from None
    receipt = Receipt(
        unit=line.unit,
        category=line.category,
        source=line.source,
        summary=line.summary,
        received_at=line.received_at,
        parties=line.parties,
        amount=line.amount,
        location=line.location,
        claim=line.claim,
        request_id=line.request_id,
        actor=line.actor,
    )
    return DisputeRecord(receipt, tuple(_fact(f) for f in line.facts), origin=origin or None)


_KINDS: dict[type[Fact], str] = {
    Mediation: "mediation",
    ManualEscalation: "escalation",
    ManualNotice: "notice",
    Closure: "close",
    Reopening: "reopen",
    FollowUp: "follow_up",
}


def record_line(record: DisputeRecord) -> str:
    """The record as one line of the import format (``parse_record`` reads it back)."""
    r = record.receipt
    facts = []
    for fact in record.facts:
        kind = _KINDS.get(type(fact))
        if kind is None:
            raise InvalidInput(f"a {type(fact).__name__} fact has no line form")
        fields = {k: v for k, v in vars(fact).items() if k not in ("at", "request_id")}
        line: dict[str, Any] = {"kind": kind, "at": fact.at.isoformat(), **fields}
        if fact.request_id is not None:
            line["request_id"] = fact.request_id
        facts.append(line)
    data: dict[str, Any] = {
        "unit": r.unit,
        "category": r.category,
        "source": r.source,
        "summary": r.summary,
        "received_at": r.received_at.isoformat(),
        "parties": r.parties,
        "amount": r.amount,
        "location": r.location,
        "request_id": r.request_id,
        "actor": r.actor,
        "facts": facts,
    }
    if r.claim:
        data["claim"] = r.claim
    return json.dumps(data, ensure_ascii=False)


def read_records(path: Path, errors: list[str] | None = None) -> Iterator[DisputeRecord]:
    """The file's records, lazily, each tagged with its line number.

    A malformed line raises InvalidInput, unless ``errors`` is given: then its
    message is appended there and the line is left out. Blank lines are skipped.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    yield parse_record(text, origin=f"line {number}")
                except InvalidInput as exc:
                    if errors is None:
                        raise
                    errors.append(str(exc))
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{path} is not UTF-8 text: {exc.reason}") from None


def count_lines(path: Path) -> int:
    """Lines in the file (for a progress bar's total), without parsing them."""
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
