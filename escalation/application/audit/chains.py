"""Checking every dispute's hash chain while the log streams past, in log order.

Each record is judged against the seal stored with it: its digest is
recomputed from the stored bytes (scheme 2) or, for records written before
scheme 2, from their stored JSON (scheme 1, whose chain link is the record's
own ``prev_hash``). Nothing is decoded into events.

Memory is one small record per dispute. Events that arrive before an earlier
version of their dispute wait in that dispute's record until the gap fills
(a reordering) or the log ends (a deletion), so the chain is always checked
in version order whatever order the rows are stored in.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from escalation.adapters.log_digests import GENESIS, legacy_digest, legacy_fields, record_digest
from escalation.application.audit.findings import Finding, VerifyReport
from escalation.application.audit.log import Row


@dataclass(slots=True)
class _Link:
    version: int
    position: int
    prev_hash: str | None  # None: the row does not decode
    digest: str | None
    late: bool = False  # part of a reordering: its links are explained by that finding


@dataclass(slots=True)
class _Chain:
    version: int = 0  # the highest version reached in version order
    digest: str | None = GENESIS  # digest of that version (None: unknown)
    position: int = 0
    late: bool = False
    ahead: dict[int, _Link] | None = None  # versions stored before an earlier one
    head: tuple[int, str, int] | None = None  # recorded head: version, digest, position
    seen: bool = False
    broken_into: bool = False  # the link into the frontier version is broken


class ChainChecker:
    def __init__(self, report: VerifyReport, covered_to: int) -> None:
        self.report = report
        self.covered_to = covered_to  # rows up to here were seen by the audit projection
        self.chains: dict[UUID, _Chain] = {}

    def expect_head(self, dispute_id: UUID, version: int, head: str, position: int) -> None:
        self._chain(dispute_id).head = (version, head, position)

    def feed(self, row: Row) -> None:
        dispute_id, chain = row.dispute_id, self._chain(row.dispute_id)
        if not chain.seen:
            chain.seen = True
            self.report.disputes += 1
        link = self._sealed(row)
        self._in_order(dispute_id, chain, link)
        if row.position <= self.covered_to:
            self._against_head(dispute_id, chain, link)

    def finish(self) -> None:
        for dispute_id, chain in self.chains.items():
            while chain.ahead:
                following = min(chain.ahead)
                nxt = chain.ahead[following]
                self._missing(dispute_id, chain.version + 1, following - 1, nxt)
                chain.version, chain.digest = following - 1, None  # no link across a gap
                self._drain(dispute_id, chain)
            if chain.head is not None and chain.head[0] > chain.version:
                version, _, position = chain.head
                self.report.add(
                    Finding(
                        "deleted",
                        _span_text(chain.version + 1, version)
                        + f" missing: the audit record has version {version} at position "
                        f"{position}, the log "
                        + (f"ends at version {chain.version}" if chain.seen else "has none"),
                        dispute_id,
                        chain.version + 1,
                    )
                )

    # ------------------------------------------------------------ internals

    def _sealed(self, row: Row) -> _Link:
        """The row's chain link, after checking its bytes against its seal."""
        where = (row.dispute_id, row.version, row.position)
        link = _Link(version=row.version, position=row.position, prev_hash=None, digest=None)
        seal = row.seal
        if seal is None:
            self.report.add(
                Finding(
                    "unexpected",
                    "no chain digest was sealed with it: written behind the engine's back?",
                    *where,
                )
            )
            return link
        stored = row.stored
        if seal.scheme == 1:
            try:
                fields = legacy_fields(stored.state)
                prev = fields.get("prev_hash")
                digest = legacy_digest(row.dispute_id, row.version, stored.topic, fields)
            except (ValueError, TypeError) as exc:
                detail = f"does not decode: {type(exc).__name__}: {exc}"
                self.report.add(Finding("undecodable", detail, *where))
                return link
            link.prev_hash = prev if isinstance(prev, str) else ""
            link.digest = digest
            if digest != seal.digest:
                self.report.add(
                    Finding(
                        "altered",
                        "its stored JSON no longer gives the digest it was sealed with (scheme 1)",
                        *where,
                    )
                )
            return link
        link.prev_hash, link.digest = seal.prev, seal.digest
        recomputed = record_digest(
            row.dispute_id, row.version, stored.topic, stored.state, seal.prev
        )
        if recomputed != seal.digest:
            self.report.add(
                Finding(
                    "altered",
                    "its stored record does not match the digest sealed with "
                    "it: the record or its seal was edited",
                    *where,
                )
            )
        return link

    def _chain(self, dispute_id: UUID) -> _Chain:
        chain = self.chains.get(dispute_id)
        if chain is None:
            chain = self.chains[dispute_id] = _Chain()
        return chain

    def _against_head(self, dispute_id: UUID, chain: _Chain, link: _Link) -> None:
        head = chain.head
        if head is None or link.version > head[0]:
            recorded = f"version {head[0]}" if head else "no event of it"
            self.report.add(
                Finding(
                    "unexpected",
                    f"not in the audit record (which has {recorded} up to position "
                    f"{self.covered_to}): inserted behind the engine's back?",
                    dispute_id,
                    link.version,
                    link.position,
                )
            )
        elif link.version == head[0] and link.digest is not None and link.digest != head[1]:
            why = f"its digest differs from the chain head recorded for it (position {head[2]})"
            if chain.version == link.version:
                why += _both_sides(chain)
            self.report.add(Finding("altered", why, dispute_id, link.version, link.position))

    def _in_order(self, dispute_id: UUID, chain: _Chain, link: _Link) -> None:
        if link.version <= chain.version or (chain.ahead and link.version in chain.ahead):
            self.report.add(
                Finding(
                    "reordered",
                    f"version {link.version} stored again after version {chain.version} "
                    f"(position {chain.position})",
                    dispute_id,
                    link.version,
                    link.position,
                )
            )
            return
        if link.version > chain.version + 1:
            if chain.ahead is None:
                chain.ahead = {}
            chain.ahead[link.version] = link
            return
        if chain.ahead:
            early = min(chain.ahead.values(), key=lambda a: a.position)
            self.report.add(
                Finding(
                    "reordered",
                    f"stored after version {early.version} (position {early.position}); "
                    "the chain links of the events out of place are not judged separately",
                    dispute_id,
                    link.version,
                    link.position,
                )
            )
            link.late = True
            for waiting in chain.ahead.values():
                waiting.late = True
        self._link(dispute_id, chain, link)
        self._drain(dispute_id, chain)

    def _drain(self, dispute_id: UUID, chain: _Chain) -> None:
        while chain.ahead and chain.version + 1 in chain.ahead:
            self._link(dispute_id, chain, chain.ahead.pop(chain.version + 1))
        if not chain.ahead:
            chain.ahead = None

    def _link(self, dispute_id: UUID, chain: _Chain, link: _Link) -> None:
        judged = not (link.late or chain.late)
        known = link.prev_hash is not None and chain.digest is not None
        broken = False
        if judged and known and link.prev_hash != chain.digest:
            broken = True
            if chain.version == 0:
                detail = "its prev_hash is not the genesis value of a first event"
                finding = Finding("altered", detail, dispute_id, link.version, link.position)
            else:
                finding = Finding(
                    "altered",
                    f"its digest does not match the prev_hash of version {link.version} "
                    f"(position {link.position}): version {chain.version} was altered, or "
                    f"version {link.version}'s prev_hash was" + _both_sides(chain),
                    dispute_id,
                    chain.version,
                    chain.position,
                )
            self.report.add(finding)
        chain.version, chain.digest, chain.position = link.version, link.digest, link.position
        chain.late, chain.broken_into = link.late, broken

    def _missing(self, dispute_id: UUID, first: int, last: int, nxt: _Link) -> None:
        self.report.add(
            Finding(
                "deleted",
                f"{_span_text(first, last)} missing before version {nxt.version} "
                f"(position {nxt.position})",
                dispute_id,
                first,
            )
        )


def _span_text(first: int, last: int) -> str:
    return f"version {first}" if first == last else f"versions {first}..{last}"


def _both_sides(chain: _Chain) -> str:
    """When the links on both sides of a version break, one edit there explains both."""
    if not chain.broken_into:
        return ""
    return (
        f"; the link into version {chain.version} is broken too, so its own prev_hash "
        "is the likely edit"
    )
