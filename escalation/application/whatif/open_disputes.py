"""``--open-now``: what the candidate would do to today's open disputes.

For each dispute open at the end of the log, two futures with no new facts,
from ``now`` to ``until``:

* current: the rules in force keep deciding;
* candidate: the rules in force catch up to ``now`` (as an activation does
  first), the candidate is activated at ``now`` (``policies.rebase``, keeping
  or adopting deadlines) and decides from then on.

The per-dispute work (``forecast_one``) is pure; ``forecast`` streams the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from uuid import UUID

from escalation.adapters.store import DisputeLog
from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rebuild import rebuild
from escalation.application.event_text import describe
from escalation.application.whatif.replay_rules import memoised
from escalation.application.whatif.stream import LogReader
from escalation.policies.due import apply_due
from escalation.policies.rule_change import apply_rule_change
from escalation.policies.rulebook import RuleBook
from escalation.progress import Progress

WHAT_IF_ACTOR = "what-if"


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    kind: str  # escalated | elevated | notice | risk | routed | rules | summoned | leader
    what: str  # in codes (describe's line with its rule)
    # The decision itself, for reports that show it with the rule book's labels.
    event: Dispute.Event | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Forecast:
    dispute_id: UUID
    unit: str
    tier: str
    due_at: datetime | None
    current: tuple[Upcoming, ...]
    candidate: tuple[Upcoming, ...]


@dataclass
class OpenNow:
    now: datetime
    until: datetime
    in_flight: str
    current_rules: RuleBook
    candidate_rules: RuleBook
    keep: int = 200
    open: int = 0
    changed: int = 0
    forecasts: list[Forecast] = field(default_factory=list)
    # (side, kind) -> disputes with at least one such decision in the window
    disputes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (side, kind) -> of them, decided the moment the candidate goes live
    at_once: Counter[tuple[str, str]] = field(default_factory=Counter)


def forecast(
    store: DisputeLog,
    current: RuleBook,
    candidate: RuleBook,
    *,
    now: datetime,
    until: datetime,
    in_flight: str = "keep",
    keep: int = 200,
    progress: Progress | None = None,
) -> OpenNow:
    reader = LogReader(store)
    head = reader.head()
    result = OpenNow(now, until, in_flight, current, candidate, keep=keep)
    old, new = memoised(current), memoised(candidate)
    for done, events in enumerate(reader.disputes(head), start=1):
        if _is_open(events):
            add(result, forecast_one(events, old, new, now=now, until=until, in_flight=in_flight))
        if progress is not None and done % 500 == 0:
            progress(done, reader.total)
    return result


def forecast_one(
    events: Sequence[Dispute.Event],
    current: RuleBook,
    candidate: RuleBook,
    *,
    now: datetime,
    until: datetime,
    in_flight: str,
) -> Forecast:
    """Both futures of one open dispute (pure)."""
    ours, theirs = _rebuild(events), _rebuild(events)
    state = ours.state
    apply_due(ours, current, until, now)
    apply_due(theirs, current, now, now)  # the rules in force answer for the past
    apply_rule_change(
        theirs, candidate, at=now, in_flight=in_flight, actor=WHAT_IF_ACTOR, recorded_at=now
    )
    apply_due(theirs, candidate, until, now)
    return Forecast(
        state.id, state.unit, state.tier, state.due_at, _upcoming(ours), _upcoming(theirs)
    )


def add(result: OpenNow, f: Forecast) -> None:
    result.open += 1
    for side, items in (("current", f.current), ("candidate", f.candidate)):
        result.disputes.update({(side, kind) for kind in (u.kind for u in items)})
        result.at_once.update({(side, u.kind) for u in items if u.at <= result.now})
    if [(u.at, u.what) for u in f.current] != [(u.at, u.what) for u in f.candidate]:
        result.changed += 1
        if len(result.forecasts) < result.keep:
            result.forecasts.append(f)


def _is_open(events: Sequence[Dispute.Event]) -> bool:
    for e in reversed(events):
        if isinstance(e, Dispute.Closed | lifecycle.Declined):
            return False
        if isinstance(e, Dispute.Reopened):
            return True
    return True


def _rebuild(events: Sequence[Dispute.Event]) -> Dispute:
    return rebuild(Dispute, events)


def _upcoming(dispute: Dispute) -> tuple[Upcoming, ...]:
    out = []
    for e in cast("list[Dispute.Event]", dispute.collect_events()):
        kind = KINDS[type(e).__name__]
        if isinstance(e, Dispute.Escalated) and e.mode == "elevated":
            kind = "elevated"
        out.append(Upcoming(e.occurred_at, kind, describe(e, rule=True), e))
    return tuple(out)


#: The kind of every decision a forecast can hold: the events a rule can take
#: (those with a ``rule_id``; an escalation by rule is "elevated" by its mode).
KINDS = {
    "RiskAssessed": "risk",
    "Routed": "routed",
    "Escalated": "escalated",
    "Supervised": "notice",
    "RulesApplied": "rules",
    "Summoned": "summoned",
    "LeaderRequired": "leader",
    "Notified": "notice",
    "Accepted": "accepted",
}
