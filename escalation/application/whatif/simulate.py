"""A what-if run: stream the live log, replay every dispute under the candidate.

Per dispute: the *current* side is what the log recorded (up to the
horizon); the *candidate* side is its facts replayed under the candidate rule
book (``replay``) to the same horizon. Nothing is written anywhere: the
replay lives in memory, one dispute at a time.

The horizon is the latest event time near the end of the log, or ``end`` if
earlier.
``start``/``end`` select disputes by when they were received.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from escalation.adapters.store import DisputeLog
from escalation.aggregates.dispute import Dispute
from escalation.application.whatif.compare import Comparison
from escalation.application.whatif.outcome import summarise
from escalation.application.whatif.replay import facts_of, replay
from escalation.application.whatif.replay_rules import memoised
from escalation.application.whatif.stream import LogReader, Part
from escalation.errors import InvalidInput
from escalation.policies.rulebook import RuleBook
from escalation.progress import Progress


@dataclass(frozen=True)
class Window:
    horizon: datetime
    start: datetime | None = None
    end: datetime | None = None
    clamped: bool = False  # end was after the last event: the horizon is the log's end

    def selects(self, received: Dispute.Received) -> bool:
        at = received.occurred_at
        after_start = self.start is None or at >= self.start
        return after_start and at <= self.horizon and (self.end is None or at < self.end)


@dataclass
class Simulation:
    candidate: RuleBook
    window: Window
    comparison: Comparison
    disputes: int = 0
    seconds: float = 0.0
    reread: int = 0
    head: int = 0

    @property
    def rate(self) -> float:
        return self.disputes / self.seconds if self.seconds else 0.0


def window(reader: LogReader, head: int, start: datetime | None, end: datetime | None) -> Window:
    if head == 0:
        raise InvalidInput("the log is empty: there is nothing to simulate")
    last = reader.last_event_time(head)
    assert last is not None
    if start is not None and end is not None and start >= end:
        raise InvalidInput(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
    if start is not None and start > last:
        raise InvalidInput(
            f"--from {start.isoformat()} is after the last event in the log ({last.isoformat()})"
        )
    horizon = last if end is None else min(end, last)
    return Window(horizon, start, end, clamped=end is not None and end > last)


def simulate(
    store: DisputeLog,
    candidate: RuleBook,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    keep: int = 200,
    part: Part = (0, 1),
    progress: Progress | None = None,
    reader: LogReader | None = None,
) -> Simulation:
    began = time.perf_counter()
    reader = reader or LogReader(store)
    head = reader.head()
    win = window(reader, head, start, end)
    rules = memoised(candidate)
    comparison = Comparison(ZoneInfo(candidate.calendar.timezone), keep=keep, label=candidate.label)
    run = Simulation(candidate, win, comparison, head=head)
    for events in reader.disputes(head, part=part, keep=win.selects):
        compare_one(events, rules, win.horizon, comparison)
        run.disputes += 1
        if progress is not None and run.disputes % 250 == 0:
            progress(run.disputes, reader.total)
    if progress is not None:
        progress(run.disputes, run.disputes)
    run.reread = reader.reread
    run.seconds = time.perf_counter() - began
    return run


def compare_one(
    events: list[Dispute.Event], rules: RuleBook, horizon: datetime, comparison: Comparison
) -> None:
    """Replay one dispute under ``rules`` and add both sides to ``comparison`` (pure)."""
    current = summarise(events, horizon)
    replayed = replay(facts_of(events), rules, horizon)
    candidate = summarise(replayed.events, horizon) if replayed.events else None
    recorded = [e for e in events if e.occurred_at <= horizon]
    comparison.add(recorded, current, candidate, replayed.notes, replayed.events)
