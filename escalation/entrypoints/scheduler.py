"""``escalation serve``: the tick and the four reviews on APScheduler, and the service state.

One ``BackgroundScheduler`` with a single worker thread runs every job, so a
tick and a review never overlap in one process (several processes may run
against one database: the engine retries conflicting writes, and a review is
claimed in the database before it runs, so only one process writes it).

* **tick** every ``tick_every`` (default 60 s), and once at start. The engine
  dates each decision when it fell due, so the first tick after downtime
  catches up everything missed, once, with the right dates.
* **reviews** on cron triggers in the rules' timezone: daily 08:00 (日研判),
  weekly Monday 09:00 (周会商), monthly on the 1st 09:00 (月调度), quarterly on
  the first day of the quarter 09:00 (季度评估). Each covers the last complete
  period before its run (yesterday, last week, last month, last quarter) and
  ticks first. Runs are coalesced and never dropped for lateness; a review
  whose last scheduled time passed while the service was down (or before it
  ever ran) runs once at start, for the latest period only.
* **state** (last tick, last run of each review, the service's own start and
  stop) lives in the ``escalation_service`` table of the same database, so
  ``escalation status`` can read it from anywhere.

Stopping (``stop``, or SIGTERM/SIGINT in ``serve``) lets the job in progress
finish, turns jobs still queued into no-ops, and records the stop.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Column, MetaData, String, Table, Text, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime, create_serialised, upsert
from escalation.adapters.logs import get_logger
from escalation.aggregates.times import as_utc
from escalation.application.clock import Clock
from escalation.application.engine import EscalationEngine, TickReport
from escalation.application.reviews import KINDS, build_review, previous_period, write_review
from escalation.application.rulebook_registry import RulesNotActive
from escalation.errors import InvalidInput
from projections.disputes import disputes

log = get_logger("escalation.service")

TICK_JOB = "tick"
SERVICE_JOB = "service"
#: When each review runs, local time in the rules' timezone; "off" disables one.
REVIEW_DEFAULTS: Mapping[str, str] = {
    "daily": "08:00",
    "weekly": "mon 09:00",
    "monthly": "1 09:00",
    "quarterly": "1 09:00",
}
REVIEW_FORMATS = {
    "daily": "HH:MM",
    "weekly": "DAY HH:MM (mon..sun)",
    "monthly": "D HH:MM (day 1-28 of the month)",
    "quarterly": "D HH:MM (day 1-28 of the quarter's first month)",
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$", re.IGNORECASE)
_SPEC = re.compile(r"^\s*(?:(\w+)\s+)?(\d{1,2}):(\d{2})\s*$")
#: How far back to look for a review's latest scheduled time (a quarter and then some).
_LOOKBACK = timedelta(days=100)

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


# ------------------------------------------------------------ configuration


def parse_interval(text: str) -> timedelta:
    """``60s``, ``0.5s``, ``250ms``, ``5m``, ``1h`` or a bare number of seconds."""
    match = _INTERVAL.match(text)
    if match is None:
        raise InvalidInput(f"tick interval {text!r} not understood; write it like 60s, 5m or 1h")
    amount = float(match.group(1))
    unit = (match.group(2) or "s").lower()
    seconds = amount * {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds < 0.01:
        raise InvalidInput(f"tick interval {text!r} is too short; use at least 10ms")
    return timedelta(seconds=seconds)


def review_trigger(kind: str, spec: str, timezone: str) -> CronTrigger | None:
    """The cron trigger of a review from its spec (see ``REVIEW_FORMATS``); None when off."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown review {kind!r}; use one of {', '.join(KINDS)}")
    if spec.strip().lower() == "off":
        return None
    problem = f"{kind} review time {spec!r}: write it as {REVIEW_FORMATS[kind]}, or off"
    match = _SPEC.match(spec)
    if match is None:
        raise InvalidInput(problem)
    day, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InvalidInput(problem)
    zone = ZoneInfo(timezone)
    if kind == "daily":
        if day is not None:
            raise InvalidInput(problem)
        return CronTrigger(hour=hour, minute=minute, timezone=zone)
    if day is None:
        raise InvalidInput(problem)
    if kind == "weekly":
        if day.lower()[:3] not in _DAYS:
            raise InvalidInput(problem)
        return CronTrigger(day_of_week=day.lower()[:3], hour=hour, minute=minute, timezone=zone)
    if not day.isdigit() or not 1 <= int(day) <= 28:
        raise InvalidInput(problem)
    months = "1,4,7,10" if kind == "quarterly" else "*"
    return CronTrigger(month=months, day=int(day), hour=hour, minute=minute, timezone=zone)


def last_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time ``trigger`` fired at or before ``now`` (within the last 100 days)."""
    fire = trigger.get_next_fire_time(None, now - _LOOKBACK)
    latest: datetime | None = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


@dataclass(frozen=True)
class ServiceConfig:
    tick_every: timedelta = timedelta(seconds=60)
    out: Path = Path("reviews")
    reviews: Mapping[str, str] = field(default_factory=lambda: dict(REVIEW_DEFAULTS))


# ------------------------------------------------------------ service state


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
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            session.execute(
                dialect.insert(service_state)
                .values(job=job, ran_for=None, worker=worker_name(), detail="{}")
                .on_conflict_do_nothing(index_elements=["job"])
            )
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


# ------------------------------------------------------------------ service


class EscalationService:
    """The scheduler around one engine. ``start``/``stop``, or ``serve`` until told to stop."""

    def __init__(
        self,
        engine: EscalationEngine,
        config: ServiceConfig | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.config = config or ServiceConfig()
        self.clock: Clock = clock or engine.clock
        self.timezone = engine.rules.calendar.timezone
        self.zone = ZoneInfo(self.timezone)
        specs = {**REVIEW_DEFAULTS, **self.config.reviews}
        unknown = sorted(set(specs) - set(KINDS))
        if unknown:
            raise InvalidInput(f"unknown review {unknown[0]!r}; use one of {', '.join(KINDS)}")
        self.triggers = {
            kind: trigger
            for kind, spec in specs.items()
            if (trigger := review_trigger(kind, spec, self.timezone)) is not None
        }
        self.state = ServiceState(engine)
        self.scheduler: BackgroundScheduler | None = None
        self.ticks = 0  # ticks completed by this object
        self.reviews = 0  # reviews written by this object
        self.stop_reason = "stop"  # what ``serve`` records as the cause of the stop
        self._stopping = threading.Event()
        self.rules_changed: str | None = None  # set when another rule book became active

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the scheduler: a tick at once, then every ``tick_every``; missed reviews once."""
        if self.scheduler is not None:
            raise RuntimeError("the service is already started")
        self._stopping.clear()
        now = as_utc(self.clock())
        scheduler = BackgroundScheduler(
            timezone=self.zone,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        wall = datetime.now(self.zone)
        scheduler.add_job(
            self.run_tick,
            IntervalTrigger(seconds=self.config.tick_every.total_seconds(), timezone=self.zone),
            id=TICK_JOB,
            name="tick",
            next_run_time=wall,
        )
        states = self.state.read()
        missed: list[str] = []
        for kind, trigger in self.triggers.items():
            extra: dict[str, Any] = {}
            due = last_fire(trigger, now)
            done = states.get(review_job(kind))
            if due is not None and (done is None or done.ran_for is None or done.ran_for < due):
                # Missed while down: once, right after the first tick (single worker, FIFO).
                extra["next_run_time"] = wall + timedelta(milliseconds=10)
                missed.append(kind)
            scheduler.add_job(
                self.run_review,
                trigger,
                args=[kind],
                id=review_job(kind),
                name=f"{kind} review {KINDS[kind]}",
                **extra,
            )
        self.state.record(
            SERVICE_JOB,
            ran_for=None,
            started_at=now,
            finished_at=None,
            detail={
                "tick_every": self.config.tick_every.total_seconds(),
                "out": str(self.config.out),
                "reviews": {k: str(t) for k, t in self.triggers.items()},
            },
        )
        scheduler.add_listener(self._busy, EVENT_JOB_MAX_INSTANCES)
        scheduler.start()
        self.scheduler = scheduler
        log.info(
            "service.started",
            tick_every=self.config.tick_every.total_seconds(),
            out=str(self.config.out),
            reviews=sorted(self.triggers),
            missed_reviews=missed,
            timezone=self.timezone,
            worker=worker_name(),
        )

    def stop(self, reason: str = "stop") -> None:
        """Let the job in progress finish, skip the queued ones, stop the scheduler."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return
        self._stopping.set()
        began = time.perf_counter()
        scheduler.shutdown(wait=True)
        detail = self.state.get(SERVICE_JOB)
        self.state.record(
            SERVICE_JOB,
            ran_for=None,
            started_at=detail.started_at if detail else None,
            finished_at=as_utc(self.clock()),
            detail={**(detail.detail if detail else {}), "stopped_by": reason},
        )
        log.info(
            "service.stopped",
            stopped_by=reason,
            ticks=self.ticks,
            reviews=self.reviews,
            waited_seconds=round(time.perf_counter() - began, 3),
        )

    def serve(self, stop: threading.Event, poll: float = 0.5) -> None:
        """Run until ``stop`` is set (by a signal handler), then stop cleanly."""
        self.start()
        try:
            while not stop.wait(poll) and self.rules_changed is None:
                pass
        finally:
            self.stop(reason=self.stop_reason)

    # ------------------------------------------------------------------ jobs

    def _busy(self, event: JobSubmissionEvent) -> None:
        """A run skipped because the previous one (or a review) still holds the worker."""
        log.debug("job.skipped", job=event.job_id, why="the worker is still busy")

    def run_tick(self) -> TickReport | None:
        """The tick job: apply every decision due by now; record it. Never raises."""
        if self._stopping.is_set():
            return None
        now = as_utc(self.clock())
        began = time.perf_counter()
        try:
            # Another process activated other rules: this one must not decide
            # under the old book. Stop; a supervisor restarts it on the new one.
            self.engine.rulebooks.ensure_active(self.engine.rules)
        except RulesNotActive as exc:
            log.error("service.rules_changed", error=str(exc))
            self.stop_reason = "rules changed"
            self.rules_changed = str(exc)
            return None
        try:
            report = self.engine.tick(now)
        except Exception as exc:
            log.exception("tick.failed", now=now.isoformat(), error=type(exc).__name__)
            return None
        seconds = round(time.perf_counter() - began, 3)
        try:
            self.state.record(
                TICK_JOB,
                ran_for=now,
                started_at=now,
                finished_at=as_utc(self.clock()),
                detail={"disputes": report.disputes, "events": dict(report.events), "s": seconds},
            )
        except Exception as exc:
            log.exception("tick.state_failed", now=now.isoformat(), error=type(exc).__name__)
        self.ticks += 1
        line = log.info if report.total else log.debug
        line(
            "tick.done",
            now=now.isoformat(),
            disputes=report.disputes,
            events=report.total,
            by_event=dict(report.events),
            seconds=seconds,
        )
        return report

    def run_review(self, kind: str) -> tuple[Path, Path] | None:
        """A review job: the period before its latest scheduled time, once. Never raises."""
        if self._stopping.is_set():
            return None
        now = as_utc(self.clock())
        fire = last_fire(self.triggers[kind], now)
        if fire is None:
            return None
        job = review_job(kind)
        period = previous_period(kind, fire.astimezone(self.zone).date())
        try:
            previous = self.state.get(job)
            if not self.state.claim(job, as_utc(fire), now):
                log.info("review.skipped", kind=kind, period=str(period), why="already done")
                return None
            self.run_tick()  # so the review sees every decision due by now
            review = build_review(self.engine, kind, period, generated_at=now)
            files = write_review(review, self.config.out)
        except Exception as exc:
            log.exception("review.failed", kind=kind, period=str(period), error=type(exc).__name__)
            try:
                before = previous.ran_for if previous is not None else None
                self.state.release(job, as_utc(fire), before, type(exc).__name__)
            except Exception:
                log.exception("review.release_failed", kind=kind)
            return None
        self.state.record(
            job,
            ran_for=as_utc(fire),
            started_at=now,
            finished_at=as_utc(self.clock()),
            detail={"period": str(period), "files": [str(p) for p in files]},
        )
        self.reviews += 1
        return files


# ------------------------------------------------------------------- status


@dataclass
class Status:
    now: datetime
    last_tick: JobState | None
    service: JobState | None
    reviews: dict[str, JobState]
    projection_lag: int
    next_due_at: datetime | None
    due_now: int  # open disputes whose next action is due: the next tick's work
    open_by_tier: dict[str, int]
    overdue: int

    @property
    def open(self) -> int:
        return sum(self.open_by_tier.values())


def read_status(engine: EscalationEngine, now: datetime | None = None) -> Status:
    """What ``escalation status`` shows, read without writing (no catch-up)."""
    now = as_utc(now or engine.clock())
    states = ServiceState(engine).read()
    d = disputes.c
    is_open = d.status == "open"
    bind = engine.store.database
    with Session(bind) as session:
        counted = session.execute(select(d.tier, func.count()).where(is_open).group_by(d.tier))
        by_tier: dict[str, int] = {str(tier): int(n) for tier, n in counted}
        next_due = session.execute(select(func.min(d.next_due_at)).where(is_open)).scalar()
        due_now = session.execute(
            select(func.count()).where(is_open, d.next_due_at <= now)
        ).scalar_one()
        overdue = session.execute(select(func.count()).where(is_open, d.due_at < now)).scalar_one()
    open_by_tier = {tier: by_tier.get(tier, 0) for tier in engine.rules.tiers}
    open_by_tier.update({t: n for t, n in by_tier.items() if t not in open_by_tier})
    return Status(
        now=now,
        last_tick=states.get(TICK_JOB),
        service=states.get(SERVICE_JOB),
        reviews={k: states[review_job(k)] for k in KINDS if review_job(k) in states},
        projection_lag=engine.projections.lag(),
        next_due_at=next_due,
        due_now=int(due_now),
        open_by_tier=open_by_tier,
        overdue=int(overdue),
    )
