"""Exports: JSON lines round-trip to ``engine.history``; CSV parses, one row per event."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.adapters.log_digests import GENESIS
from escalation.application.audit.export import (
    EVENT_COLUMNS,
    QUEUE_COLUMNS,
    export,
    load_event_records,
)
from escalation.application.audit.timeline import fields_of
from escalation.application.demo import run_demo
from escalation.errors import InvalidInput, UnknownDispute
from tests.helpers import Log, build_log, recomputed_chain


@pytest.fixture(scope="module")
def demo(module_new_db_url: Callable[[], str]) -> Iterator[EscalationEngine]:
    """A few seeded days of the demo on the default rule book: every kind of event."""
    url = module_new_db_url()
    with EscalationEngine(RuleBook.default(), url=url) as engine:
        run_demo(engine, date(2026, 9, 1), days=6, per_day=14, seed=11)
        yield engine


def exported(engine: EscalationEngine, fmt: str = "jsonl", **options: Any) -> str:
    out = io.StringIO()
    export(engine, out, format=fmt, **options)  # type: ignore[arg-type]
    return out.getvalue()


def test_jsonl_round_trip_reproduces_the_history_of_every_dispute(
    demo: EscalationEngine,
) -> None:
    records = list(load_event_records(exported(demo, personal_data=True).splitlines()))
    by_dispute: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_dispute[record["dispute_id"]].append(record)
    assert [r["position"] for r in records] == sorted(r["position"] for r in records)
    assert len(by_dispute) > 50
    kinds = {r["event"] for r in records}
    assert {"Received", "Mediated", "Escalated", "Supervised", "Closed"} <= kinds
    for dispute_id, mine in by_dispute.items():
        history = demo.history(dispute_id)
        chain = recomputed_chain(demo, dispute_id)
        prevs = [GENESIS, *chain[:-1]]
        assert len(mine) == len(history)
        for record, event, digest, prev in zip(mine, history, chain, prevs, strict=True):
            assert record["event"] == type(event).__name__
            assert record["version"] == event.originator_version
            assert record["occurred_at"] == event.occurred_at
            assert record["recorded_at"] == event.recorded_at
            assert record["actor"] == event.actor
            assert record["prev_hash"] == prev
            assert record["fields"] == fields_of(event)  # same values, same types
            assert record["digest"] == digest
            assert record["by_rule"] == event.by_rule
            assert record["rule_id"] == getattr(event, "rule_id", None)


def test_a_default_export_withholds_personal_data(demo: EscalationEngine) -> None:
    records = list(load_event_records(exported(demo).splitlines()))
    received = [r for r in records if r["event"] == "Received"]
    assert received
    assert {r["fields"]["summary"] for r in received} == {"[withheld]"}
    assert {r["fields"]["location"] for r in received} == {"[withheld]"}
    assert all(r["fields"]["people"] == [] for r in received)
    assert {r["fields"]["unit"] for r in received} - {"[withheld]"}  # the procedure stays


def test_exported_times_and_fields_keep_their_types(demo: EscalationEngine) -> None:
    records = load_event_records(exported(demo).splitlines())
    escalated = next(r for r in records if r["event"] == "Escalated")
    due = escalated["fields"]["due_at"]
    assert due.tzinfo is not None and due > escalated["occurred_at"]
    notice, when = escalated["fields"]["schedule"][0]
    assert isinstance(notice, str) and when.tzinfo is not None
    assert escalated["fields"]["rule_id"] == escalated["rule_id"]


def test_csv_has_a_stable_column_set_and_one_row_per_event(demo: EscalationEngine) -> None:
    lines = exported(demo).splitlines()
    rows = list(csv.DictReader(io.StringIO(exported(demo, "csv"))))
    assert len(rows) == len(lines)
    assert tuple(rows[0].keys()) == EVENT_COLUMNS
    for row, line in zip(rows, lines, strict=True):
        record = json.loads(line)
        assert json.loads(row["fields"]) == record["fields"]
        assert (int(row["position"]), row["dispute_id"], int(row["version"])) == (
            record["position"],
            record["dispute_id"],
            record["version"],
        )
        assert row["rule_id"] == (record["rule_id"] or "")


def test_timeline_export_is_one_dispute_with_where_it_stood(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url) as engine:
        ids = build_log(engine)
        text = exported(engine, what="timeline", dispute=ids["stepwise"])
        rows = [json.loads(line) for line in text.splitlines()]
        assert {r["dispute_id"] for r in rows} == {str(ids["stepwise"])}
        assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
        places = [(r["event"], r["unit"], r["tier"]) for r in rows]
        assert places[0] == ("Received", "c11", "community")
        assert places[1][1:] == ("c11", "community")  # RiskAssessed: where it already was
        after = places.index(("Escalated", "s1", "street"))
        assert places[-1] == ("Closed", "s1", "street") and after < len(places) - 1
        with pytest.raises(InvalidInput):
            exported(engine, what="timeline")
        with pytest.raises(UnknownDispute):
            exported(engine, what="timeline", dispute=UUID(int=7))


def test_events_filtered_by_unit_keep_only_events_there(demo: EscalationEngine) -> None:
    rows = [json.loads(line) for line in exported(demo, unit="luohu").splitlines()]
    assert rows and {r["unit"] for r in rows} == {"luohu"}
    assert len(rows) < len(exported(demo).splitlines())


def test_queue_export_is_the_engine_queue(demo: EscalationEngine) -> None:
    queue = demo.queue(tier="street")
    rows = list(csv.DictReader(io.StringIO(exported(demo, "csv", what="queue", tier="street"))))
    assert tuple(rows[0].keys()) == QUEUE_COLUMNS
    assert [UUID(r["dispute_id"]) for r in rows] == [i.dispute_id for i in queue]
    assert [r["colour"] for r in rows] == [i.colour for i in queue]
    lines = exported(demo, what="queue", tier="street").splitlines()
    assert [json.loads(x)["notices"] for x in lines] == [list(i.notices) for i in queue]


def test_an_undecodable_row_is_still_exported(small_rules: RuleBook, tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}") as engine:
        log = Log(engine, path, build_log(engine))
        total = len(exported(engine).splitlines())
        log.set_state("elevated", 2, b"garbage")
        rows = [json.loads(line) for line in exported(engine).splitlines()]
        assert len(rows) == total
        (bad,) = [r for r in rows if "undecodable" in r["fields"]]
        assert (bad["dispute_id"], bad["version"], bad["event"]) == (
            str(log.ids["elevated"]),
            2,
            "Accepted",
        )
