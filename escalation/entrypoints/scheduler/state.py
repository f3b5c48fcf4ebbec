"""The service's state: the ``escalation_service`` table, one row per job, in the store's database.

Last tick, last run of each review, the service's own start and stop, so
``escalation status`` can read it from anywhere. A review is claimed here
before it runs, so of several processes only one writes it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Text, or_, select, update
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, create_serialised, insert_missing, upsert
from escalation.application.engine import EscalationEngine

TICK_JOB = "tick"
SERVICE_JOB = "service"

metadata = MetaData()

service_state = Table(
    "escalation_service",
    metadata,
    Column("job", String(64), primary_key=True),  # "tick", "review:daily", ..., "service"
    # tick: the time it ticked to; review: the scheduled time it ran for.
    Column("ran_for", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),  # NULL while running (or the service while up)
    Column("worker", String(200), nullable=False),  # host:pid
    Column("detail", Text, nullable=False),  # JSON: counts, period, files
)


def review_job(kind: str) -> str:
    return f"review:{kind}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobState:
    job: str
    ran_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str
    detail: dict[str, Any]


class ServiceState:
    """The ``escalation_service`` table: one row per job (created if missing)."""

    def __init__(self, engine: EscalationEngine) -> None:
        self.bind: Any = engine.store.database
        create_serialised(self.bind, lambda: service_state.create(self.bind, checkfirst=True))

    def read(self) -> dict[str, JobState]:
        with Session(self.bind) as session:
            rows = session.execute(select(service_state)).all()
        return {
            row.job: JobState(
                row.job,
                row.ran_for,
                row.started_at,
                row.finished_at,
                row.worker,
                json.loads(row.detail or "{}"),
            )
            for row in rows
        }

    def get(self, job: str) -> JobState | None:
        return self.read().get(job)

    def record(
        self,
        job: str,
        *,
        ran_for: datetime | None,
        started_at: datetime | None,
        finished_at: datetime | None,
        detail: Mapping[str, Any],
    ) -> None:
        row = {
            "job": job,
            "ran_for": ran_for,
            "started_at": started_at,
            "finished_at": finished_at,
            "worker": worker_name(),
            "detail": json.dumps(detail, default=str, ensure_ascii=False, sort_keys=True),
        }
        with Session(self.bind) as session, session.begin():
            upsert(session, service_state, [row], ["job"])

    def claim(self, job: str, ran_for: datetime, started_at: datetime) -> bool:
        """Take the run of ``job`` for ``ran_for`` unless it (or a later one) was taken."""
        t = service_state.c
        with Session(self.bind) as session, session.begin():
            blank = {"job": job, "ran_for": None, "worker": worker_name(), "detail": "{}"}
            insert_missing(session, service_state, [blank], ["job"])
            result = session.execute(
                update(service_state)
                .where(t.job == job, or_(t.ran_for.is_(None), t.ran_for < ran_for))
                .values(
                    ran_for=ran_for,
                    started_at=started_at,
                    finished_at=None,
                    worker=worker_name(),
                    detail="{}",
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, job: str, ran_for: datetime, previous: datetime | None, error: str) -> None:
        """Give a failed run back, so the next scheduled time tries again."""
        t = service_state.c
        with Session(self.bind) as session, session.begin():
            session.execute(
                update(service_state)
                .where(t.job == job, t.ran_for == ran_for)
                .values(ran_for=previous, detail=json.dumps({"error": error}))
            )
