"""The request bodies of the API: unknown fields are refused, examples shown in OpenAPI.

These only give the JSON its shape; every value is checked again by the
engine's own inputs (``escalation.policies.inputs`` and its LIMITS), so the
two cannot disagree on what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = Field(None, description="When it happened (RFC 3339 with offset).")


class Receive(BaseModel):
    model_config = _examples(
        {
            "unit": "huangbei",
            "category": "neighbour",
            "source": "walk_in",
            "summary": "楼上漏水，协商未果",
            "parties": 2,
            "received_at": "2026-03-02T09:30:00+08:00",
        }
    )
    unit: str
    category: str
    source: str
    summary: str
    parties: int | None = None
    amount: float = 0
    location: str = ""
    claim: str = ""
    people: list[dict[str, str]] = Field(default_factory=list)
    received_at: datetime | None = None


class Accept(Body):
    model_config = _examples({"at": "2026-03-02T10:00:00+08:00"})


class Decline(Body):
    model_config = _examples({"reason": "不属于受理范围，已告知当事人向法院起诉"})
    reason: str


class Mediate(Body):
    model_config = _examples({"outcome": "failed", "note": "双方分歧较大"})
    outcome: str
    note: str = ""


class FollowUp(Body):
    model_config = _examples({"outcome": "satisfied", "note": "电话回访，协议已履行"})
    outcome: str
    note: str = ""


class Summon(Body):
    model_config = _examples({"lead": "housing", "participants": ["police"], "reason": "吹哨"})
    lead: str
    participants: list[str] = Field(default_factory=list)
    reason: str = ""


class CheckIn(Body):
    model_config = _examples({"department": "housing"})
    department: str | None = None


class Progress(Body):
    model_config = _examples({"department": "housing", "note": "已约谈物业"})
    department: str | None = None
    note: str


class AssignLeader(Body):
    model_config = _examples({"leader": "李主任", "plan": "一周内上门两次"})
    leader: str
    plan: str


class Assess(Body):
    model_config = _examples({"level": "high", "reason": "涉及多人，情绪激动"})
    level: str
    reason: str


class Escalate(Body):
    model_config = _examples({"reason": "社区调解未果", "to_tier": None})
    reason: str
    to_tier: str | None = None


class Supervise(Body):
    model_config = _examples({"notice": "warning", "reason": "逾期未办"})
    notice: str
    reason: str = ""


class Close(Body):
    model_config = _examples({"outcome": "resolved", "note": "签订调解协议"})
    outcome: str
    note: str = ""


class Reason(Body):
    model_config = _examples({"reason": "当事人再次来访"})
    reason: str


class Resume(Body):
    model_config = _examples({})


class Remand(Body):
    model_config = _examples({"to_unit": "huangbei", "instructions": "请社区继续跟进"})
    to_unit: str
    instructions: str


class Tick(BaseModel):
    model_config = _examples({"now": "2026-03-05T09:00:00+08:00"})
    now: datetime | None = None


class RulesText(BaseModel):
    model_config = _examples({"rules": "version: 1\n..."})
    rules: str = Field(description="The rule book's YAML text.", max_length=1_000_000)


class RulesDiff(BaseModel):
    model_config = _examples({"a": "0123456789abcdef", "b": "version: 1\n..."})
    a: str = Field(
        description="A stored version (16 hex) or a rule book's YAML text.", max_length=1_000_000
    )
    b: str = Field(
        description="A stored version (16 hex) or a rule book's YAML text.", max_length=1_000_000
    )


class Simulate(RulesText):
    model_config = _examples({"rules": "version: 1\n...", "start": "2026-01-01", "limit": 20})
    start: str | None = Field(
        None, description="Disputes received from this local day.", max_length=40
    )
    end: str | None = Field(
        None, description="... up to this local day (also the horizon).", max_length=40
    )
    limit: int = Field(20, ge=0, le=1000)


class Activate(RulesText):
    model_config = _examples({"rules": "version: 1\n...", "in_flight": "keep", "note": "新规"})
    in_flight: str = "keep"
    note: str = ""
    at: datetime | None = None
