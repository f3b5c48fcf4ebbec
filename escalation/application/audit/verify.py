"""``verify``: re-read the log and prove it is what was written, or say where not.

Four independent checks over one streaming pass (memory: one small record
per dispute, never the log), none of which decodes an event:

1. each record against the digest sealed with it when it was written, and
   each dispute's hash chain — every seal's previous digest is the digest of
   the version before it (altered, deleted, reordered, unsealed records);
2. the chain heads the audit projection recorded — names the *last* event of
   a dispute altered or deleted, which no later event can vouch for;
3. the running digest over every stored row against the projection's
   checkpoints — any change to the stored bytes, located to a span;
4. the running digest against the log head written with every record — so
   not even the newest row can be deleted or changed unnoticed.

``verify`` never catches projections up: that would checkpoint whatever is
in the log now, tampered or not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from sqlalchemy import Select, select

from escalation.adapters.persistence import LogHead, head_in
from escalation.adapters.store import DisputeLog
from escalation.application.audit.chains import ChainChecker
from escalation.application.audit.findings import Finding, VerifyReport
from escalation.application.audit.log import PAGE_SIZE, dispute_rows, log_rows
from escalation.application.engine import EscalationEngine
from escalation.policies.inputs import as_dispute_id
from escalation.progress import Progress
from projections.audit import (
    START,
    Checkpoint,
    advance,
    audit_checkpoints,
    audit_heads,
    last_checkpoint,
)


def verify(
    engine: EscalationEngine,
    progress: Progress | None = None,
    *,
    expect: Sequence[tuple[int, str]] = (),
    page_size: int = PAGE_SIZE,
) -> VerifyReport:
    """Check the whole log; ``progress(position, last)`` is called after each page.

    ``expect`` holds (position, digest) pairs noted outside the database (from
    an earlier report's ``log_digest``): they are compared with the digest
    recomputed from the rows alone, so even a rebuilt audit record, which
    would re-checkpoint an edited log, cannot satisfy them.
    """
    store = engine.store
    report = VerifyReport()
    projected = _projected(store)
    log_head = _log_head(store, report)
    chains = ChainChecker(report, projected.position)
    for head in _paged(store, select(audit_heads), audit_heads.c.dispute_id):
        chains.expect_head(head.dispute_id, head.version, head.digest, head.position)
    checkpoints = _paged(store, select(audit_checkpoints), audit_checkpoints.c.position)
    digests = DigestChecker(_with_head(checkpoints, log_head), report, expect)
    for row in log_rows(store, page_size=page_size, progress=progress):
        report.events += 1
        if row.position > log_head.position:
            report.uncovered += 1
            report.add(
                Finding(
                    "unexpected",
                    f"stored after the log head (position {log_head.position}), which every "
                    "write moves: inserted behind the engine's back?",
                    row.dispute_id,
                    row.version,
                    row.position,
                )
            )
        digests.feed(row.stored)
        chains.feed(row)
    digests.finish()
    chains.finish()
    report.findings.sort(key=_where)  # log order; deletions (no row) last
    return report


def verify_dispute(engine: EscalationEngine, dispute_id: UUID | str) -> VerifyReport:
    """Check one dispute's chain and recorded head (not the log-wide digest)."""
    store, did = engine.store, as_dispute_id(dispute_id)
    report = VerifyReport()
    log_head = _log_head(store, report)
    chains = ChainChecker(report, _projected(store).position)
    query = select(audit_heads).where(audit_heads.c.dispute_id == did)
    for head in _paged(store, query, audit_heads.c.dispute_id):
        chains.expect_head(head.dispute_id, head.version, head.digest, head.position)
    for row in dispute_rows(store, did):
        report.events += 1
        if row.position > log_head.position:
            report.uncovered += 1
        chains.feed(row)
    chains.finish()
    return report


class DigestChecker:
    """Recomputes the running digest and compares it at every checkpoint.

    After a mismatch it continues from the recorded value, so each span
    between checkpoints is judged on its own and every altered span is named.
    The digest of the rows alone (``pure``, never reset) is compared with the
    expected values given from outside, and reported at the end of the log.
    """

    def __init__(
        self,
        checkpoints: Iterator[Checkpoint],
        report: VerifyReport,
        expect: Sequence[tuple[int, str]] = (),
    ) -> None:
        self.checkpoints = checkpoints
        self.report = report
        self.pending = next(checkpoints, None)
        self.previous = START
        self.running = self.pure = START.digest
        self.count = 0
        self.expect = sorted(expect, reverse=True)  # popped from the end, lowest first

    def feed(self, stored: Notification) -> None:
        while self.pending is not None and stored.id > self.pending.position:
            self._compare(self.pending)
        self._expected(before=stored.id)
        same = self.pure == self.running  # hash once while nothing was reset
        self.running = advance(self.running, stored)
        self.pure = self.running if same else advance(self.pure, stored)
        self.count += 1
        self.report.log_position, self.report.log_digest = stored.id, self.pure

    def finish(self) -> None:
        while self.pending is not None:
            self._compare(self.pending)
        self._expected(before=None)

    def _expected(self, before: int | None) -> None:
        while self.expect and (before is None or self.expect[-1][0] < before):
            position, digest = self.expect.pop()
            self.report.expected += 1
            if digest.strip().lower() != self.pure:
                self.report.expected_differ.append(position)
                self.report.add(
                    Finding(
                        "digest",
                        "the log digest recomputed from the rows differs from the one "
                        f"noted outside the database for position {position}",
                        span=(0, position),
                    )
                )

    def _compare(self, checkpoint: Checkpoint) -> None:
        self.report.checkpoints += 1
        if (self.count, self.running) != (checkpoint.events, checkpoint.digest):
            now = self.count - self.previous.events
            then = checkpoint.events - self.previous.events
            rows = f"{now} rows there now, {then} when checkpointed" if now != then else ""
            self.report.add(
                Finding(
                    "digest",
                    "the running digest differs from the checkpoint"
                    + (f" ({rows})" if rows else "")
                    + ": a stored row in this span was altered, deleted or inserted",
                    span=(self.previous.position, checkpoint.position),
                )
            )
            self.count, self.running = checkpoint.events, checkpoint.digest
        self.previous = checkpoint
        self.pending = next(self.checkpoints, None)


def _with_head(checkpoints: Iterator[Any], head: LogHead) -> Iterator[Checkpoint]:
    """The projection's checkpoints and the log head, in position order.

    The head is written with every record, so it stands for the projection's
    tip at the same position (and catches what was written after that tip).
    """
    pending = head.position > 0
    for c in checkpoints:
        if pending and c.position >= head.position:
            pending = False
            yield Checkpoint(head.position, head.records, head.digest)
            if c.position == head.position:
                continue
        yield Checkpoint(c.position, c.events, c.digest)
    if pending:
        yield Checkpoint(head.position, head.records, head.digest)


def _where(finding: Finding) -> int:
    if finding.position is not None:
        return finding.position
    return finding.span[1] if finding.span is not None else 2**63


def _projected(store: DisputeLog) -> Checkpoint:
    """How far the audit projection has recorded heads and checkpoints."""
    with store.reading() as session:
        return last_checkpoint(session)


def _log_head(store: DisputeLog, report: VerifyReport) -> LogHead:
    with store.reading() as session:
        head = head_in(session)
    report.covered_to = head.position
    report.tip_digest = head.digest if head.position else None
    return head


def _paged(store: DisputeLog, query: Select[Any], key: Any, size: int = 1000) -> Iterator[Any]:
    """Rows of ``query`` in ``key`` order, one short read transaction per page."""
    after = None
    while True:
        page_query = query.order_by(key).limit(size)
        if after is not None:
            page_query = page_query.where(key > after)
        with store.reading() as session:
            rows = list(session.execute(page_query))
        if not rows:
            return
        yield from rows
        after = getattr(rows[-1], key.name)
