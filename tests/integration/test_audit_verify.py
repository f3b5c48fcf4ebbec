"""Tamper evidence: edit stored rows directly in the SQLite file; ``verify`` must say where."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.application.audit import VerifyReport, verify, verify_dispute
from projections.audit import AuditProjection
from projections.disputes import DisputesProjection
from projections.runner import ProjectionRunner
from tests.helpers import T0, Log, build_log


@pytest.fixture
def log(small_rules: RuleBook, tmp_path: Path) -> Iterator[Log]:
    path = tmp_path / "audit.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        yield Log(engine, path, build_log(engine))


def chain_findings(report: VerifyReport) -> set[tuple[str, UUID | None, int | None]]:
    return {(f.kind, f.dispute_id, f.version) for f in report.findings if f.kind != "digest"}


def digest_spans(report: VerifyReport) -> list[tuple[int, int]]:
    return [f.span for f in report.findings if f.kind == "digest" and f.span is not None]


def test_a_clean_log_verifies_clean(log: Log) -> None:
    reached: list[tuple[int, int]] = []
    report = verify(log.engine, progress=lambda at, last: reached.append((at, last)))
    total = sum(log.versions(n) for n in log.ids)
    assert report.ok, [str(f) for f in report.findings]
    assert (report.events, report.disputes, report.uncovered) == (total, 4, 0)
    assert report.checkpoints >= 1 and report.covered_to == total
    assert reached[-1] == (total, total)
    assert all(verify_dispute(log.engine, d).ok for d in log.ids.values())


def test_a_changed_field_in_the_middle_of_a_chain_is_named(log: Log) -> None:
    def add_note(state: dict[str, Any]) -> None:
        state["note"] = "settled in full"  # it said nothing

    log.edit("stepwise", 4, add_note)  # the first Mediated event
    report = verify(log.engine)
    assert chain_findings(report) == {("altered", log.ids["stepwise"], 4)}
    position = log.position("stepwise", 4)
    assert digest_spans(report) == [(0, report.covered_to)]
    assert next(f for f in report.findings if f.kind == "altered").position == position
    assert not verify_dispute(log.engine, log.ids["stepwise"]).ok
    assert verify_dispute(log.engine, log.ids["reopened"]).ok


def test_a_changed_last_event_is_caught_by_the_recorded_head(log: Log) -> None:
    last = log.versions("reopened")

    def outcome(state: dict[str, Any]) -> None:
        state["outcome"] = "withdrawn"

    log.edit("reopened", last, outcome)
    report = verify(log.engine)
    assert chain_findings(report) == {("altered", log.ids["reopened"], last)}
    assert len(digest_spans(report)) == 1


def test_a_deleted_event_in_the_middle_is_named(log: Log) -> None:
    log.delete("stepwise", 5)
    report = verify(log.engine)
    assert chain_findings(report) == {("deleted", log.ids["stepwise"], 5)}
    (finding,) = [f for f in report.findings if f.kind == "deleted"]
    assert "version 5 missing before version 6" in finding.detail
    (span,) = [f for f in report.findings if f.kind == "digest"]
    assert f"{report.events} rows there now, {report.events + 1} when checkpointed" in span.detail


def test_a_deleted_last_event_is_named_from_the_head(log: Log) -> None:
    last = log.versions("deadline")
    log.delete("deadline", last)
    report = verify(log.engine)
    assert chain_findings(report) == {("deleted", log.ids["deadline"], last)}


def test_a_dispute_deleted_entirely_is_named(log: Log) -> None:
    log.sql("DELETE FROM escalation_events WHERE originator_id = ?", log.ids["elevated"].bytes)
    report = verify(log.engine)
    assert chain_findings(report) == {("deleted", log.ids["elevated"], 1)}
    assert report.disputes == 3


def test_swapped_versions_are_reported_as_reordered(log: Log) -> None:
    log.swap("stepwise", 4, 5)
    report = verify(log.engine)
    found = chain_findings(report)
    assert ("reordered", log.ids["stepwise"], 4) in found
    assert {d for _, d, _ in found} == {log.ids["stepwise"]}
    (reordered,) = [f for f in report.findings if f.kind == "reordered"]
    assert reordered.position == log.position("stepwise", 4)  # where version 4 now is
    assert f"stored after version 5 (position {log.position('stepwise', 5)})" in reordered.detail


def test_corrupt_bytes_are_caught_by_the_seal_without_decoding(log: Log) -> None:
    log.set_state("elevated", 2, b"\x00\xff not json")
    report = verify(log.engine)
    assert chain_findings(report) == {("altered", log.ids["elevated"], 2)}
    assert len(digest_spans(report)) == 1


def test_the_same_json_in_other_bytes_is_caught_by_the_seal(log: Log) -> None:
    # Decodes to the very same event: scheme 1 could not see this; scheme 2 hashes bytes.
    where = "WHERE originator_id = ? AND originator_version = ?"
    key = (log.ids["reopened"].bytes, 2)
    (raw,) = log.sql(f"SELECT state FROM escalation_events {where}", *key)[0]
    log.set_state("reopened", 2, b" " + raw)
    report = verify(log.engine)
    assert chain_findings(report) == {("altered", log.ids["reopened"], 2)}
    assert digest_spans(report) == [(0, report.covered_to)]


def test_the_newest_row_deleted_with_its_seal_is_caught_by_the_log_head(log: Log) -> None:
    (newest,) = log.sql("SELECT max(id) FROM escalation_events")[0]
    log.sql("DELETE FROM escalation_events WHERE id = ?", newest)
    log.sql("DELETE FROM escalation_chain WHERE position = ?", newest)
    log.engine.rebuild("audit")  # even with the audit record rebuilt over what is left
    report = verify(log.engine)
    assert chain_findings(report) == set()
    (finding,) = report.findings
    assert finding.kind == "digest" and finding.span == (newest - 1, newest)
    assert "rows there now" in finding.detail


def test_the_digest_finding_names_the_first_span_that_diverges(
    small_rules: RuleBook, tmp_path: Path
) -> None:
    path = tmp_path / "spans.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        # Checkpoints every 5 rows instead of every 1000, to see spans in a small log.
        engine.projections = ProjectionRunner(
            engine.store, [DisputesProjection(), AuditProjection(every=5)], page_size=7
        )
        log = Log(engine, path, build_log(engine))
        total = sum(log.versions(n) for n in log.ids)
        assert verify(engine).checkpoints == total // 5 + (1 if total % 5 else 0)
        target = log.position("reopened", 3)
        log.edit("reopened", 3, lambda s: s.update(actor="someone else"))
        report = verify(engine)
        start = (target - 1) // 5 * 5
        assert digest_spans(report) == [(start, start + 5)]
        assert start < target <= start + 5


def test_rows_not_yet_projected_are_covered_by_the_log_head(log: Log) -> None:
    did = log.ids["deadline"]
    projected = verify(log.engine).covered_to
    log.engine.supervise(did, notice="prompt", actor="lead", at=T0 + timedelta(days=3))
    log.engine.supervise(did, notice="supervision", actor="lead", at=T0 + timedelta(days=3))
    clean = verify(log.engine)
    assert clean.ok and clean.uncovered == 0 and clean.covered_to == projected + 2
    last = log.versions("deadline")
    log.edit("deadline", last - 1, lambda s: s.update(notice="reminder"))
    report = verify(log.engine)
    assert report.uncovered == 0
    assert chain_findings(report) == {("altered", did, last - 1)}
    # The projected part is intact; the span up to the head is not.
    assert digest_spans(report) == [(projected, projected + 2)]


def test_a_row_inserted_after_the_head_is_unexpected(log: Log) -> None:
    (top,) = log.sql("SELECT max(id) FROM escalation_events")[0]
    oid, version, topic, state = log.sql(
        "SELECT originator_id, originator_version, topic, state FROM escalation_events "
        "WHERE id = ?",
        top,
    )[0]
    log.sql(
        "INSERT INTO escalation_events (id, originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?, ?)",
        top + 1,
        oid,
        version + 1,
        topic,
        state,
    )
    report = verify(log.engine)
    assert report.uncovered == 1
    assert ("unexpected", UUID(bytes=oid), version + 1) in chain_findings(report)


def test_an_edited_seal_breaks_its_link_and_names_its_own_event(log: Log) -> None:
    position = log.position("stepwise", 4)
    log.sql("UPDATE escalation_chain SET prev = ? WHERE position = ?", "ab" * 32, position)
    report = verify(log.engine)
    did = log.ids["stepwise"]
    assert chain_findings(report) == {("altered", did, 3), ("altered", did, 4)}
    (own,) = [f for f in report.findings if f.version == 4]
    assert "the record or its seal was edited" in own.detail
    assert digest_spans(report) == []  # the rows themselves are as written


def test_an_event_given_another_type_is_caught(log: Log) -> None:
    # A Mediated event relabelled as Closed (same fields) still decodes, as a lie.
    log.sql(
        "UPDATE escalation_events SET topic = ? WHERE originator_id = ? AND originator_version = ?",
        "escalation.aggregates.dispute:Dispute.Closed",
        log.ids["stepwise"].bytes,
        5,
    )
    report = verify(log.engine)
    assert ("altered", log.ids["stepwise"], 5) in chain_findings(report)
