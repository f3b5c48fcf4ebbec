"""What ``verify`` reports: findings by dispute, version and log position."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

#: altered     — an event's content no longer matches its chain (or the recorded head)
#: deleted     — versions missing from a dispute's chain (a gap, or the head is ahead of the log)
#: reordered   — a dispute's events stored out of version order
#: undecodable — a stored row that no longer decodes into an event
#: unexpected  — an event the audit projection never recorded (inserted behind its back)
#: digest      — the running log digest differs from a checkpoint
Kind = Literal["altered", "deleted", "reordered", "undecodable", "unexpected", "digest"]

MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Finding:
    kind: Kind
    detail: str
    dispute_id: UUID | None = None
    version: int | None = None  # the dispute version concerned
    position: int | None = None  # the log position (notification id) where it shows
    span: tuple[int, int] | None = None  # digest findings: log positions (after, up to]

    def __str__(self) -> str:
        where = []
        if self.dispute_id is not None:
            where.append(f"dispute {self.dispute_id}")
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.span is not None:
            where.append(f"positions {self.span[0] + 1}..{self.span[1]}")
        return f"{self.kind}: {', '.join(where)}: {self.detail}"


@dataclass
class VerifyReport:
    """The outcome of a verification; ``ok`` only if nothing was found."""

    events: int = 0  # stored rows read
    disputes: int = 0
    checkpoints: int = 0  # checkpoints compared with the recomputed digest
    covered_to: int = 0  # position of the last checkpoint (the projected tip)
    tip_digest: str | None = None  # the running digest recorded there
    uncovered: int = 0  # rows after the tip: hash-chain checked only
    log_position: int = 0  # the last row read
    log_digest: str | None = None  # running digest of the rows up to it, recomputed
    expected: int = 0  # digests given from outside (``expect``) compared
    expected_differ: list[int] = field(default_factory=list)  # their positions that differ
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0  # findings beyond ``max_findings`` (counted, not kept)
    max_findings: int = MAX_FINDINGS

    @property
    def ok(self) -> bool:
        return not self.findings and not self.dropped

    def add(self, finding: Finding) -> None:
        if len(self.findings) < self.max_findings:
            self.findings.append(finding)
        else:
            self.dropped += 1

    def kinds(self) -> Counter[str]:
        return Counter(f.kind for f in self.findings)

    def for_dispute(self, dispute_id: UUID) -> list[Finding]:
        return [f for f in self.findings if f.dispute_id == dispute_id]
