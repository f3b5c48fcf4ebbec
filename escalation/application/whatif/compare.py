"""Current against candidate: per-dispute changes and side-by-side totals (pure).

``Totals`` adds up outcomes as the centres report them; ``Comparison`` takes
both outcomes of each dispute, counts both sides, and keeps the changed
disputes (all counted, the first ``keep`` listed with their timelines).
Both merge, so partial runs (one per worker) add up to the whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from escalation.aggregates.dispute import Dispute
from escalation.application.event_text import Labeller, describe
from escalation.application.whatif.outcome import Outcome, differences
from escalation.application.whatif.replay import Note

#: (occurred, event name, what happened, decided by a rule?)
TimelineRow = tuple[datetime, str, str, bool]


@dataclass
class Totals:
    disputes: int = 0
    received_at: Counter[str] = field(default_factory=Counter)  # tier of registration
    reached: Counter[str] = field(default_factory=Counter)  # disputes that visited the tier
    closed: int = 0
    closed_at: Counter[str] = field(default_factory=Counter)
    open_at_horizon: int = 0
    stepwise: int = 0  # stepwise escalations (events)
    elevations: int = 0  # elevations (events)
    elevated: int = 0  # disputes elevated at least once
    overdue: int = 0  # disputes that missed a time limit
    open_overdue: int = 0
    notices: Counter[str] = field(default_factory=Counter)
    weekly: Counter[tuple[str, str]] = field(default_factory=Counter)  # (ISO week, tier)

    def add(self, o: Outcome, zone: ZoneInfo) -> None:
        self.disputes += 1
        self.received_at[o.received_tier] += 1
        self.reached.update(set(o.tiers_visited))
        if o.status == "closed" and o.closed_tier is not None:
            self.closed += 1
            self.closed_at[o.closed_tier] += 1
        else:
            self.open_at_horizon += 1
        self.stepwise += sum(m.mode == "stepwise" for m in o.moves)
        self.elevations += sum(m.mode == "elevated" for m in o.moves)
        self.elevated += o.elevated
        self.overdue += o.overdue
        self.open_overdue += o.open_overdue
        self.notices.update(n for _, n in o.notices)
        for at, tier in o.arrivals:
            year, week, _ = at.astimezone(zone).isocalendar()
            self.weekly[(f"{year}-W{week:02d}", tier)] += 1

    def merge(self, other: Totals) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, f.name, mine + theirs)

    def settled_share(self, tier: str) -> float:
        """Share of closed disputes closed at ``tier`` (小事不出社区、大事不出街道)."""
        return self.closed_at[tier] / self.closed if self.closed else 0.0


@dataclass(frozen=True)
class Change:
    dispute_id: UUID
    received_at: datetime
    received_unit: str
    rows: tuple[tuple[str, str, str], ...]  # (what, current, candidate)
    notes: tuple[Note, ...]


@dataclass
class Comparison:
    zone: ZoneInfo
    keep: int = 200  # changed disputes listed (all are counted)
    current: Totals = field(default_factory=Totals)
    candidate: Totals = field(default_factory=Totals)
    changed: int = 0
    decisions_differ: int = 0  # disputes whose decisions differ in any way
    changes: list[Change] = field(default_factory=list)
    timelines: dict[UUID, tuple[list[TimelineRow], list[TimelineRow]]] = field(default_factory=dict)
    notes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, event)
    skipped: list[tuple[UUID, Note]] = field(default_factory=list)  # the first ``keep``
    skipped_count: int = 0
    versions: Counter[str] = field(default_factory=Counter)  # rules_version on recorded decisions
    #: How the timelines name codes (the candidate's ``rules.label``); None keeps codes.
    label: Labeller | None = None

    def add(
        self,
        recorded: Sequence[Dispute.Event],
        current: Outcome,
        candidate: Outcome | None,
        notes: Sequence[Note],
        replayed: Sequence[Dispute.Event],
    ) -> None:
        self.versions.update(str(getattr(e, "rules_version", "")) for e in recorded if e.by_rule)
        self.notes.update((n.kind, n.event) for n in notes)
        if candidate is None:  # skipped: its receipt cannot be replayed under the candidate
            self.skipped_count += 1
            if len(self.skipped) < self.keep:
                self.skipped.extend((current.dispute_id, n) for n in notes if n.kind == "skipped")
            return
        self.current.add(current, self.zone)
        self.candidate.add(candidate, self.zone)
        rows = differences(current, candidate, self.label, self.zone)
        self.decisions_differ += current.decisions != candidate.decisions
        if not rows:
            return
        self.changed += 1
        if len(self.changes) < self.keep:
            change = Change(
                current.dispute_id,
                current.received_at,
                current.received_unit,
                tuple(rows),
                tuple(notes),
            )
            self.changes.append(change)
            self.timelines[current.dispute_id] = (
                timeline(recorded, self.label, self.zone),
                timeline(replayed, self.label, self.zone),
            )

    def merge(self, other: Comparison) -> None:
        self.current.merge(other.current)
        self.candidate.merge(other.candidate)
        self.changed += other.changed
        self.decisions_differ += other.decisions_differ
        room = max(0, self.keep - len(self.changes))
        for change in other.changes[:room]:
            self.changes.append(change)
            self.timelines[change.dispute_id] = other.timelines[change.dispute_id]
        self.notes.update(other.notes)
        self.skipped.extend(other.skipped[: max(0, self.keep - len(self.skipped))])
        self.skipped_count += other.skipped_count
        self.versions.update(other.versions)


def timeline(
    events: Sequence[Dispute.Event], label: Labeller | None = None, zone: ZoneInfo | None = None
) -> list[TimelineRow]:
    """Each event as (time, name, what people read, by rule); codes unless ``label``."""
    return [
        (e.occurred_at, type(e).__name__, describe(e, rule=True, label=label, zone=zone), e.by_rule)
        for e in events
    ]
