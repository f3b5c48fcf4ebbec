"""Bulk import decides exactly as live commands would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.application.importer import DisputeRecord, Receipt, import_disputes
from escalation.errors import InvalidInput
from escalation.policies.facts import Closure, ManualEscalation, Mediation
from tests.helpers import T0, hours


def records() -> list[DisputeRecord]:
    def receipt(n: int, **kw: object) -> Receipt:
        base: dict[str, object] = {
            "unit": ("c11", "c12", "c21")[n % 3],
            "category": "family",
            "source": "walk_in",
            "summary": f"case {n}",
            "received_at": T0 + hours(n),
            "request_id": f"case-{n}",
        }
        base.update(kw)
        return Receipt(**base)  # type: ignore[arg-type]

    return [
        DisputeRecord(receipt(0)),  # untouched: ladder and deadline escalations by `until`
        DisputeRecord(receipt(1), [Mediation(T0 + hours(3), "m", outcome="resolved")]),
        DisputeRecord(
            receipt(2),
            [
                Mediation(T0 + hours(4), "m", outcome="failed"),
                Mediation(T0 + hours(5), "m", outcome="failed"),
            ],
        ),
        DisputeRecord(receipt(3, category="wage_arrears", parties=40)),  # elevated at receipt
        DisputeRecord(
            receipt(4),
            [
                ManualEscalation(T0 + hours(6), "lead", reason="hard"),
                Closure(T0 + hours(80), "s", outcome="agreement"),
            ],
        ),
    ]


def live(engine: EscalationEngine, recs: list[DisputeRecord], until: object) -> None:
    for rec in recs:
        r = rec.receipt
        did = engine.receive(
            unit=r.unit,
            category=r.category,
            source=r.source,
            summary=r.summary,
            parties=r.parties,
            amount=r.amount,
            received_at=r.received_at,
            request_id=r.request_id,
            actor=r.actor,
        )
        for f in rec.facts:
            if isinstance(f, Mediation):
                engine.mediate(did, outcome=f.outcome, mediator=f.actor, at=f.at)
            elif isinstance(f, ManualEscalation):
                engine.escalate(did, reason=f.reason, actor=f.actor, at=f.at)
            elif isinstance(f, Closure):
                engine.close(did, outcome=f.outcome, actor=f.actor, at=f.at)
    engine.tick(until)  # type: ignore[arg-type]


def comparable(engine: EscalationEngine) -> dict[str, list[dict[str, object]]]:
    out = {}
    ids = sorted({e.originator_id for e in _all_events(engine)})
    for did in ids:
        out[str(did)] = [dict(vars(e)) for e in engine.history(did)]
    return out


def _all_events(engine: EscalationEngine) -> list[object]:
    return [
        engine.store.mapper.to_domain_event(n)
        for n in engine.store.recorder.select_notifications(start=1, limit=100_000)
    ]


def test_import_gives_the_same_history_as_live_commands(
    small_rules: RuleBook, new_db_url: Callable[[], str]
) -> None:
    until = T0 + timedelta(days=20)
    fixed = lambda: T0  # noqa: E731 - recorded_at is part of each event: keep it equal
    live_url, import_url = new_db_url(), new_db_url()
    with EscalationEngine(small_rules, url=live_url, clock=fixed) as a:
        live(a, records(), until)
        expected = comparable(a)
    with EscalationEngine(small_rules, url=import_url, clock=fixed) as b:
        report = import_disputes(b, records(), until=until, batch=2)
        assert (report.disputes, report.skipped, report.errors) == (5, 0, [])
        assert comparable(b) == expected
        assert report.events == sum(len(v) for v in expected.values())
        imported_queue = [(i.dispute_id, i.unit, i.due_at) for i in b.queue()]
    with EscalationEngine(small_rules, url=live_url, clock=fixed) as a:
        # The read models see imported disputes exactly like live ones.
        assert imported_queue == [(i.dispute_id, i.unit, i.due_at) for i in a.queue()]
        assert imported_queue  # something is still open to compare


def test_reimport_skips_what_is_there(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        first = import_disputes(e, records()[:3])
        again = import_disputes(e, records(), batch=10)
        assert first.disputes == 3
        assert (again.disputes, again.skipped) == (2, 3)
        stored = e.store.recorder.select_notifications(start=1, limit=10_000)
        assert len(stored) == first.events + again.events  # ids may have gaps: count rows


def test_a_bad_record_is_named(small_rules: RuleBook, db_url: str) -> None:
    bad = [
        *records()[:2],
        DisputeRecord(Receipt("nowhere", "family", "walk_in", "x", T0, request_id="b")),
    ]
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        with pytest.raises(InvalidInput, match=r"record 3 \(b\): unknown unit 'nowhere'"):
            import_disputes(e, bad, batch=100)
        assert e.projections.head() == 0  # the batch in progress was not written
        report = import_disputes(e, bad, skip_invalid=True)
        assert report.disputes == 2 and len(report.errors) == 1


def test_worker_processes_write_what_one_process_writes(
    small_rules: RuleBook, new_db_url: Callable[[], str]
) -> None:
    until = T0 + timedelta(days=20)
    many = [
        DisputeRecord(
            Receipt(
                unit=("c11", "c12", "c21")[n % 3],
                category=("family", "wage_arrears")[n % 2],
                source="walk_in",
                summary=f"case {n}",
                received_at=T0 + hours(n),
                parties=1 + n % 40,
                request_id=f"many-{n}",
            ),
            [Mediation(T0 + hours(n + 2), "m", outcome="failed")] if n % 3 == 0 else [],
        )
        for n in range(60)
    ]
    bad = DisputeRecord(Receipt("nowhere", "family", "walk_in", "x", T0, request_id="bad"))
    fixed = lambda: T0  # noqa: E731
    seen: list[int] = []
    with EscalationEngine(small_rules, url=new_db_url(), clock=fixed) as one:
        alone = import_disputes(one, [*many, bad], until=until, batch=7, skip_invalid=True)
        expected = comparable(one)
    with EscalationEngine(small_rules, url=new_db_url(), clock=fixed) as two:
        report = import_disputes(
            two,
            [*many, bad],
            until=until,
            batch=7,
            skip_invalid=True,
            jobs=2,
            progress=seen.append,
        )
        assert comparable(two) == expected
    assert (report.disputes, report.events, report.errors) == (
        alone.disputes,
        alone.events,
        alone.errors,
    )
    assert report.errors[0].startswith("record 61 (bad): unknown unit 'nowhere'")
    assert seen == sorted(seen) and seen[-1] == 61


def test_a_bad_record_stops_worker_processes_too(small_rules: RuleBook, db_url: str) -> None:
    bad = [
        *records(),
        DisputeRecord(Receipt("nowhere", "family", "walk_in", "x", T0, request_id="b")),
        *records(),
    ]
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        with pytest.raises(InvalidInput, match=r"record 6 \(b\): unknown unit"):
            import_disputes(e, bad, batch=5, jobs=2)
        assert e.projections.head() > 0  # the first batch was written before it
        assert len({n.originator_id for n in e.store.recorder.select_notifications(1, 1000)}) == 5


def test_batch_and_jobs_must_be_positive(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(small_rules, url=db_url) as e:
        with pytest.raises(InvalidInput, match="at least 1"):
            import_disputes(e, records(), jobs=0)
        with pytest.raises(InvalidInput, match="at least 1"):
            import_disputes(e, records(), batch=0)


def test_a_reused_request_id_with_another_record_is_a_conflict(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as e:
        first = import_disputes(e, records()[:3])
        changed = [
            DisputeRecord(replace(r.receipt, summary="another dispute"), r.facts)
            if r.receipt.request_id == "case-1"
            else r
            for r in records()
        ]
        again = import_disputes(e, changed, batch=10)
        assert first.disputes == 3
        assert (again.disputes, again.skipped) == (2, 2)
        assert len(again.errors) == 1
        assert "'case-1' was already used by Received" in again.errors[0]
        assert "other values (summary)" in again.errors[0]  # named, never shown: personal
        assert "another dispute" not in again.errors[0]
