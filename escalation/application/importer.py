"""Bulk import of historical disputes, for platforms migrating their history.

Each record is a receipt plus the facts that followed it. The importer runs
them through the same pure core as live commands (``register``,
``apply_fact``, ``apply_due``), so an imported history carries exactly the
decisions the engine would have taken live, then writes many disputes per
transaction: commit cost dominates single commands.

Deciding and encoding take most of the time and need nothing but the rule
book, so with ``jobs > 1`` worker processes do them, batch by batch, while
this process writes the batches in their original order.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent

from escalation.adapters.persistence import BulkApplicationRecorder
from escalation.adapters.store import LogMapper, offline_mapper
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.times import as_utc
from escalation.errors import EscalationError, InvalidInput, RequestConflict
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Fact,
    Receipt,
    apply_fact,
    check_same_receipt,
    receipt_of,
    register,
)
from escalation.policies.rulebook import RuleBook
from escalation.progress import Count

if TYPE_CHECKING:
    from escalation.application.engine import EscalationEngine

__all__ = ["DisputeRecord", "ImportReport", "Receipt", "import_disputes", "insert_events"]


@dataclass(frozen=True)
class DisputeRecord:
    receipt: Receipt
    facts: Sequence[Fact] = ()
    origin: str | None = None  # where it came from ("line 17"), for error messages


@dataclass
class ImportReport:
    disputes: int = 0
    events: int = 0
    skipped: int = 0  # already imported (same request id)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    """One record, decided: its dispute's stored events, or why it was refused."""

    number: int
    events: list[StoredEvent] | None = None
    error: str | None = None
    # The new data key of the dispute (its personal fields are sealed with it),
    # wrapped and stored by the writer with the events.
    keys: dict[UUID, bytes] = field(default_factory=dict)


def import_disputes(
    engine: EscalationEngine,
    records: Iterable[DisputeRecord],
    *,
    until: datetime | None = None,
    batch: int = 500,
    skip_invalid: bool = False,
    progress: Count | None = None,
    jobs: int = 1,
) -> ImportReport:
    """Import records; time-driven decisions are applied up to ``until`` (if given).

    A record that breaks a rule (unknown unit, time going backwards...) stops
    the import with its number, unless ``skip_invalid``: then it is reported
    and left out. Batches already written stay written; with request ids a
    re-run skips them. ``jobs`` worker processes decide the records (1: this
    process does); records are read lazily, a few batches ahead of the writes.
    """
    if batch < 1 or jobs < 1:
        raise InvalidInput(f"batch and jobs must be at least 1, got batch={batch}, jobs={jobs}")
    horizon = as_utc(until) if until is not None else None
    report = ImportReport()
    seen = 0
    with _Deciders(engine, horizon, jobs) as deciders:
        for outcomes in deciders.run(_numbered(records, batch)):
            written: list[_Outcome] = []
            for outcome in outcomes:
                if outcome.error is not None:
                    if not skip_invalid:
                        raise InvalidInput(outcome.error)
                    report.errors.append(outcome.error)
                elif outcome.events is not None:
                    written.append(outcome)
            _write(engine, written, report)
            seen = outcomes[-1].number
            if progress is not None:
                progress(seen)
    if progress is not None:
        progress(seen)
    return report


def _numbered(
    records: Iterable[DisputeRecord], size: int
) -> Iterator[list[tuple[int, DisputeRecord]]]:
    chunk: list[tuple[int, DisputeRecord]] = []
    for number, record in enumerate(records, start=1):
        chunk.append((number, record))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Deciders:
    """Decides batches in order: here (one job) or in worker processes."""

    def __init__(self, engine: EscalationEngine, horizon: datetime | None, jobs: int) -> None:
        self.engine = engine
        self.horizon = horizon
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Self:
        if self.jobs > 1:
            rules = self.engine.rules
            # spawn, not fork: the host process may hold threads and connections.
            self.pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(), rules.text, rules.source, rules.version),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def run(self, chunks: Iterator[list[tuple[int, DisputeRecord]]]) -> Iterator[list[_Outcome]]:
        engine = self.engine
        if self.pool is None:
            for chunk in chunks:
                recorded = engine.clock()
                yield _decide(engine.rules, engine.store.mapper, chunk, self.horizon, recorded)
            return
        # Keep every worker busy with a batch queued behind it, and no more:
        # reading far ahead of the writes would hold the whole input in memory.
        in_flight: deque[Future[list[_Outcome]]] = deque()
        failed: Exception | None = None
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - raised again below, after the batches
                # Reading the input failed (a malformed line): the batches before
                # it are written first, as with one job, then the error stands.
                failed = exc
                break
            in_flight.append(self.pool.submit(_work, chunk, self.horizon, engine.clock()))
            if len(in_flight) >= 2 * self.jobs:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
        if failed is not None:
            raise failed


_WORKER: tuple[RuleBook, Mapper[Any]] | None = None


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """End this worker when the importing process ends, however it ends (even ``kill -9``).

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``);
    the parent may have died before that was asked for, so it is checked once
    after. Elsewhere a daemon thread polls the parent pid every second.
    The signal follows the parent *thread* that started the worker: the pool's
    workers are started by the thread that submits, which outlives the pool.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
            if os.getppid() != parent:
                os._exit(1)
            return
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent,), name="parent-watchdog", daemon=True
    ).start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(1)


def _start_worker(parent: int, text: str, source: str, version: str) -> None:
    global _WORKER  # noqa: PLW0603 - a worker process's own state, set by its initializer
    _die_with_parent(parent)
    rules = RuleBook.from_yaml(text, source=source)
    if rules.version != version:  # pragma: no cover - the same text hashes the same
        raise RuntimeError(f"rule book {source} changed in the worker: {rules.version}")
    _WORKER = (rules, offline_mapper())


def _work(
    chunk: list[tuple[int, DisputeRecord]], horizon: datetime | None, recorded: datetime
) -> list[_Outcome]:
    assert _WORKER is not None, "worker not started"
    rules, mapper = _WORKER
    return _decide(rules, mapper, chunk, horizon, recorded)


def _decide(
    rules: RuleBook,
    mapper: Mapper[Any],
    chunk: list[tuple[int, DisputeRecord]],
    horizon: datetime | None,
    recorded: datetime,
) -> list[_Outcome]:
    """Pure apart from encoding: every record replayed through the core."""
    outcomes = []
    for number, record in chunk:
        try:
            dispute = _replay(rules, record, horizon, recorded)
        except EscalationError as exc:
            where = record.origin or f"record {number}"
            request = record.receipt.request_id or "no request id"
            outcomes.append(_Outcome(number, error=f"{where} ({request}): {exc}"))
            continue
        stored = [mapper.to_stored_event(e) for e in dispute.collect_events()]
        pending = cast("LogMapper", mapper).keyring
        key = pending.pending.pop(dispute.id, None) if pending is not None else None
        outcomes.append(
            _Outcome(number, events=stored, keys={} if key is None else {dispute.id: key})
        )
    return outcomes


def _replay(
    rules: RuleBook, record: DisputeRecord, horizon: datetime | None, recorded: datetime
) -> Dispute:
    dispute = register(rules, record.receipt, recorded)
    for fact in record.facts:
        apply_fact(dispute, fact, rules, recorded)
    last = dispute.state.updated_at
    if horizon is not None and last is not None and horizon >= last:
        apply_due(dispute, rules, horizon, recorded)
    return dispute


def _write(engine: EscalationEngine, disputes: list[_Outcome], report: ImportReport) -> None:
    recorder = engine.store.recorder
    keyring = engine.store.keyring
    assert isinstance(recorder, BulkApplicationRecorder), type(recorder)
    try:
        for outcome in disputes:  # written by the recorder with the events they seal
            keyring.pending.update(outcome.keys)
        recorder.append_events([e for outcome in disputes for e in outcome.events or ()])
    except IntegrityError:
        # Some were imported before: write the rest one by one.
        for outcome in disputes:
            events = outcome.events or []
            keyring.pending.update(outcome.keys)
            try:
                recorder.append_events(events)
            except IntegrityError:
                for dispute_id in outcome.keys:
                    keyring.pending.pop(dispute_id, None)
                conflict = _conflict(engine, events, outcome.keys)
                if conflict is not None:  # the request id names another dispute
                    report.errors.append(conflict)
                else:
                    report.skipped += 1
                continue
            report.disputes += 1
            report.events += len(events)
        return
    report.disputes += len(disputes)
    report.events += sum(len(outcome.events or ()) for outcome in disputes)


def _conflict(
    engine: EscalationEngine, events: list[StoredEvent], keys: dict[UUID, bytes]
) -> str | None:
    """Why a record whose request id is already in the store is not the same dispute, if not."""
    mapper = offline_mapper()  # opens the new receipt with its own (unwritten) key
    assert mapper.keyring is not None
    mapper.keyring.opened.update(keys)
    new = mapper.to_domain_event(events[0])
    if not isinstance(new, Dispute.Received) or new.request_id is None:
        return None
    old = engine.history(new.originator_id)[0]
    if not isinstance(old, Dispute.Received):  # pragma: no cover - a history opens with one
        return f"request {new.request_id!r} is already in the store as another record"
    try:
        check_same_receipt(old, receipt_of(new), explicit_at=True)
    except RequestConflict as exc:
        return str(exc)
    return None


def insert_events(engine: EscalationEngine, events: list[Any]) -> None:
    """One transaction for many disputes' events, through the store's own recorder."""
    mapper = engine.store.mapper
    engine.store.recorder.insert_events([mapper.to_stored_event(e) for e in events])
