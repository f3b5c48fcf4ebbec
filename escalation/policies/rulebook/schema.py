"""The rule book file's shape: pydantic models of ``config/tiers.yaml``.

Each model checks one entry on its own (types, spellings, ranges, defaults);
what ties entries together (the unit tree, rule ids, tier names inside CEL)
is the loader's cross-reference check. The vocabularies a rule book may use
(notices, risk levels) have their one home here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    WithJsonSchema,
)

from escalation.policies.calendar import DEFAULT_TIMEZONE, CalendarKind, zone
from escalation.policies.durations import Duration, parse_duration, shown, within_limit
from escalation.policies.inputs import LIMITS

NoticeName = Literal["reminder", "prompt", "warning", "supervision"]
#: The notices, in ladder order (a tier may send any of them, in this order or not).
NOTICES: Final[tuple[NoticeName, ...]] = get_args(NoticeName)
#: Each notice's Chinese name (催办 ...); the letter sent is the name + 函 (催办函).
NOTICE_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {"reminder": "催办", "prompt": "提示", "warning": "预警", "supervision": "督办"}
)
RiskLevel = Literal["low", "medium", "high"]
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = get_args(RiskLevel)
#: The sections that hold rules (each rule: an id and a CEL condition ``when``).
RULE_SECTIONS: Final = ("risk", "elevate", "routing")


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return within_limit(value)
    if not isinstance(value, str):
        raise ValueError(f"cannot read duration {shown(value)}; write it like '5 workdays'")
    return within_limit(parse_duration(value))


def _fraction(value: object) -> float:
    # "50%" is how people write it; 0.5 is accepted for generated files.
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            share = float("nan")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value)
    else:
        raise ValueError(f"cannot read {shown(value)}; write a share of the time limit like 50%")
    if not 0 < share <= 2:
        raise ValueError(f"{shown(value)} must be more than 0% and at most 200% of the time limit")
    return share


def _word(value: str) -> str:
    if not value.strip() or value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{shown(value)} must be one word without spaces")
    return value


def _fits(kind: str) -> AfterValidator:
    """An id at most as long as the read-model column that holds it (``LIMITS``)."""
    limit = LIMITS[kind]

    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(
                f"{shown(value)} is {len(value)} characters; a {kind} id has at most {limit}"
            )
        return value

    return AfterValidator(check)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _version(value: int) -> int:
    if value != 1:
        raise ValueError(f"unsupported version {value}; this engine reads version 1")
    return value


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError(f"must be at least 1 (or left out for no limit), got {value}")
    return value


def _timezone(value: str) -> str:
    zone(value)
    return value


def _window(value: object) -> Duration:
    duration = _duration(value)
    if duration.unit == "workdays":
        raise ValueError(
            f"cannot use {shown(value)} as a window; write it in days or hours (clusters are "
            "counted in calendar time)"
        )
    return duration


def _cluster_size(value: int) -> int:
    if value < 2:
        raise ValueError(f"a cluster needs at least 2 disputes, got {value}")
    return value


def _groupings(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("list at least one of unit, location")
    if len(set(value)) != len(value):
        raise ValueError(f"{list(value)} lists a grouping twice")
    return value


DurationField = Annotated[
    Duration,
    PlainValidator(_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["5 workdays", "15 days", "36 hours"]}),
]
Fraction = Annotated[
    float, PlainValidator(_fraction), WithJsonSchema({"type": "string", "examples": ["50%"]})
]
Word = Annotated[str, AfterValidator(_word)]
Text = Annotated[str, AfterValidator(_text)]
UnitId = Annotated[Word, _fits("unit")]
TierName = Annotated[Word, _fits("tier")]
RuleId = Annotated[Word, _fits("rule_id")]
DepartmentId = Annotated[Word, _fits("department")]
CategoryId = Annotated[Word, _fits("category")]
SourceId = Annotated[Word, _fits("source")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoticeModel(_Model):
    at: Fraction
    notice: NoticeName


class TierModel(_Model):
    name: TierName
    handle_within: DurationField
    max_mediation_attempts: Annotated[StrictInt, AfterValidator(_positive)] | None = None
    notices: tuple[NoticeModel, ...] = ()


class UnitModel(_Model):
    id: UnitId
    name: Text
    tier: TierName
    parent: UnitId | None = None


class _RuleModel(_Model):
    id: RuleId
    when: Text  # a CEL expression over the dispute's facts


class RiskModel(_RuleModel):
    level: RiskLevel


class ElevateModel(_RuleModel):
    to: TierName


class RoutingModel(_RuleModel):
    department: DepartmentId


class WeakSignalsModel(_Model):
    """弱信号: clusters of similar disputes the reviews flag for 类案治理 (reviews only)."""

    window: Annotated[
        Duration,
        PlainValidator(_window),
        PlainSerializer(str, return_type=str),
        WithJsonSchema({"type": "string", "examples": ["7 days", "72 hours"]}),
    ] = Duration(7, "days")
    min_cluster: Annotated[StrictInt, AfterValidator(_cluster_size)] = 3
    by: Annotated[tuple[Literal["unit", "location"], ...], AfterValidator(_groupings)] = (
        "unit",
        "location",
    )


class AcceptanceModel(_Model):
    """受理: how receipts are accepted.

    ``auto`` accepts every receipt at once (by the rule ``acceptance/auto``);
    ``explicit`` waits for a person, with notices if nobody decides ``within``.
    """

    mode: Literal["auto", "explicit"] = "auto"
    within: DurationField = Duration(1, "workdays")
    # The notices of an undecided receipt; empty: the ladder of the tier holding it.
    notices: tuple[NoticeModel, ...] = ()


class FollowUpModel(_Model):
    """回访: a settled dispute is followed up ``within`` this, or gets notices."""

    within: DurationField = Duration(7, "days")
    # Empty: the ladder of the tier that settled it.
    notices: tuple[NoticeModel, ...] = ()


class RuleBookModel(_Model):
    version: Annotated[StrictInt, AfterValidator(_version)]
    calendar: CalendarKind = "cn-workdays"
    timezone: Annotated[str, AfterValidator(_timezone)] = DEFAULT_TIMEZONE
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    categories: tuple[CategoryId, ...]
    sources: tuple[SourceId, ...]
    tiers: tuple[TierModel, ...]
    units: tuple[UnitModel, ...]
    risk: tuple[RiskModel, ...] = ()
    elevate: tuple[ElevateModel, ...] = ()
    routing: tuple[RoutingModel, ...] = ()
    weak_signals: WeakSignalsModel = WeakSignalsModel()
    acceptance: AcceptanceModel = AcceptanceModel()
    follow_up: FollowUpModel = FollowUpModel()


#: Which model describes the mapping at a path (list indices dropped): used to
#: suggest the right spelling of an unknown key.
MODELS: Final[Mapping[tuple[str, ...], type[BaseModel]]] = MappingProxyType(
    {
        (): RuleBookModel,
        ("tiers",): TierModel,
        ("tiers", "notices"): NoticeModel,
        ("units",): UnitModel,
        ("risk",): RiskModel,
        ("elevate",): ElevateModel,
        ("routing",): RoutingModel,
        ("weak_signals",): WeakSignalsModel,
        ("acceptance",): AcceptanceModel,
        ("acceptance", "notices"): NoticeModel,
        ("follow_up",): FollowUpModel,
        ("follow_up", "notices"): NoticeModel,
    }
)


def plain(model: RuleBookModel) -> dict[str, Any]:
    """The model as plain data, as hashed for the version.

    ``weak_signals`` only shapes the reviews: it is left out unless the file
    sets it, so rule books written before the section existed keep their version.
    So are ``acceptance`` and ``follow_up``: their defaults are what rule books
    written before them meant.
    """
    optional = {"weak_signals", "acceptance", "follow_up"}
    unset = optional - model.model_fields_set
    return model.model_dump(mode="json", exclude=unset or None)
