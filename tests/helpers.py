"""Plain helpers shared by the tests: times, rule-book text, logs to tamper with.

Fixtures and pytest hooks live in ``tests/conftest.py``; everything here is an
ordinary name a test module imports (``from tests.helpers import T0, hours``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import select

from escalation import EscalationEngine
from escalation.adapters.log_digests import GENESIS, advance, record_digest
from escalation.application.audit.log import dispute_rows
from projections.registry import all_projections

# A small organisation with a calendar-days calendar, so expected deadlines
# can be worked out by hand: limits 2 / 4 / 8 days.
SMALL_RULES = """
version: 1
calendar: calendar-days
categories: [wage_arrears, family, neighbour, debt, other]
sources: [walk_in, grid_patrol, hotline_12345, petition, police_referral]
tiers:
  - name: community
    handle_within: 2 days
    max_mediation_attempts: 2
    notices:
      - {at: 50%, notice: reminder}
      - {at: 75%, notice: warning}
  - name: street
    handle_within: 4 days
    max_mediation_attempts: 3
    notices:
      - {at: 50%, notice: prompt}
      - {at: 100%, notice: supervision}
  - name: district
    handle_within: 8 days
    notices:
      - {at: 50%, notice: reminder}
      - {at: 100%, notice: supervision}
units:
  - {id: d1, name: District One, tier: district}
  - {id: s1, name: Street One, tier: street, parent: d1}
  - {id: s2, name: Street Two, tier: street, parent: d1}
  - {id: c11, name: Community 1-1, tier: community, parent: s1}
  - {id: c12, name: Community 1-2, tier: community, parent: s1}
  - {id: c21, name: Community 2-1, tier: community, parent: s2}
risk:
  - {id: mass-wage, when: 'category == "wage_arrears" && (parties >= 30 || amount >= 500000.0)', level: high}
  - {id: repeat, when: 'reopened >= 2', level: high}
  - {id: many, when: 'parties >= 10', level: medium}
elevate:
  - {id: high-risk, when: 'risk == "high"', to: district}
  - {id: many-at-community, when: 'parties >= 10 && tier == "community"', to: street}
routing:
  - {id: petition, when: 'source == "petition"', department: petition_office}
  - {id: wages, when: 'category == "wage_arrears"', department: human_resources_bureau}
  - {id: rest, when: 'true', department: governance_centre}
"""

#: The suite's master key (base64 of 32 bytes), for personal data at rest.
TEST_MASTER_KEY = "dGVzdCBtYXN0ZXIga2V5IG9mIHRoZSBzdWl0ZSAhISE="
# The small rules with the casework sections: departments, summons, leaders.
CASEWORK_RULES = (
    SMALL_RULES
    + """
departments:
  - {id: petition_office, name: 信访局, english: Petition office}
  - {id: human_resources_bureau, name: 人社局}
  - {id: governance_centre, name: 综治中心}
  - {id: court, name: 法院}
summon:
  check_in_within: 1 day
  feedback_every: 2 days
  on_routing: [petition_office]
leaders:
  required_when: 'risk == "high"'
  within: 1 day
  people:
    - {id: wang, name: 王书记}
    - {id: li, name: 李主任}
"""
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# A Received event as commit 531e6f3 stored it (scheme 1: the chain in ``prev_hash``).
LEGACY_TOPIC = "escalation.aggregates.dispute:Dispute.Received"
LEGACY_STATE = (
    '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T08:30:00+08:00"},'
    '"originator_topic":"escalation.aggregates.dispute:Dispute","actor":"import",'
    '"recorded_at":{"_type_":"datetime_iso","_data_":"2026-03-02T01:02:03.456789+00:00"},'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"unit":"donghu","tier":"street","category":"neighbour","source":"walk_in","parties":2,'
    '"amount":6138.19,"summary":"噪音与漏水纠纷 \\"quoted\\"","location":"","request_id":null,'
    '"due_at":{"_type_":"datetime_iso","_data_":"2026-03-23T16:00:00+00:00"},'
    '"schedule":[["reminder",{"_type_":"datetime_iso","_data_":"2026-03-12T20:20:30+00:00"}],'
    '["escalate",{"_type_":"datetime_iso","_data_":"2026-03-23T16:00:00+00:00"}]],'
    '"rules_version":"66f2fe11b8e50e8c"}'
).encode()


def read_model_rows(engine: EscalationEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, in primary-key order (to compare stores)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine._read() as session:
        for projection in all_projections():
            for table in projection.tables:
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [
                    tuple(r) for r in session.execute(select(table).order_by(*order))
                ]
    return out


def recomputed_chain(engine: EscalationEngine, dispute_id: Any) -> list[str]:
    """The dispute's chain digests recomputed from its stored records (scheme 2), in order.

    Independent of the seals the recorder wrote: a test compares the two.
    """
    digests, prev = [], GENESIS
    for row in sorted(dispute_rows(engine.store, dispute_id), key=lambda r: r.version):
        prev = record_digest(row.dispute_id, row.version, row.stored.topic, row.stored.state, prev)
        digests.append(prev)
    return digests


@dataclass
class Log:
    """A small log of four disputes with every kind of event, on a SQLite file."""

    engine: EscalationEngine
    path: Path
    ids: dict[str, UUID]

    def versions(self, name: str) -> int:
        return len(self.engine.history(self.ids[name]))

    def sql(self, statement: str, *args: Any) -> list[Any]:
        with sqlite3.connect(self.path) as db:
            rows = db.execute(statement, args).fetchall()
        db.close()
        return rows

    def position(self, name: str, version: int) -> int:
        rows = self.sql(
            "SELECT id FROM escalation_events WHERE originator_id = ? AND originator_version = ?",
            self.ids[name].bytes,
            version,
        )
        return int(rows[0][0])

    def edit(self, name: str, version: int, change: Callable[[dict[str, Any]], None]) -> None:
        """Decode a stored row's JSON state, change it, write it back."""
        key = (self.ids[name].bytes, version)
        where = "WHERE originator_id = ? AND originator_version = ?"
        (raw,) = self.sql(f"SELECT state FROM escalation_events {where}", *key)[0]
        state = json.loads(raw)
        change(state)
        self.sql(
            f"UPDATE escalation_events SET state = ? {where}", json.dumps(state).encode(), *key
        )

    def set_state(self, name: str, version: int, raw: bytes) -> None:
        self.sql(
            "UPDATE escalation_events SET state = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            raw,
            self.ids[name].bytes,
            version,
        )

    def delete(self, name: str, version: int) -> None:
        self.sql(
            "DELETE FROM escalation_events WHERE originator_id = ? AND originator_version = ?",
            self.ids[name].bytes,
            version,
        )

    def reseal(self) -> None:
        """Recompute every seal and the log head from the rows, as a forger would."""
        rows = self.sql(
            "SELECT id, originator_id, originator_version, topic, state "
            "FROM escalation_events ORDER BY id"
        )
        prev: dict[bytes, str] = {}
        running = GENESIS
        for position, oid, version, topic, state in rows:
            digest = record_digest(UUID(bytes=oid), version, topic, state, prev.get(oid, GENESIS))
            self.sql(
                "UPDATE escalation_chain SET scheme = 2, prev = ?, digest = ? WHERE position = ?",
                prev.get(oid, GENESIS),
                digest,
                position,
            )
            prev[oid] = digest
            running = advance(running, position, UUID(bytes=oid), version, topic, state)
        self.sql(
            "UPDATE escalation_log_head SET position = ?, records = ?, digest = ?",
            rows[-1][0],
            len(rows),
            running,
        )

    def swap(self, name: str, a: int, b: int) -> None:
        """Exchange two events' versions (through a free value: the pair is unique)."""
        did = self.ids[name].bytes
        for old, new in ((a, -1), (b, a), (-1, b)):
            self.sql(
                "UPDATE escalation_events SET originator_version = ? "
                "WHERE originator_id = ? AND originator_version = ?",
                new,
                did,
                old,
            )


def build_log(engine: EscalationEngine) -> dict[str, UUID]:
    """Four disputes: stepwise escalation, reopen, elevation, and deadline notices."""
    ids: dict[str, UUID] = {}
    ids["stepwise"] = engine.receive(
        unit="c11",
        category="neighbour",
        source="walk_in",
        summary="漏水",
        parties=2,
        received_at=T0,
    )
    engine.mediate(ids["stepwise"], outcome="failed", mediator="m1", at=T0 + hours(1))
    engine.mediate(ids["stepwise"], outcome="failed", mediator="m1", at=T0 + hours(2))
    engine.supervise(ids["stepwise"], notice="warning", actor="lead", at=T0 + hours(3))
    engine.close(ids["stepwise"], outcome="agreement", actor="s1-desk", at=T0 + hours(5))
    ids["reopened"] = engine.receive(
        unit="c12", category="debt", source="hotline_12345", summary="欠款", received_at=T0
    )
    engine.mediate(ids["reopened"], outcome="partial", mediator="m2", at=T0 + hours(2))
    engine.close(ids["reopened"], outcome="agreement", actor="c12-desk", at=T0 + hours(4))
    engine.reopen(ids["reopened"], reason="not paid", actor="follow-up", at=T0 + hours(30))
    engine.close(ids["reopened"], outcome="litigation", actor="c12-desk", at=T0 + hours(40))
    ids["elevated"] = engine.receive(
        unit="c21",
        category="wage_arrears",
        source="grid_patrol",
        summary="工地欠薪",
        parties=40,
        amount=800_000,
        received_at=T0 + hours(1),
    )
    ids["deadline"] = engine.receive(
        unit="c21", category="family", source="walk_in", summary="家事", received_at=T0 + hours(2)
    )
    engine.tick(T0 + timedelta(days=3))  # reminder, warning, deadline escalation at c21
    engine.catch_up()
    return ids
