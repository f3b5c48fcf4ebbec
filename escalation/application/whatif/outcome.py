"""What one dispute's history amounts to, for comparing two histories (pure).

``summarise`` reads a dispute's events (recorded or replayed) up to the
horizon and keeps what rule owners compare: where it went and when, whether
it was elevated, which notices it got, whether it kept its time limits, and
an exact signature of every decision (for "zero differences" checks).

A tier visit is *late* if it ended (escalation or close) at or after its
deadline, or is still open after its deadline at the horizon.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.application.event_text import Labeller, codes, local_time

# Fields that do not change what a decision *is*: bookkeeping, wording, and
# the rule book hash (the candidate's differs even when it decides the same).
_NOT_COMPARED = frozenset(
    {"originator_id", "originator_version", "recorded_at", "prev_hash", "rules_version"}
    | {"reason", "actor"}
)


@dataclass(frozen=True)
class Move:
    at: datetime
    from_tier: str
    to_tier: str
    to_unit: str
    mode: str  # stepwise | elevated | remanded (交办, down)
    rule_id: str | None  # None: by hand


@dataclass(frozen=True)
class Outcome:
    dispute_id: UUID
    received_at: datetime
    received_unit: str
    received_tier: str
    moves: tuple[Move, ...]
    notices: tuple[tuple[datetime, str], ...]
    arrivals: tuple[tuple[datetime, str], ...]  # (when, tier) a visit began: workload
    tier: str  # at the horizon; escalation only goes up, so also the highest reached
    unit: str
    status: str  # open | closed, at the horizon
    closed_tier: str | None  # where it was last closed
    risk: str | None  # at the horizon
    department: str | None  # where routing sent it, at the horizon
    late_visits: int
    open_overdue: bool
    decisions: tuple[tuple[Any, ...], ...]

    @property
    def elevated(self) -> bool:
        return any(m.mode == "elevated" for m in self.moves)

    @property
    def overdue(self) -> bool:
        return self.late_visits > 0 or self.open_overdue

    @property
    def tiers_visited(self) -> tuple[str, ...]:
        return (self.received_tier, *(m.to_tier for m in self.moves))


def signature(event: Dispute.Event) -> tuple[Any, ...]:
    """An event's name and content, minus bookkeeping: equal iff it decided the same."""
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(sorted(set(vars(event)) - _NOT_COMPARED))
    return (type(event).__name__, *(_plain(getattr(event, n)) for n in names))


_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    # The JSON trip through the store turns tuples into lists.
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def summarise(events: Iterable[Dispute.Event], horizon: datetime) -> Outcome:
    events = [e for e in events if e.occurred_at <= horizon]
    first = events[0]
    if not isinstance(first, Dispute.Received):
        raise ValueError(f"dispute {first.originator_id}: history does not begin with Received")
    moves: list[Move] = []
    notices: list[tuple[datetime, str]] = []
    arrivals = [(first.occurred_at, first.tier)]
    tier, unit, due, status = first.tier, first.unit, first.due_at, "open"
    closed_tier: str | None = None
    risk: str | None = None
    department: str | None = None
    late = 0
    for e in events[1:]:
        at = e.occurred_at
        if isinstance(e, Dispute.Escalated):
            late += status == "open" and at >= due
            moves.append(Move(at, e.from_tier, e.to_tier, e.to_unit, e.mode, e.rule_id))
            arrivals.append((at, e.to_tier))
            tier, unit, due = e.to_tier, e.to_unit, e.due_at
        elif isinstance(e, Dispute.Supervised):
            notices.append((at, e.notice))
        elif isinstance(e, Dispute.Closed | lifecycle.Declined):
            late += status == "open" and at >= due
            status, closed_tier = "closed", e.tier
        elif isinstance(e, Dispute.Mediated) and e.settles:
            status = "settled"
        elif isinstance(e, lifecycle.Remanded):
            moves.append(Move(at, e.from_tier, e.to_tier, e.to_unit, "remanded", None))
            arrivals.append((at, e.to_tier))
            tier, unit, due = e.to_tier, e.to_unit, e.due_at
        elif isinstance(e, Dispute.Reopened):
            status, due = "open", e.due_at
            arrivals.append((at, e.tier))
        elif isinstance(e, Dispute.RiskAssessed | Dispute.Assessed):
            risk = e.level
        elif isinstance(e, Dispute.Routed):
            department = e.department
        elif hasattr(e, "due_at") and status == "open":  # e.g. RulesApplied
            due = e.due_at
    return Outcome(
        dispute_id=first.originator_id,
        received_at=first.occurred_at,
        received_unit=first.unit,
        received_tier=first.tier,
        moves=tuple(moves),
        notices=tuple(notices),
        arrivals=tuple(arrivals),
        tier=tier,
        unit=unit,
        status=status,
        closed_tier=closed_tier,
        risk=risk,
        department=department,
        late_visits=late,
        open_overdue=status == "open" and horizon > due,
        decisions=tuple(signature(e) for e in events if e.by_rule),
    )


def differences(
    current: Outcome,
    candidate: Outcome,
    label: Labeller | None = None,
    zone: ZoneInfo | None = None,
) -> list[tuple[str, str, str]]:
    """What a rule owner would see differ: (what, current, candidate).

    Values are codes and UTC times unless ``label`` (``rules.label``) and ``zone``
    are given; what differs is decided on the values, not on how they read.
    """
    rows: list[tuple[str, str, str]] = []
    name = label or codes
    when = _when_in(zone)

    def check(what: str, a: object, b: object, show: Any = str) -> None:
        if a != b:
            rows.append((what, show(a), show(b)))

    def named(kind: str) -> Any:
        return lambda code: "none" if code is None else name(kind, code)

    check("tier reached", current.tier, candidate.tier, named("tiers"))
    check("risk", current.risk, candidate.risk, named("risks"))
    check("department", current.department, candidate.department, named("departments"))
    check("escalations", current.moves, candidate.moves, lambda m: _moves(m, name, when))
    check("elevated", current.elevated, candidate.elevated, _yes)
    check("notices", current.notices, candidate.notices, lambda n: _notices(n, name, when))
    check("on time", not current.overdue, not candidate.overdue, _on_time)
    check(
        "status",
        (current.status, current.closed_tier),
        (candidate.status, candidate.closed_tier),
        lambda v: _status(v, name),
    )
    if not rows and current.decisions != candidate.decisions:
        rows.append(("decisions", _count(current.decisions), _count(candidate.decisions)))
    return rows


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _on_time(value: object) -> str:
    return "on time" if value else "overdue"


def _status(value: tuple[str, str | None], name: Labeller) -> str:
    status, tier = value
    return f"closed at {name('tiers', tier)}" if status == "closed" else status


def _when_in(zone: ZoneInfo | None) -> Callable[[datetime], str]:
    """Times as people read them: local with the offset, or UTC marked Z."""
    if zone is None:
        return lambda at: f"{at:%Y-%m-%d %H:%M}Z"

    return lambda at: local_time(at, zone)


def _moves(moves: Sequence[Move], name: Labeller, when: Callable[[datetime], str]) -> str:
    return (
        "; ".join(
            f"{name('tiers', m.to_tier)} {when(m.at)} {m.mode}{'' if m.rule_id else ' (by hand)'}"
            for m in moves
        )
        or "none"
    )


def _notices(
    notices: Sequence[tuple[datetime, str]], name: Labeller, when: Callable[[datetime], str]
) -> str:
    return "; ".join(f"{name('notices', n)} {when(at)}" for at, n in notices) or "none"


def _count(decisions: Sequence[tuple[Any, ...]]) -> str:
    names = Counter(str(d[0]) for d in decisions)
    return ", ".join(f"{n}×{c}" for n, c in sorted(names.items())) or "none"
