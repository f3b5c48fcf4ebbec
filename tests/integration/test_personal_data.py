"""Personal data: sealed at rest, shown with the key, erased by shredding, never in messages."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from escalation import EscalationEngine, RuleBook
from escalation.adapters.personal_data import (
    ERASED,
    KEY_FILE_VARIABLE,
    MASTER_KEY_VARIABLE,
    MasterKey,
)
from escalation.application.audit.verify import verify
from escalation.entrypoints.cli.service import _tick_counts
from escalation.entrypoints.scheduler.service import EscalationService
from escalation.entrypoints.scheduler.status import read_status
from escalation.errors import IllegalTransition, InvalidInput, StorageError
from tests.helpers import SMALL_RULES, T0, hours

ROOT = Path(__file__).resolve().parents[2]
NAME = "王小明"
PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643-1999's example)
ADDRESS = "黄贝街道文锦社区12栋402"
SUMMARY = "邻居王小明漏水纠纷 canary-summary"
CLAIM = "赔偿装修损失 canary-claim"
NOTE = "双方未到场 canary-note"
CANARIES = (NAME, PHONE, ID_NUMBER, ADDRESS, "canary-summary", "canary-claim", "canary-note")
PEOPLE = [
    {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "address": ADDRESS},
    {"name": "李四", "role": "respondent"},
]


def receive(engine: EscalationEngine, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "unit": "c11",
        "category": "neighbour",
        "source": "walk_in",
        "summary": SUMMARY,
        "claim": CLAIM,
        "location": ADDRESS,
        "people": PEOPLE,
        "received_at": T0,
    }
    values.update(extra)
    return engine.receive(**values)


def history_of_a_case(engine: EscalationEngine) -> Any:
    did = receive(engine)
    engine.mediate(did, outcome="failed", mediator="m", note=NOTE, at=T0 + hours(1))
    engine.escalate(did, reason=f"{NAME}要求上报", actor="clerk", at=T0 + hours(2))
    engine.close(did, outcome="withdrawn", actor="clerk", note=NOTE, at=T0 + hours(3))
    engine.catch_up()
    return did


def sqlite_bytes(path: Path) -> bytes:
    """Every byte SQLite keeps for the store: the file and its write-ahead log."""
    return b"".join(
        Path(str(path) + suffix).read_bytes()
        for suffix in ("", "-wal")
        if Path(str(path) + suffix).exists()
    )


@pytest.fixture
def sqlite_store(small_rules: RuleBook, tmp_path: Path) -> Iterator[tuple[Path, EscalationEngine]]:
    path = tmp_path / "people.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        yield path, engine


def test_the_raw_sqlite_file_holds_none_of_the_personal_values(
    sqlite_store: tuple[Path, EscalationEngine],
) -> None:
    path, engine = sqlite_store
    history_of_a_case(engine)
    raw = sqlite_bytes(path)
    assert b"c11" in raw  # the file is readable bytes: the procedure is there
    for canary in CANARIES:
        assert canary.encode() not in raw, canary


def test_read_models_and_the_default_export_hold_none_of_them(engine: EscalationEngine) -> None:
    did = history_of_a_case(engine)
    with engine._read() as session:
        for table in ("escalation_disputes", "escalation_timeline"):
            rows = repr(session.execute(text(f"SELECT * FROM {table}")).all())
            assert str(did.hex) in rows or str(did) in rows
            for canary in CANARIES:
                assert canary not in rows, (table, canary)
    feed = repr(engine.changes(limit=100))
    assert not any(c in feed for c in CANARIES)


def test_with_the_key_every_read_shows_them_as_given(engine: EscalationEngine) -> None:
    did = history_of_a_case(engine)
    state = engine.get(did)
    assert (state.summary, state.claim, state.location) == (SUMMARY, CLAIM, ADDRESS)
    assert state.people == (
        {
            "name": NAME,
            "phone": PHONE,
            "id_number": ID_NUMBER,
            "address": ADDRESS,
            "role": "applicant",
        },
        {"name": "李四", "role": "respondent"},
    )
    assert state.parties == 2  # the head count follows the people given
    notes = [getattr(e, "note", None) for e in engine.history(did)]
    assert NOTE in notes


def test_without_the_key_nothing_is_shown_half_opened(
    engine: EscalationEngine, small_rules: RuleBook, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = history_of_a_case(engine)
    monkeypatch.delenv(MASTER_KEY_VARIABLE)
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as keyless:
        with pytest.raises(StorageError, match=MASTER_KEY_VARIABLE):
            keyless.get(did)
        before = keyless.changes(limit=1000)
        with pytest.raises(StorageError, match="master key"):
            receive(keyless, summary="another", people=[])
        assert keyless.changes(limit=1000) == before  # nothing written
        assert keyless.queue(unit="c11") == engine.queue(unit="c11")  # procedure needs no key


def test_a_wrong_key_is_named_and_opens_nothing(
    engine: EscalationEngine, small_rules: RuleBook, db_url: str
) -> None:
    did = history_of_a_case(engine)
    other = MasterKey.generate()
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0, master_key=other) as wrong:
        with pytest.raises(StorageError, match="wrapped by master key") as caught:
            wrong.get(did)
        assert not any(c in str(caught.value) for c in CANARIES)


def test_erasure_shreds_the_key_and_keeps_the_procedure(engine: EscalationEngine) -> None:
    did = history_of_a_case(engine)
    figures = engine.figures("2026-03")
    before = [(type(e).__name__, e.occurred_at) for e in engine.history(did)]
    state = engine.erase(did, reason="retention period ended", actor="dpo", at=T0 + hours(5))
    assert state.erased
    after = engine.get(did)
    assert (after.summary, after.claim, after.location, after.people) == (
        ERASED,
        ERASED,
        ERASED,
        (),
    )
    assert (after.unit, after.tier, after.outcome) == ("s1", "street", "withdrawn")
    events = engine.history(did)
    assert [(type(e).__name__, e.occurred_at) for e in events[:-1]] == before
    assert type(events[-1]).__name__ == "Erased"
    assert all(getattr(e, "note", ERASED) in (ERASED, "") for e in events)
    assert engine.figures("2026-03").received == figures.received
    report = verify(engine)
    assert report.ok, report.findings
    with pytest.raises(IllegalTransition, match="erased already"):
        engine.erase(did, reason="again", actor="dpo", at=T0 + hours(6))


def test_an_erased_store_passes_the_standalone_verifier(
    sqlite_store: tuple[Path, EscalationEngine],
) -> None:
    path, engine = sqlite_store
    did = history_of_a_case(engine)
    engine.erase(did, reason="the person's request", actor="dpo", at=T0 + hours(5))
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "tools" / "verify_standalone.py"), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(path) as db:
        wrapped = db.execute("SELECT wrapped, erased_at FROM escalation_data_keys").fetchall()
    assert [w for w, _ in wrapped if w is None] and all(at for w, at in wrapped if w is None)


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({"name": NAME, "id_number": "110105194912310021"}, "id_number"),  # check digit
        ({"name": NAME, "id_number": "11010519491331002X"}, "id_number"),  # 13th month
        ({"name": NAME, "id_number": "1101051949"}, "id_number"),
        ({"name": NAME, "phone": "12345678901"}, "phone"),
        ({"name": NAME, "phone": "139123456789"}, "phone"),
        ({"name": NAME, "role": "judge"}, "role"),
        ({"name": ""}, "name"),
        ({"name": NAME, "email": "x@y"}, "email"),
        ({"phone": PHONE}, "name"),
    ],
)
def test_malformed_people_are_refused_naming_the_field_not_the_value(
    engine: EscalationEngine, person: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"people\.0\.{field}") as caught:
        receive(engine, people=[person])
    message = str(caught.value)
    for value in person.values():
        if len(value) > 4:
            assert value not in message
    assert engine.changes() == []


def test_the_head_count_covers_the_people(engine: EscalationEngine) -> None:
    with pytest.raises(InvalidInput, match="head count"):
        receive(engine, parties=1)
    did = receive(engine, parties=30)
    assert engine.get(did).parties == 30


def test_rotating_the_master_key_rewraps_every_data_key(
    sqlite_store: tuple[Path, EscalationEngine],
    small_rules: RuleBook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, engine = sqlite_store
    did = history_of_a_case(engine)
    new = tmp_path / "new.key"
    cli = [sys.executable, "-m", "escalation", "keys"]
    made = subprocess.run([*cli, "master", str(new)], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    assert new.stat().st_mode & 0o077 == 0
    done = subprocess.run(
        [*cli, "rotate", "--new", str(new), "--db", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "re-wrapped 1 data key " in done.stdout
    with pytest.raises(StorageError, match="rotate"):  # the old key no longer opens them
        EscalationEngine(small_rules, url=f"sqlite:///{path}").get(did)
    monkeypatch.delenv(MASTER_KEY_VARIABLE)
    monkeypatch.setenv(KEY_FILE_VARIABLE, str(new))
    with EscalationEngine(small_rules, url=f"sqlite:///{path}") as rotated:
        assert rotated.get(did).summary == SUMMARY


def test_the_demo_makes_its_own_key_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_VARIABLE)
    store = tmp_path / "escalation-demo.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "escalation",
            "demo",
            "--db",
            f"sqlite:///{store}",
            "--days",
            "2",
            "--per-day",
            "5",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    key = Path(str(store) + ".key")
    assert key.is_file()
    assert f"created the master key file {key}" in done.stdout
    assert len(base64.b64decode(key.read_text())) == 32
    engine = create_engine(f"sqlite:///{store}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM escalation_data_keys")).scalar()
    engine.dispose()


def test_retention_erases_what_was_closed_long_enough_ago(db_url: str) -> None:
    rules = RuleBook.from_yaml(SMALL_RULES + "retention: {personal_data: 30 days after closure}\n")
    with EscalationEngine(rules, url=db_url, clock=lambda: T0 + timedelta(days=60)) as engine:
        old, recent, still_open = (receive(engine, request_id=f"r{n}") for n in range(3))
        engine.close(old, outcome="withdrawn", actor="c", at=T0 + timedelta(days=1))
        engine.close(recent, outcome="withdrawn", actor="c", at=T0 + timedelta(days=40))
        report = engine.erase_due(T0 + timedelta(days=60))
        assert (report.erased, report.kept_plain) == (1, 0)
        assert engine.get(old).erased and engine.get(old).summary == ERASED
        assert engine.get(recent).summary == SUMMARY
        assert engine.get(still_open).summary == SUMMARY
        assert engine.erase_due(T0 + timedelta(days=60)).erased == 0  # once
        assert engine.erase_due(T0 + timedelta(days=80)).erased == 1  # the recent one's turn
        erased = next(e for e in engine.history(old) if type(e).__name__ == "Erased")
        assert (erased.actor, erased.reason) == ("retention", "retention: 30 days after closure")  # type: ignore[attr-defined]


def test_serve_erases_on_its_tick_and_status_says_how_many(db_url: str) -> None:
    rules = RuleBook.from_yaml(SMALL_RULES + "retention: {personal_data: 30 days after closure}\n")
    now = T0 + timedelta(days=60)
    with EscalationEngine(rules, url=db_url, clock=lambda: now) as engine:
        did = receive(engine)
        engine.close(did, outcome="withdrawn", actor="c", at=T0 + timedelta(days=1))
        service = EscalationService(engine)
        service.run_tick()
        status = read_status(engine)
        assert status.last_tick is not None
        assert status.last_tick.detail["erased"] == 1
        assert "erased the personal data of 1" in _tick_counts(status.last_tick)
        assert engine.get(did).erased


def test_an_erased_dispute_takes_no_personal_data_and_writes_nothing(
    engine: EscalationEngine,
) -> None:
    did = receive(engine)
    engine.erase(did, reason="the person's request", actor="dpo", at=T0 + hours(1))
    before = len(engine.history(did))
    with pytest.raises(IllegalTransition, match="was erased; it takes no personal data") as e:
        engine.mediate(did, outcome="failed", mediator="m", note=NOTE, at=T0 + hours(2))
    assert NOTE not in str(e.value)
    assert len(engine.history(did)) == before
    engine.mediate(did, outcome="failed", mediator="m", at=T0 + hours(2))  # procedure goes on
    assert engine.get(did).mediations == 1


def test_an_erasure_elsewhere_is_seen_once_the_key_cache_expires(
    engine: EscalationEngine, small_rules: RuleBook, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    did = receive(engine)
    assert engine.get(did).summary == SUMMARY  # its key is now cached here
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as other:
        other.erase(did, reason="the person's request", actor="dpo", at=T0 + hours(1))
    assert engine.get(did).erased  # the procedure is read fresh from the log
    keyring = engine.store.keyring
    monkeypatch.setattr(keyring, "_opened_since", keyring._opened_since - 61)
    assert engine.get(did).summary == ERASED
