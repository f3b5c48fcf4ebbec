"""Input limits on both databases: what the store accepts, the read models accept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from escalation import EscalationEngine, RuleBook
from escalation.errors import InvalidInput, RequestConflict
from escalation.policies.inputs import LIMITS
from tests.helpers import T0, hours, read_model_rows

RECEIPT: dict[str, Any] = {
    "unit": "c11",
    "category": "family",
    "source": "walk_in",
    "summary": "divorce and custody",
    "parties": 2,
    "amount": 0,
    "received_at": T0,
}


def receive(engine: EscalationEngine, **overrides: Any) -> UUID:
    return engine.receive(**{**RECEIPT, **overrides})


def snapshot(engine: EscalationEngine) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
    engine.catch_up()
    return engine.store.recorder.max_notification_id() or 0, read_model_rows(engine)


# (command, the parameter, how to call it with a value); ``did`` is an open dispute.
Call = Callable[[EscalationEngine, UUID, Any], object]
CALLS: dict[str, tuple[str, Call]] = {
    "receive.summary": ("summary", lambda e, _d, v: receive(e, summary=v)),
    "receive.location": ("location", lambda e, _d, v: receive(e, location=v)),
    "receive.claim": ("claim", lambda e, _d, v: receive(e, claim=v)),
    "receive.actor": ("actor", lambda e, _d, v: receive(e, actor=v)),
    "receive.request_id": ("request_id", lambda e, _d, v: receive(e, request_id=v)),
    "receive.unit": ("unit", lambda e, _d, v: receive(e, unit=v)),
    "mediate.mediator": (
        "mediator",
        lambda e, d, v: e.mediate(d, outcome="failed", mediator=v, at=T0 + hours(1)),
    ),
    "mediate.note": (
        "note",
        lambda e, d, v: e.mediate(d, outcome="failed", mediator="m", note=v, at=T0 + hours(1)),
    ),
    "escalate.reason": ("reason", lambda e, d, v: e.escalate(d, reason=v, actor="a")),
    "escalate.actor": ("actor", lambda e, d, v: e.escalate(d, reason="r", actor=v)),
    "supervise.reason": (
        "reason",
        lambda e, d, v: e.supervise(d, notice="reminder", actor="a", reason=v),
    ),
    "close.note": ("note", lambda e, d, v: e.close(d, outcome="resolved", actor="a", note=v)),
    "close.request_id": (
        "request_id",
        lambda e, d, v: e.close(d, outcome="resolved", actor="a", request_id=v),
    ),
    "summon.reason": (
        "reason",
        lambda e, d, v: e.summon(d, lead="governance_centre", actor="a", reason=v),
    ),
    "summon.actor": ("actor", lambda e, d, v: e.summon(d, lead="governance_centre", actor=v)),
    "assign_leader.leader": (
        "leader",
        lambda e, d, v: e.assign_leader(d, leader=v, plan="p", actor="a"),
    ),
    "assign_leader.plan": (
        "plan",
        lambda e, d, v: e.assign_leader(d, leader="wang", plan=v, actor="a"),
    ),
    "assess.reason": ("reason", lambda e, d, v: e.assess(d, level="high", reason=v, actor="a")),
}
FREE = {"summary", "location", "claim", "note", "reason", "plan"}
LIMIT_OF = {"mediator": "actor"}


@pytest.fixture
def did(engine: EscalationEngine) -> UUID:
    return receive(engine)


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "a\x1bb", "a\x7fb", "a\x85b"])
@pytest.mark.parametrize("call", list(CALLS))
def test_refused_characters_name_the_field_and_write_nothing(
    engine: EscalationEngine, did: UUID, call: str, bad: str
) -> None:
    field, run = CALLS[call]
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match=rf"{field}: .*(not allowed|valid string)"):
        run(engine, did, bad)
    assert snapshot(engine) == before
    engine.tick(T0 + timedelta(days=30))  # the store is still readable and workable
    engine.rebuild()


@pytest.mark.parametrize("call", [c for c in CALLS if CALLS[c][0] in FREE])
def test_free_text_keeps_newlines_and_tabs(engine: EscalationEngine, did: UUID, call: str) -> None:
    _field, run = CALLS[call]
    run(engine, did, "line one\n\tline two")
    engine.rebuild()


@pytest.mark.parametrize("call", [c for c in CALLS if not c.endswith(".unit")])
def test_every_text_field_takes_its_limit_and_refuses_one_more(
    engine: EscalationEngine, did: UUID, call: str
) -> None:
    field, run = CALLS[call]
    limit = LIMITS[LIMIT_OF.get(field, field)]
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match=rf"{field}: .*at most {limit} characters"):
        run(engine, did, "x" * (limit + 1))
    assert snapshot(engine) == before
    run(engine, did, "x" * limit)  # at the limit: the store and the read models take it
    engine.tick(T0 + timedelta(days=30))
    engine.rebuild()
    assert read_model_rows(engine) == snapshot(engine)[1]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e, d: e.escalate(d, reason=123, actor="a"), "reason"),
        (lambda e, d: e.escalate(d, reason="r", actor="a", to_tier=5), "to_tier"),
        (lambda e, d: e.mediate(d, outcome=None, mediator="m"), "outcome"),
        (lambda e, d: e.mediate(d, outcome="failed", mediator=7), "mediator"),
        (lambda e, d: e.mediate(d, outcome="failed", mediator="m", note=b"x"), "note"),
        (lambda e, d: e.supervise(d, notice=1, actor="a"), "notice"),
        (lambda e, d: e.close(d, outcome="resolved", actor=["a"]), "actor"),
        (lambda e, d: e.close(d, outcome="resolved", actor="a", at="tomorrow"), "at"),
        (lambda e, d: e.reopen(d, reason=1.5, actor="a"), "reason"),
        (lambda e, d: e.reopen(d, reason="r", actor="a", request_id=9), "request_id"),
        (lambda e, _d: receive(e, summary=42), "summary"),
        (lambda e, _d: receive(e, parties="2"), "parties"),
        (lambda e, _d: receive(e, unit=None), "unit"),
        (lambda e, _d: receive(e, amount="lots"), "amount"),
        (lambda e, _d: receive(e, amount="5"), "amount"),
        (lambda e, d: e.summon(d, lead=3, actor="a"), "lead"),
        (lambda e, d: e.summon(d, lead="court", participants="court", actor="a"), "participants"),
        (lambda e, d: e.check_in(d, department=None, actor="a"), "department"),
        (lambda e, d: e.report_progress(d, department="x", note=1, actor="a"), "note"),
        (lambda e, d: e.assign_leader(d, leader="w", plan=None, actor="a"), "plan"),
        (lambda e, d: e.assess(d, level=2, reason="r", actor="a"), "level"),
    ],
)
def test_wrong_types_are_invalid_input_naming_the_parameter(
    engine: EscalationEngine,
    did: UUID,
    call: Callable[[EscalationEngine, UUID], object],
    field: str,
) -> None:
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match=rf"{field}: "):
        call(engine, did)
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(2200, 1, 1, tzinfo=UTC),
        datetime(1999, 1, 1, tzinfo=UTC),
    ],
)
def test_out_of_range_times_are_refused(
    engine: EscalationEngine, did: UUID, when: datetime
) -> None:
    before = snapshot(engine)
    with pytest.raises(InvalidInput, match="2000-01-01 and 2200-01-01"):
        receive(engine, received_at=when)
    with pytest.raises(InvalidInput, match="2000-01-01 and 2200-01-01"):
        engine.mediate(did, outcome="failed", mediator="m", at=when)
    with pytest.raises(InvalidInput, match="2000-01-01 and 2200-01-01"):
        engine.tick(when)
    assert snapshot(engine) == before


def test_a_command_dated_beyond_the_skew_is_refused(small_rules: RuleBook, db_url: str) -> None:
    with EscalationEngine(
        small_rules, url=db_url, clock=lambda: T0, max_skew=timedelta(days=1)
    ) as engine:
        did = receive(engine)
        typo = T0.replace(year=2062)
        before = snapshot(engine)
        with pytest.raises(InvalidInput, match=r"at 2062-03-02T01:00:00\+00:00 is more than 1 day"):
            engine.mediate(did, outcome="failed", mediator="m", at=typo)
        with pytest.raises(InvalidInput, match=r"received_at 2062.*clock \(2026-03-02T01:00:00"):
            receive(engine, received_at=typo)
        with pytest.raises(InvalidInput, match=r"now 2062"):
            engine.tick(typo)
        assert snapshot(engine) == before
        engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(23))  # within the skew
        engine.tick(T0 + hours(24))


def test_the_system_clock_engine_refuses_a_day_ahead_by_default(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url) as engine:
        assert engine.max_skew == timedelta(days=1)
        ahead = datetime.now(UTC) + timedelta(days=2)
        with pytest.raises(InvalidInput, match="after the clock"):
            receive(engine, received_at=ahead)
        with pytest.raises(InvalidInput, match="after the clock"):
            engine.tick(ahead)


def test_a_request_id_reused_with_another_payload_is_a_conflict(
    engine: EscalationEngine, did: UUID
) -> None:
    first = engine.mediate(did, outcome="failed", mediator="m", note="n", request_id="r-1")
    again = engine.mediate(did, outcome="failed", mediator="m", note="n", request_id="r-1")
    assert again == first  # the same request again: its first result
    before = snapshot(engine)
    with pytest.raises(
        RequestConflict, match=r"'r-1' was already used by Mediated .*other values \(note\)"
    ):
        engine.mediate(did, outcome="failed", mediator="m", note="x", request_id="r-1")
    with pytest.raises(RequestConflict, match=r"'r-1' was already used by Mediated.*for close"):
        engine.close(did, outcome="resolved", actor="a", request_id="r-1")
    assert snapshot(engine) == before


def test_a_receipt_request_id_reused_with_another_receipt_is_a_conflict(
    engine: EscalationEngine,
) -> None:
    did = receive(engine, request_id="case-7")
    assert receive(engine, request_id="case-7") == did
    before = snapshot(engine)
    with pytest.raises(RequestConflict, match=r"'case-7' was already used by Received.*summary"):
        receive(engine, request_id="case-7", summary="another dispute")
    with pytest.raises(RequestConflict, match=r"'case-7' was already used by Received.*for close"):
        engine.close(did, outcome="resolved", actor="a", request_id="case-7")
    assert snapshot(engine) == before


def test_a_lost_race_without_at_is_retried_at_the_clocks_new_time(
    small_rules: RuleBook, db_url: str
) -> None:
    now = [T0]
    with (
        EscalationEngine(small_rules, url=db_url, clock=lambda: now[0]) as loser,
        EscalationEngine(small_rules, url=db_url, clock=lambda: now[0]) as winner,
    ):
        did = receive(loser)
        save = loser.store.save
        raced = []

        def racing_save(*aggregates: Any) -> Any:
            if not raced:  # another writer gets in first, a minute later
                raced.append(True)
                now[0] = T0 + timedelta(minutes=1)
                winner.mediate(did, outcome="failed", mediator="w")
                now[0] = T0 + timedelta(minutes=2)
            return save(*aggregates)

        loser.store.save = racing_save  # type: ignore[method-assign]
        state = loser.close(did, outcome="resolved", actor="l")
        assert raced
        assert state.status == "closed"
        assert [e.occurred_at for e in loser.history(did)][-1] == T0 + timedelta(minutes=2)


def test_a_progress_note_takes_its_limit_and_refuses_one_more(
    engine: EscalationEngine, did: UUID
) -> None:
    engine.summon(did, lead="governance_centre", actor="a")
    engine.check_in(did, department="governance_centre", actor="governance_centre/x")
    before = snapshot(engine)
    limit = LIMITS["note"]
    with pytest.raises(InvalidInput, match=rf"note: .*at most {limit} characters"):
        engine.report_progress(
            did, department="governance_centre", note="x" * (limit + 1), actor="a"
        )
    assert snapshot(engine) == before
    engine.report_progress(did, department="governance_centre", note="x" * limit, actor="a")
    engine.rebuild()
    assert read_model_rows(engine) == snapshot(engine)[1]
