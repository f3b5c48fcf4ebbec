"""Switching a store to another rule book, safely (``escalation rules activate``).

1. Refuse if open disputes sit at units (or tiers) the new rule book lacks:
   the engine could not decide anything for them.
2. Under the rules still active, apply what fell due before the switch (a
   tick at the activation time), so the old rules answer for the past.
3. Record the new rule book (its text, once) and its activation.
4. Bring every open dispute under the new rules at the activation time
   (``policies.rebase``): keep or adopt deadlines, as the setting says.

Running it again with the same rule book records nothing new and finishes
step 4 if an earlier run was interrupted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rules_applied import InFlight
from escalation.aggregates.times import as_utc
from escalation.application.clock import Clock, system_clock
from escalation.application.engine import EscalationEngine
from escalation.application.rulebook_registry import in_flight_mode
from escalation.errors import ConcurrencyError, InvalidInput
from escalation.policies.inputs import aware
from escalation.policies.rule_change import apply_rule_change
from escalation.policies.rulebook import RuleBook

if TYPE_CHECKING:
    from escalation.bootstrap import Storage


@dataclass
class ActivationReport:
    version: str
    previous: str | None
    recorded: bool  # False: it was already the active rule book
    in_flight: InFlight
    at: datetime
    caught_up: int = 0  # events the old rules applied at the switch
    open: int = 0
    changed: int = 0  # open disputes the new rules changed
    events: Counter[str] = field(default_factory=Counter)


def activate(
    storage: Storage,
    book: RuleBook,
    *,
    by: str,
    at: datetime | None = None,
    in_flight: str = "keep",
    note: str = "",
    clock: Clock = system_clock,
) -> ActivationReport:
    mode = in_flight_mode(in_flight)
    if not by.strip():
        raise InvalidInput("say who activates the rule book (--by); auditors read it")
    when = as_utc(aware("at", at)) if at is not None else clock()
    registry = storage.rulebooks
    active = registry.active()
    previous = active.version if active is not None else None
    caught_up = 0
    if previous is not None and previous != book.version:
        # An engine running the active rule book.
        with EscalationEngine(None, storage=storage, clock=clock) as old:
            refuse_stranded(old, book)
            caught_up = old.tick(when).total
    if previous == book.version and active is not None:
        mode = cast("InFlight", active.in_flight)  # finish what that activation said
    recorded = registry.activate(
        book, by=by, at=when, recorded_at=clock(), in_flight=mode, note=note
    )
    report = ActivationReport(book.version, previous, recorded, mode, when, caught_up)
    with EscalationEngine(None, storage=storage, clock=clock, in_flight=mode) as engine:
        bring_open_under(engine, when, actor=by, report=report)
    return report


def refuse_stranded(engine: EscalationEngine, book: RuleBook) -> None:
    """InvalidInput if open disputes are at units the new rule book lacks or moved."""
    stranded = [
        (item.dispute_id, item.unit, item.tier)
        for item in engine.queue()
        if item.unit not in book.units or book.units[item.unit].tier != item.tier
    ]
    if stranded:
        shown = "; ".join(f"{d} at {u} ({t})" for d, u, t in stranded[:10])
        raise InvalidInput(
            f"{len(stranded)} open disputes are at units the new rule book lacks or puts at "
            f"another tier, so it could not decide for them: {shown}. Keep those units "
            "(or close or escalate those disputes) before activating."
        )


def bring_open_under(
    engine: EscalationEngine, at: datetime, *, actor: str, report: ActivationReport
) -> None:
    """Apply the engine's rule book to every open dispute at ``at``, in batches."""
    ids = [item.dispute_id for item in engine.queue()]
    report.open = len(ids)
    for start in range(0, len(ids), engine.tick_batch):
        _batch(engine, ids[start : start + engine.tick_batch], at, actor, report)
    engine.catch_up()


def _batch(
    engine: EscalationEngine,
    ids: Sequence[UUID],
    at: datetime,
    actor: str,
    report: ActivationReport,
) -> None:
    changed = [d for d in (_load(engine, i) for i in ids) if _bring(engine, d, at, actor)]
    if not changed:
        return
    counts = Counter(type(e).__name__ for d in changed for e in d.pending_events)
    try:
        engine.store.save(*changed)  # one transaction for the batch
    except IntegrityError:  # a command got in first: redo those one by one
        counts = Counter()
        for d in changed:
            counts.update(_one(engine, d.id, at, actor))
    report.changed += len(changed)
    report.events.update(counts)


def _one(engine: EscalationEngine, did: UUID, at: datetime, actor: str) -> Counter[str]:
    for _ in range(engine.max_retries):
        dispute = _load(engine, did)
        if not _bring(engine, dispute, at, actor):
            return Counter()
        counts = Counter(type(e).__name__ for e in dispute.pending_events)
        try:
            engine.store.save(dispute)
        except IntegrityError:
            continue
        return counts
    raise ConcurrencyError(f"dispute {did} kept changing while the new rules were applied")


def _load(engine: EscalationEngine, did: UUID) -> Dispute:
    return cast("Dispute", engine.store.repository.get(did))


def _bring(engine: EscalationEngine, dispute: Dispute, at: datetime, actor: str) -> bool:
    return apply_rule_change(
        dispute,
        engine.rules,
        at=at,
        in_flight=engine.in_flight,
        actor=actor,
        recorded_at=engine.clock(),
    )
