"""Bulk import of historical disputes, for platforms migrating their history.

Each record is a receipt plus the facts that followed it. The importer runs
them through the same pure core as live commands (``new_dispute``,
``apply_fact``, ``settle``), so an imported history carries exactly the
decisions the engine would have taken live, then writes many disputes per
transaction: commit cost dominates single commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError

from escalation.aggregates.dispute import Dispute
from escalation.clock import as_utc
from escalation.errors import EscalationError, InvalidInput
from escalation.facts import Fact, apply_fact
from escalation.policies.settle import settle

if TYPE_CHECKING:
    from escalation.engine import EscalationEngine


@dataclass(frozen=True)
class Receipt:
    unit: str
    category: str
    source: str
    summary: str
    received_at: datetime
    parties: int = 1
    amount: float = 0.0
    location: str = ""
    request_id: str | None = None  # the platform's own case number: re-imports skip it
    actor: str = "import"


@dataclass(frozen=True)
class DisputeRecord:
    receipt: Receipt
    facts: Sequence[Fact] = ()


@dataclass
class ImportReport:
    disputes: int = 0
    events: int = 0
    skipped: int = 0  # already imported (same request id)
    errors: list[str] = field(default_factory=list)


Progress = Callable[[int], None]


def import_disputes(
    engine: EscalationEngine,
    records: Iterable[DisputeRecord],
    *,
    until: datetime | None = None,
    batch: int = 500,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import records; time-driven decisions are applied up to ``until`` (if given).

    A record that breaks a rule (unknown unit, time going backwards...) stops
    the import with its number, unless ``skip_invalid``: then it is reported
    and left out. Batches already written stay written; with request ids a
    re-run skips them.
    """
    horizon = as_utc(until) if until is not None else None
    report = ImportReport()
    pending: list[Dispute] = []
    for number, record in enumerate(records, start=1):
        try:
            dispute = _replay(engine, record, horizon)
        except EscalationError as exc:
            message = f"record {number} ({record.receipt.request_id or 'no request id'}): {exc}"
            if not skip_invalid:
                raise InvalidInput(message) from exc
            report.errors.append(message)
            continue
        pending.append(dispute)
        if len(pending) >= batch:
            _write(engine, pending, report)
            pending = []
            if progress is not None:
                progress(number)
    if pending:
        _write(engine, pending, report)
    if progress is not None:
        progress(report.disputes + report.skipped + len(report.errors))
    return report


def _replay(engine: EscalationEngine, record: DisputeRecord, horizon: datetime | None) -> Dispute:
    r = record.receipt
    dispute = engine.new_dispute(
        unit=r.unit,
        category=r.category,
        source=r.source,
        summary=r.summary,
        parties=r.parties,
        amount=r.amount,
        location=r.location,
        received_at=r.received_at,
        request_id=r.request_id,
        actor=r.actor,
    )
    recorded = engine.clock()
    for fact in record.facts:
        apply_fact(dispute, fact, engine.rules, recorded)
    last = dispute.state.updated_at
    if horizon is not None and last is not None and horizon >= last:
        settle(dispute, engine.rules, horizon, recorded)
    return dispute


def _write(engine: EscalationEngine, disputes: list[Dispute], report: ImportReport) -> None:
    events = [e for d in disputes for e in d.collect_events()]
    try:
        insert_events(engine, events)
    except IntegrityError:
        # Some were imported before: write the rest one by one.
        for d in disputes:
            own = [e for e in events if e.originator_id == d.id]
            try:
                insert_events(engine, own)
            except IntegrityError:
                report.skipped += 1
                continue
            report.disputes += 1
            report.events += len(own)
        return
    report.disputes += len(disputes)
    report.events += len(events)


def insert_events(engine: EscalationEngine, events: list[Any]) -> None:
    """One transaction for many disputes' events, through the store's own recorder."""
    mapper = engine.store.mapper
    engine.store.recorder.insert_events([mapper.to_stored_event(e) for e in events])
