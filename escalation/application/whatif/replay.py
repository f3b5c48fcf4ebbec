"""Re-run one dispute's recorded facts under a rule book (pure: no I/O, no clock).

The facts are the events no policy decided (``by_rule`` is False): receipts,
mediations, manual escalations and notices, closes, reopens. They are fed to
the Dispute aggregate exactly as the engine feeds commands: catch up on what
fell due before the fact (``apply_due``), apply it, let the policies react
(``apply_due``) and, after the last fact, catch up to the horizon. With the rules
the history was recorded under, this reproduces the recorded decisions.

Facts tied to who held the case get a fixed treatment under other rules:

* a mediation, a manual notice, a close or a reopen applies to whoever holds
  the dispute at that time (reported as *moved* when that is another unit);
  so do acceptance, decline, follow-up, pause and resume; a remand goes to the
  unit it went to in the log, and is dropped if that unit is not below the holder;
* a resolved mediation recorded before the follow-up step was followed by its
  own close: replayed, it settles and that close closes, as it did;
* a manual escalation goes to the tier it reached in the log, from wherever
  the dispute is; if it is already at or above that tier (or closed), the
  escalation is *dropped* and reported;
* a fact the dispute's state refuses (a close of a closed dispute, a reopen
  of an open one) is dropped and reported;
* a dispute received at a unit the rules do not know is *skipped* whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Literal, cast

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.errors import EscalationError
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Acceptance,
    Assessment,
    CheckIn,
    Closure,
    Decline,
    Fact,
    FollowUp,
    LeaderAssignment,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Pause,
    ProgressReport,
    Remand,
    Reopening,
    Resume,
    ReviewDecision,
    Summons,
    apply_fact,
    open_dispute,
    receipt_of,
)
from escalation.policies.rulebook import RuleBook

NoteKind = Literal["moved", "dropped", "skipped"]


@dataclass(frozen=True)
class Note:
    """How a recorded fact was treated under the candidate rules."""

    at: datetime
    event: str  # the fact's event name
    kind: NoteKind
    detail: str


@dataclass
class Replayed:
    events: list[Dispute.Event]  # everything the rules would have recorded, oldest first
    notes: list[Note] = field(default_factory=list)
    dispute: Dispute | None = None  # the aggregate at the horizon (None: skipped)


def facts_of(events: Sequence[Dispute.Event]) -> list[Dispute.Event]:
    return [e for e in events if not e.by_rule]


def replay(facts: Sequence[Dispute.Event], rules: RuleBook, horizon: datetime) -> Replayed:
    """The dispute the ``facts`` (one dispute's, oldest first) make under ``rules``."""
    facts = [f for f in facts if f.occurred_at <= horizon]
    if not facts or not isinstance(facts[0], Dispute.Received):
        return Replayed([], [_note(facts[0], "skipped", "no receipt")] if facts else [])
    first = facts[0]
    if first.unit not in rules.units:
        return Replayed([], [_note(first, "skipped", f"unit {first.unit!r} is not in the rules")])
    dispute = open_dispute(rules, first.originator_id, receipt_of(first), first.recorded_at)
    notes: list[Note] = []
    for before, fact in pairwise(facts):
        if _closed_by(before, fact):
            continue  # recorded by the same command as the resolved mediation before it
        _command(dispute, fact, rules, notes)
    last = dispute.state.updated_at
    if last is None or horizon >= last:
        apply_due(dispute, rules, horizon, horizon)
    return Replayed(cast("list[Dispute.Event]", dispute.collect_events()), notes, dispute)


def _closed_by(before: Dispute.Event, fact: Dispute.Event) -> bool:
    """The engine's follow-up records FollowedUp and then Closed or Reopened, at one instant.

    (A resolved mediation written before the follow-up step was followed by its
    own Closed: replayed, the mediation settles and that close closes.)
    """
    return (
        isinstance(fact, Dispute.Closed | Dispute.Reopened)
        and isinstance(before, lifecycle.FollowedUp)
        and before.occurred_at == fact.occurred_at
    )


def _command(dispute: Dispute, first: Dispute.Event, rules: RuleBook, notes: list[Note]) -> None:
    """One engine command, applied as the engine applies it (``apply_fact``)."""
    fact = _as_fact(first)
    if fact is None:
        notes.append(_note(first, "dropped", "not a kind of fact this replay knows"))
        return
    s = dispute.state
    if s.updated_at is None or fact.at >= s.updated_at:
        apply_due(dispute, rules, fact.at, first.recorded_at)  # as apply_fact would, first
    holder = dispute.state.unit
    try:
        apply_fact(dispute, fact, rules, first.recorded_at)
    except EscalationError as exc:  # refused: the engine would have recorded nothing
        notes.append(_note(first, "dropped", str(exc)))
        return
    recorded_unit = getattr(first, "unit", None)
    if not isinstance(first, Dispute.Escalated) and recorded_unit not in (None, holder):
        notes.append(_note(first, "moved", f"recorded at {recorded_unit}, applied at {holder}"))


def _as_fact(e: Dispute.Event) -> Fact | None:
    """The command behind a recorded fact (a resolved mediation also closes)."""
    at, actor, request = e.occurred_at, e.actor, getattr(e, "request_id", None)
    if isinstance(e, Dispute.Mediated):
        return Mediation(at, actor, request, outcome=e.outcome, note=e.note)
    if isinstance(e, Dispute.Escalated):
        # To the tier it reached in the log, from wherever the dispute is now.
        return ManualEscalation(at, actor, request, reason=e.reason, to_tier=e.to_tier)
    if isinstance(e, Dispute.Supervised):
        return ManualNotice(at, actor, request, notice=e.notice, reason=e.reason)
    if isinstance(e, Dispute.Closed):
        return Closure(at, actor, request, outcome=e.outcome, note=e.note)
    if isinstance(e, Dispute.Reopened):
        return Reopening(at, actor, request, reason=e.reason)
    return _casework_fact(e)


def _casework_fact(e: Dispute.Event) -> Fact | None:
    """吹哨报到, 领导包保 and 研判 by people (rule summons are decided again)."""
    at, actor, request = e.occurred_at, e.actor, getattr(e, "request_id", None)
    if isinstance(e, Dispute.Summoned):
        participants = tuple(e.participants)
        return Summons(at, actor, request, lead=e.lead, participants=participants, reason=e.reason)
    if isinstance(e, Dispute.CheckedIn):
        return CheckIn(at, actor, request, department=e.department)
    if isinstance(e, Dispute.ProgressReported):
        return ProgressReport(at, actor, request, department=e.department, note=e.note)
    if isinstance(e, Dispute.LeaderAssigned):
        return LeaderAssignment(at, actor, request, leader=e.leader, plan=e.plan)
    if isinstance(e, Dispute.Assessed):
        return Assessment(at, actor, request, level=e.level, reason=e.reason)
    if isinstance(e, Dispute.ReviewDecided):
        return ReviewDecision(
            at, actor, request, review=e.review, decision=e.decision, note=e.note, cluster=e.cluster
        )
    return _lifecycle_fact(e)


def _lifecycle_fact(e: Dispute.Event) -> Fact | None:
    """Acceptance, decline, follow-up, pause, resume and remand, as their commands."""
    at, actor, request = e.occurred_at, e.actor, getattr(e, "request_id", None)
    if isinstance(e, lifecycle.Accepted):  # by a person: a rule's acceptance is re-decided
        return Acceptance(at, actor, request)
    if isinstance(e, lifecycle.Declined):
        return Decline(at, actor, request, reason=e.reason)
    if isinstance(e, lifecycle.FollowedUp):
        return FollowUp(at, actor, request, outcome=e.outcome, note=e.note)
    if isinstance(e, lifecycle.Paused):
        return Pause(at, actor, request, reason=e.reason)
    if isinstance(e, lifecycle.Resumed):
        return Resume(at, actor, request)
    if isinstance(e, lifecycle.Remanded):
        return Remand(at, actor, request, to_unit=e.to_unit, instructions=e.instructions)
    return None


def _note(fact: Dispute.Event, kind: NoteKind, detail: str) -> Note:
    return Note(fact.occurred_at, type(fact).__name__, kind, detail)
