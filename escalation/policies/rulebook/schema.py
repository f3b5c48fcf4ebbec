"""The rule book file's shape: pydantic models of ``config/tiers.yaml``.

Each model checks one entry on its own (types, spellings, ranges, defaults);
what ties entries together (the unit tree, rule ids, tier names inside CEL)
is the loader's cross-reference check. The vocabularies a rule book may use
(notices, risk levels) have their one home here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from escalation.policies.calendar import DEFAULT_TIMEZONE, CalendarKind, zone
from escalation.policies.durations import Duration, parse_duration, shown, within_limit
from escalation.policies.inputs import LIMITS
from escalation.policies.retention import Retention

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
#: The most notices the rules may issue on one overdue duty (check-in, report, leader).
MAX_DUTY_NOTICES: Final = 20


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return within_limit(value)
    if not isinstance(value, str):
        raise ValueError(f"cannot read duration {shown(value)}; write it like '5 workdays'")
    return within_limit(parse_duration(value))


@dataclass(frozen=True)
class RiskLimits:
    """A time limit that depends on the dispute's risk (红案快办: red cases are fast cases)."""

    default: Duration
    by_risk: tuple[tuple[str, Duration], ...]  # (level, limit), in RISK_LEVELS order

    def __str__(self) -> str:
        return ", ".join([f"{self.default}", *(f"{k}: {v}" for k, v in self.by_risk)])


def _limits(value: object) -> Duration | RiskLimits:
    """``5 workdays``, or ``{default: 15 workdays, high: 3 workdays}`` by risk level."""
    if not isinstance(value, Mapping):
        return _duration(value)
    keys = ("default", *RISK_LEVELS)
    for key in value:
        if key not in keys:
            levels = ", ".join(RISK_LEVELS)
            raise ValueError(f"{shown(key)} is not a risk level; write default and any of {levels}")
    if "default" not in value:
        raise ValueError("give a default limit too, e.g. {default: 15 workdays, high: 3 workdays}")
    by_risk = tuple((k, _duration(value[k])) for k in RISK_LEVELS if k in value)
    return RiskLimits(_duration(value["default"]), by_risk)


def _limits_plain(value: Duration | RiskLimits) -> str | dict[str, str]:
    if isinstance(value, Duration):
        return str(value)  # as before: a plain limit keeps the rule book's version
    return {"default": str(value.default), **{k: str(v) for k, v in value.by_risk}}


_SPAN = re.compile(r"^([0-2]\d):([0-5]\d)-([0-2]\d):([0-5]\d)$")


def _working_hours(value: object) -> tuple[tuple[int, int], ...]:
    """``["09:00-12:00", "14:00-18:00"]`` as minutes after midnight, checked in order."""
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(
            'list the office hours of a working day, e.g. ["09:00-12:00", "14:00-18:00"]'
        )
    spans: list[tuple[int, int]] = []
    for item in value:
        found = _SPAN.match(item.strip()) if isinstance(item, str) else None
        if found is None:
            raise ValueError(f"cannot read {shown(item)}; write office hours like 09:00-12:00")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end or end > 24 * 60:
            raise ValueError(f"{shown(item)} must end after it starts, by 24:00")
        if spans and start <= spans[-1][1]:
            raise ValueError(f"{shown(item)} must begin after the previous span ends")
        spans.append((start, end))
    return tuple(spans)


def _hours_plain(value: tuple[tuple[int, int], ...]) -> list[str]:
    return [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in value]


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


def _notice_count(value: int) -> int:
    if not 1 <= value <= MAX_DUTY_NOTICES:
        raise ValueError(f"must be between 1 and {MAX_DUTY_NOTICES}, got {value}")
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


def _sources(value: int) -> int:
    if value < 1:
        raise ValueError(f"a cluster comes through at least 1 source, got {value}")
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
LimitField = Annotated[
    Duration | RiskLimits,
    PlainValidator(_limits),
    PlainSerializer(_limits_plain),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "examples": ["5 workdays"]},
                {"type": "object", "examples": [{"default": "15 workdays", "high": "3 workdays"}]},
            ]
        }
    ),
]
WorkingHours = Annotated[
    tuple[tuple[int, int], ...],
    PlainValidator(_working_hours),
    PlainSerializer(_hours_plain),
    WithJsonSchema({"type": "array", "examples": [["09:00-12:00", "14:00-18:00"]]}),
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
LeaderId = Annotated[Word, _fits("leader")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoticeModel(_Model):
    at: Fraction
    notice: NoticeName


class TierModel(_Model):
    name: TierName
    handle_within: LimitField
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
    # True: routed at receipt (a petition to the petition office); otherwise
    # once the first mediation fails or the case is escalated (分析研判).
    at_once: StrictBool = False


class NoticeWhenModel(_Model):
    """Which disputes a notice is sent to (重点案件督办: supervision for key cases only)."""

    when: Text  # a CEL expression over the dispute's facts


class WeakSignalsModel(_Model):
    """弱信号: clusters of similar disputes the reviews flag for 类案治理 (reviews only)."""

    window: Annotated[
        Duration,
        PlainValidator(_window),
        PlainSerializer(str, return_type=str),
        WithJsonSchema({"type": "string", "examples": ["7 days", "72 hours"]}),
    ] = Duration(7, "days")
    min_cluster: Annotated[StrictInt, AfterValidator(_cluster_size)] = 3
    # Distinct sources (channels) among a cluster's disputes: the same matter
    # reaching the centre by hotline, patrol and petition is a signal.
    min_sources: Annotated[StrictInt, AfterValidator(_sources)] = 1
    by: Annotated[tuple[Literal["unit", "location"], ...], AfterValidator(_groupings)] = (
        "unit",
        "location",
    )


def _retention_text(value: object) -> str:
    return str(Retention.parse(value))  # type: ignore[arg-type]  # refused if not text


class RetentionModel(_Model):
    """How long personal data is kept once a dispute is closed (docs/personal-data.md)."""

    personal_data: Annotated[
        str,
        PlainValidator(_retention_text),
        WithJsonSchema({"type": "string", "examples": ["3 years after closure"]}),
    ]


class DepartmentModel(_Model):
    """A functional department the centre can summon (吹哨), e.g. 人社局."""

    id: DepartmentId
    name: Text  # as the centres write it (Chinese)
    english: Text | None = None


class SummonModel(_Model):
    """中心吹哨、部门报到: how soon a summoned department checks in and reports back."""

    check_in_within: DurationField = Duration(1, "workdays")
    feedback_every: DurationField = Duration(5, "workdays")
    # Notices on one missed check-in or report, a period apart; then it waits.
    notices: Annotated[StrictInt, AfterValidator(_notice_count)] = 3
    # Departments a routing decision also summons (as lead when none leads yet).
    on_routing: tuple[DepartmentId, ...] = ()


class LeaderModel(_Model):
    id: LeaderId
    name: Text


class LeadersModel(_Model):
    """领导包保: which disputes need a leader, how soon, and who the leaders are."""

    required_when: Text | None = None  # a CEL condition; None: no dispute requires one
    within: DurationField = Duration(1, "workdays")
    notices: Annotated[StrictInt, AfterValidator(_notice_count)] = 3  # on one missing leader
    people: tuple[LeaderModel, ...] = ()


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


class LabelModel(_Model):
    """A code's display name: Chinese, English optional."""

    name: Text
    english: Text | None = None


def _label(value: Any) -> Any:
    # ``wage_arrears: 劳资纠纷`` is short for ``{name: 劳资纠纷}``.
    return {"name": value} if isinstance(value, str) else value


Label = Annotated[LabelModel, BeforeValidator(_label)]


class LabelsModel(_Model):
    """Display names people read in tables, reports and papers; codes stay in data."""

    categories: dict[CategoryId, Label] = {}
    sources: dict[SourceId, Label] = {}
    tiers: dict[TierName, Label] = {}
    notices: dict[NoticeName, Label] = {}
    outcomes: dict[Word, Label] = {}
    risks: dict[Word, Label] = {}


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
    working_hours: WorkingHours = ()
    notices: dict[NoticeName, NoticeWhenModel] = {}
    retention: RetentionModel | None = None
    departments: tuple[DepartmentModel, ...] = ()
    summon: SummonModel = SummonModel()
    leaders: LeadersModel = LeadersModel()
    acceptance: AcceptanceModel = AcceptanceModel()
    follow_up: FollowUpModel = FollowUpModel()
    labels: LabelsModel = LabelsModel()


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
        ("retention",): RetentionModel,
        # ``notices:`` is keyed by notice name: one entry per name.
        **{("notices", name): NoticeWhenModel for name in NOTICES},
        ("departments",): DepartmentModel,
        ("labels",): LabelsModel,
        ("summon",): SummonModel,
        ("leaders",): LeadersModel,
        ("leaders", "people"): LeaderModel,
        ("acceptance",): AcceptanceModel,
        ("acceptance", "notices"): NoticeModel,
        ("follow_up",): FollowUpModel,
        ("follow_up", "notices"): NoticeModel,
    }
)


def plain(model: RuleBookModel) -> dict[str, Any]:
    """The model as plain data, as hashed for the version.

    Keys added since the first rule books are left out while the file does
    not set them (``OPTIONAL_SECTIONS``; ``min_sources`` in ``weak_signals``; a
    routing rule's ``at_once: false``), so rule books written before they
    existed keep their version.
    """
    unset = {k for k in OPTIONAL_SECTIONS if k not in model.model_fields_set}
    data = model.model_dump(mode="json", exclude=unset or None)
    if "weak_signals" in data and "min_sources" not in model.weak_signals.model_fields_set:
        del data["weak_signals"]["min_sources"]
    for rule in data["routing"]:
        if not rule["at_once"]:
            del rule["at_once"]
    return data


#: Sections added after rule books were first hashed: left out of the hashed
#: form unless the file sets them, so older files keep their version.
OPTIONAL_SECTIONS: Final = (
    "weak_signals",
    "working_hours",
    "notices",
    "retention",
    "departments",
    "summon",
    "leaders",
    # Their defaults are what rule books written before them meant.
    "acceptance",
    "follow_up",
    "labels",
)
