"""The stored log's names and versions are a contract (docs/log-format.md)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from escalation import EscalationEngine, RuleBook
from escalation.adapters.store import DisputeLog, offline_mapper
from escalation.aggregates.catalogue import (
    LEGACY_TOPICS,
    SINCE_STABLE_NAMES,
    STORED_CLASSES,
    TOPICS,
    class_versions,
)
from escalation.aggregates.dispute import Dispute
from escalation.errors import StorageError
from tests.helpers import LEGACY_STATE, LEGACY_TOPIC, T0, build_log, hours

#: Every stored name and class version this code writes. Changing this set is a
#: change to the log format: old readers, auditors' scripts and the standalone
#: verifier all depend on it. Add names; never rename or remove one.
WRITTEN = {
    "escalation/Dispute": 1,
    "escalation/Dispute.Received": 3,
    "escalation/Dispute.RiskAssessed": 2,
    "escalation/Dispute.Routed": 2,
    "escalation/Dispute.Mediated": 3,
    "escalation/Dispute.Escalated": 3,
    "escalation/Dispute.Supervised": 3,
    "escalation/Dispute.Closed": 3,
    "escalation/Dispute.Reopened": 3,
    "escalation/Dispute.Erased": 1,
    "escalation/Dispute.RulesApplied": 2,
    "escalation/Dispute.Summoned": 2,
    "escalation/Dispute.CheckedIn": 2,
    "escalation/Dispute.ProgressReported": 2,
    "escalation/Dispute.LeaderRequired": 2,
    "escalation/Dispute.LeaderAssigned": 2,
    "escalation/Dispute.Assessed": 2,
    "escalation/Dispute.Notified": 2,
    "escalation/Dispute.ReviewDecided": 2,
    "escalation/Dispute.Accepted": 2,
    "escalation/Dispute.Declined": 2,
    "escalation/Dispute.FollowedUp": 2,
    "escalation/Dispute.Paused": 2,
    "escalation/Dispute.Resumed": 2,
    "escalation/Dispute.Remanded": 2,
    "escalation/RuleBookLog": 1,
    "escalation/RuleBookLog.Opened": 1,
    "escalation/RuleBookLog.Stored": 1,
    "escalation/RuleBookLog.Activated": 1,
}


def test_the_stored_names_and_versions_are_exactly_these() -> None:
    assert class_versions() == WRITTEN
    for topic, cls in TOPICS.items():
        assert get_topic(cls) == topic  # what eventsourcing writes for the class


def test_every_legacy_name_resolves_to_its_class() -> None:
    DisputeLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})  # registers them
    # Classes added after stable names never had a module path.
    assert set(LEGACY_TOPICS.values()) == set(STORED_CLASSES) - set(SINCE_STABLE_NAMES)
    for topic, cls in LEGACY_TOPICS.items():
        assert topic.startswith("escalation.aggregates.")
        assert resolve_topic(topic) is cls


def test_a_log_written_now_uses_only_these_names(small_rules: RuleBook, tmp_path: Path) -> None:
    path = tmp_path / "names.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        build_log(engine)
    with sqlite3.connect(path) as db:
        events = {t for (t,) in db.execute("SELECT DISTINCT topic FROM escalation_events")}
        books = {t for (t,) in db.execute("SELECT DISTINCT topic FROM escalation_rulebooks")}
        known = dict(db.execute("SELECT topic, class_version FROM escalation_log_format"))
    db.close()
    assert events | books <= set(WRITTEN)
    assert {"escalation/Dispute.Received", "escalation/Dispute.Escalated"} <= events
    assert known == WRITTEN


def test_a_version_1_receipt_is_upcast() -> None:
    mapper = offline_mapper()
    event = mapper.to_domain_event(StoredEvent(UUID(int=7), 1, LEGACY_TOPIC, LEGACY_STATE))
    assert isinstance(event, Dispute.Received)
    assert event.claim == "" and event.people == [] and "prev_hash" not in vars(event)
    assert event.summary == '噪音与漏水纠纷 "quoted"'
    # Written again, it is version 3 under its stable name, its personal fields sealed.
    again = mapper.to_stored_event(event)
    assert again.topic == "escalation/Dispute.Received"
    assert b'"class_version":3' in again.state and b"prev_hash" not in again.state
    assert "噪音".encode() not in again.state and b'"$sealed"' in again.state
    assert mapper.to_domain_event(again).summary == event.summary  # its key still pending
    assert event.acceptance_due_at is None  # an old receipt was accepted on receipt


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def written(small_rules: RuleBook, tmp_path: Path) -> Path:
    path = tmp_path / "future.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        engine.receive(unit="c11", category="family", source="walk_in", summary="x", received_at=T0)
    return path


def test_a_store_from_a_newer_version_is_refused_on_open(
    written: Path, small_rules: RuleBook
) -> None:
    with sqlite3.connect(written) as db:
        db.execute("INSERT INTO escalation_log_format VALUES ('escalation/Dispute.FromAfar', 1)")
        db.execute(
            "UPDATE escalation_log_format SET class_version = 99 "
            "WHERE topic = 'escalation/Dispute.Mediated'"
        )
    db.close()
    before = file_hash(written)
    with pytest.raises(StorageError) as caught:
        EscalationEngine(small_rules, url=f"sqlite:///{written}", clock=lambda: T0)
    message = str(caught.value)
    assert "escalation/Dispute.FromAfar (version 1, unknown here)" in message
    known = WRITTEN["escalation/Dispute.Mediated"]
    assert f"escalation/Dispute.Mediated (version 99; this code reads up to {known})" in message
    assert "newer version of escalation" in message
    assert file_hash(written) == before  # nothing read into, nothing written


def test_a_record_of_a_newer_class_version_is_refused_on_read(
    written: Path, small_rules: RuleBook
) -> None:
    with sqlite3.connect(written) as db:
        (state,) = db.execute(
            "SELECT state FROM escalation_events WHERE originator_version = 1"
        ).fetchone()
        newer = state.replace(b'"class_version":3', b'"class_version":99')
        db.execute("UPDATE escalation_events SET state = ? WHERE originator_version = 1", (newer,))
        (oid,) = db.execute("SELECT originator_id FROM escalation_events LIMIT 1").fetchone()
    db.close()
    with EscalationEngine(small_rules, url=f"sqlite:///{written}", clock=lambda: T0) as engine:
        with pytest.raises(StorageError, match="class version 99; this version of escalation"):
            engine.get(UUID(bytes=oid))
        with pytest.raises(StorageError, match="class version 99"):
            engine.mediate(UUID(bytes=oid), outcome="failed", mediator="m", at=T0 + hours(1))


def test_a_record_under_an_unknown_name_is_refused_on_read(
    written: Path, small_rules: RuleBook
) -> None:
    with sqlite3.connect(written) as db:
        db.execute(
            "UPDATE escalation_events SET topic = 'escalation/Dispute.Teleported' "
            "WHERE originator_version = 2"
        )
        (oid,) = db.execute("SELECT originator_id FROM escalation_events LIMIT 1").fetchone()
    db.close()
    engine = EscalationEngine(small_rules, url=f"sqlite:///{written}", clock=lambda: T0)
    with engine, pytest.raises(StorageError, match=r"'escalation/Dispute\.Teleported', a name"):
        engine.history(UUID(bytes=oid))
