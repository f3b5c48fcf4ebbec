"""Validation of command input: pydantic for shape, the rule book for names.

Every failure becomes one ``InvalidInput`` whose message names the field,
what was given and what is allowed.

``LIMITS`` is the one table of input limits (docs/limits.md): every command's
validation, the rule-book schema and the read-model columns use it, so the
store and the read models accept exactly the same values.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from escalation.errors import InvalidInput, shown

M = TypeVar("M", bound=BaseModel)

#: The longest value, in characters, of every text field a command or a rule book gives.
LIMITS: dict[str, int] = {
    "summary": 10_000,
    "claim": 10_000,
    "location": 1_000,
    "note": 2_000,
    "reason": 2_000,
    "instructions": 2_000,  # what a higher tier asks of the unit it hands a case to (交办)
    "actor": 200,  # also the mediator, who is the actor of a mediation
    "request_id": 200,
    "unit": 64,
    "category": 64,
    "source": 64,
    "department": 64,
    "tier": 32,
    "outcome": 32,
    "notice": 32,
    "rule_id": 64,  # a rule book's rule ids (the risk rule has a column of 64)
    "consumer": 64,  # a change-feed consumer's name
    "person_name": 100,
    "phone": 20,
    "id_number": 18,
    "address": 500,
    "people": 100,  # people on one receipt
    "leader": 64,  # a leader's id in the rule book (领导包保)
    "plan": 10_000,  # the leader's plan for the case (一案一策)
    "risk": 8,  # a risk level a person assesses (low, medium, high)
    "review": 64,  # the review meeting a decision was taken at ("weekly 2026-W36")
    "cluster": 1_100,  # a weak-signal cluster: "location:" + a location, "/" + a category
}

#: Input fields whose values are personal data: a message names them, never shows them.
PRIVATE_FIELDS = frozenset(
    {
        "summary",
        "claim",
        "location",
        "people",
        "note",
        "reason",
        "name",
        "phone",
        "id_number",
        "address",
        "plan",
        "instructions",
    }
)
# GB 11643-1999: the weights of the first 17 digits and the check character per remainder.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Mainland mobile (1[3-9] + 9 digits) or a landline with its area code, +86 allowed.
_PHONE_SHAPE = re.compile(r"^(?:\+86[ -]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")

#: The instants a command may be dated at: later or earlier is a typo, not a dispute.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: How far after the engine's clock a command may be dated (``max_skew``).
DEFAULT_MAX_SKEW = timedelta(days=1)

# NUL, C0 and C1 controls, DEL and lone surrogates; free text may keep \n and \t.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REFUSED_FREE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(pattern: re.Pattern[str], value: str) -> str:
    found = pattern.search(value)
    if found is not None:
        char = found.group()
        msg = f"character {char!r} (U+{ord(char):04X}) at position {found.start()} is not allowed"
        raise ValueError(msg)
    return value


def _plain(value: str) -> str:
    return _clean(_REFUSED, value)


def _free(value: str) -> str:
    return _clean(_REFUSED_FREE, value)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        msg = f"must be between {EARLIEST.date()} and {LATEST.date()}"
        raise ValueError(msg)
    return value


def _limit(field: str, *, required: bool = True) -> Any:
    """The pydantic field of a text field: strict str, at most its limit."""
    return Field(strict=True, min_length=1 if required else 0, max_length=LIMITS[field])


_PLAIN = AfterValidator(_plain)
_FREE = AfterValidator(_free)
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Unit = Annotated[str, _limit("unit"), _PLAIN]
Category = Annotated[str, _limit("category"), _PLAIN]
Source = Annotated[str, _limit("source"), _PLAIN]
Tier = Annotated[str, _limit("tier"), _PLAIN]
Actor = Annotated[str, _limit("actor"), _PLAIN]
RequestId = Annotated[str, _limit("request_id"), _PLAIN]
Outcome = Annotated[str, _limit("outcome"), _PLAIN]
Notice = Annotated[str, _limit("notice"), _PLAIN]
Summary = Annotated[str, _limit("summary"), _FREE]
Claim = Annotated[str, _limit("claim", required=False), _FREE]
Location = Annotated[str, _limit("location", required=False), _FREE]
Note = Annotated[str, _limit("note", required=False), _FREE]
Reason = Annotated[str, _limit("reason", required=False), _FREE]
Department = Annotated[str, _limit("department"), _PLAIN]
Leader = Annotated[str, _limit("leader"), _PLAIN]
Plan = Annotated[str, _limit("plan"), _FREE]
Risk = Annotated[str, _limit("risk"), _PLAIN]
RequiredReason = Annotated[str, _limit("reason"), _FREE]


def _resident_id(value: str) -> str:
    value = value.upper()
    if not _ID_SHAPE.match(value):
        msg = "must be an 18-character resident ID number (17 digits and a digit or X)"
        raise ValueError(msg)
    try:
        datetime.strptime(value[6:14], "%Y%m%d")  # noqa: DTZ007 - a birth date, no time
    except ValueError:
        msg = "has no valid birth date in characters 7-14"
        raise ValueError(msg) from None
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        msg = "has a wrong check digit (GB 11643-1999)"
        raise ValueError(msg)
    return value


def _phone(value: str) -> str:
    if not _PHONE_SHAPE.match(value.strip()):
        msg = "must be a mainland mobile (11 digits from 13-19) or landline number (0xx-xxxxxxxx)"
        raise ValueError(msg)
    return value.strip()


class PersonInput(BaseModel):
    """One person a dispute concerns (当事人): personal data, stored sealed."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, _limit("person_name"), _PLAIN]
    role: Literal["applicant", "respondent", "other"] = "applicant"
    phone: (
        Annotated[str, _limit("phone", required=False), _PLAIN, AfterValidator(_phone)] | None
    ) = None
    id_number: (
        Annotated[str, _limit("id_number", required=False), AfterValidator(_resident_id)] | None
    ) = None
    address: Annotated[str, _limit("address", required=False), _FREE] = ""

    def stored(self) -> dict[str, str]:
        """The person as the event stores it: only the fields given."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


GivenReason = Annotated[str, _limit("reason"), _FREE]
Instructions = Annotated[str, _limit("instructions"), _FREE]


class ReceiveInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Unit
    category: Category
    source: Source
    summary: Summary
    parties: int = Field(strict=True, ge=1, le=1_000_000)
    amount: float = Field(strict=True, ge=0, allow_inf_nan=False)
    location: Location = ""
    claim: Claim = ""
    people: list[PersonInput] = Field(default_factory=list, max_length=LIMITS["people"])
    received_at: Instant
    request_id: RequestId | None = None
    actor: Actor

    def people_stored(self) -> list[dict[str, str]]:
        return [p.stored() for p in self.people]


class ActionInput(BaseModel):
    """The common part of the commands on an existing dispute."""

    model_config = ConfigDict(extra="forbid")

    at: Instant
    actor: Actor
    request_id: RequestId | None = None


class MediateInput(ActionInput):
    outcome: Outcome
    note: Note = ""


class EscalateInput(ActionInput):
    reason: Reason
    to_tier: Tier | None = None


class SuperviseInput(ActionInput):
    notice: Notice
    reason: Reason = ""


class CloseInput(ActionInput):
    outcome: Outcome
    note: Note = ""


class ReopenInput(ActionInput):
    reason: Reason


class EraseInput(ActionInput):
    # Stored in plain text on the Erased event: a ground, never personal data.
    reason: Annotated[str, Field(strict=True, min_length=1, max_length=200), _PLAIN]


class FeedInput(BaseModel):
    """Where to read the change feed from, and how much at once."""

    model_config = ConfigDict(extra="forbid")

    after: int = Field(strict=True, ge=0)
    limit: int = Field(strict=True, ge=1, le=10_000)


class FollowInput(FeedInput):
    consumer: Annotated[str, _limit("consumer"), Field(pattern=r"^[A-Za-z0-9_.:-]+$")]


class SummonInput(ActionInput):
    """中心吹哨: the lead department and the others summoned with it."""

    lead: Department
    participants: list[Department] = Field(default_factory=list, max_length=50)
    reason: Reason = ""


class CheckInInput(ActionInput):
    """部门报到: a summoned department reports for duty."""

    department: Department


class ProgressInput(ActionInput):
    """反馈: a summoned department reports its progress."""

    department: Department
    note: Note = ""


class AssignLeaderInput(ActionInput):
    """领导包保: the leader who answers for the case, with the plan (一案一策)."""

    leader: Leader
    plan: Plan


class ReviewDecisionInput(ActionInput):
    """What a review meeting decided on some disputes (assignments, 督办, 类案治理)."""

    review: Annotated[str, _limit("review"), _PLAIN]
    decision: Annotated[str, _limit("outcome"), _PLAIN]
    note: Annotated[str, _limit("note"), _FREE]
    cluster: Annotated[str, _limit("cluster", required=False), _PLAIN] = ""
    disputes: list[UUID] = Field(min_length=1, max_length=1_000)


class AssessInput(ActionInput):
    """研判: a person's risk judgement, which stands over the rules' until changed."""

    level: Risk
    reason: RequiredReason


class AcceptInput(ActionInput):
    """受理: nothing but who and when."""


class DeclineInput(ActionInput):
    reason: GivenReason  # 不予受理 is told to the person with its reason


class FollowUpInput(ActionInput):
    outcome: Outcome
    note: Note = ""


class PauseInput(ActionInput):
    reason: GivenReason


class ResumeInput(ActionInput):
    """The clocks restart: nothing but who and when."""


class RemandInput(ActionInput):
    to_unit: Unit
    instructions: Instructions


def validated(
    model: type[M], command: str, names: dict[str, str] | None = None, **values: Any
) -> M:
    """``values`` as a ``model``, or one ``InvalidInput`` naming every wrong field.

    ``names`` renames fields in the message to the caller's parameter names
    (``actor`` is the ``mediator`` of ``mediate``).
    """
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            field = (names or {}).get(field, field)
            if PRIVATE_FIELDS.intersection(str(p) for p in err["loc"]):
                problems.append(f"{field}: {err['msg']}")  # personal data: never echoed
            else:
                problems.append(f"{field}: {err['msg']} (got {_shown(err.get('input'))})")
        raise InvalidInput(f"{command}: " + "; ".join(problems)) from None


def _shown(value: Any) -> str:
    """``value`` for a message: long text cut short, so a message stays readable."""
    text = repr(value)
    return (
        text
        if len(text) <= 80
        else f"{text[:60]}... ({len(value) if isinstance(value, str) else len(text)} characters)"
    )


def not_after(name: str, value: datetime, clock: datetime, max_skew: timedelta | None) -> None:
    """Refuse ``value`` dated more than ``max_skew`` after the engine's ``clock``."""
    if max_skew is not None and value > clock + max_skew:
        raise InvalidInput(
            f"{name} {value.isoformat()} is more than {max_skew} after the clock "
            f"({clock.isoformat()}); a command cannot be dated in the future"
        )


def require_known(kind: str, value: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if value in allowed:
        return
    close = difflib.get_close_matches(value, allowed, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    listed = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    raise InvalidInput(f"unknown {kind} {shown(value)}; {hint}known {kind}s: {listed}")


def as_dispute_id(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{shown(value)} is not a dispute id (a UUID)") from None


def aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}")
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(
            f"{name} {value.isoformat()} is out of range: must be between "
            f"{EARLIEST.date()} and {LATEST.date()}"
        )
    return value
