"""The scheduler around one engine: the tick and the four reviews on APScheduler.

One ``BackgroundScheduler`` with a single worker thread runs every job, so a
tick and a review never overlap in one process (several processes may run
against one database: the engine retries conflicting writes, and a review is
claimed in the database before it runs, so only one process writes it).

The engine comes built (``escalation.bootstrap.open_engine``, by the CLI);
the service never opens a database itself.
"""

from __future__ import annotations

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
from apscheduler.triggers.interval import IntervalTrigger

from escalation.adapters.logs import get_logger
from escalation.aggregates.times import as_utc
from escalation.application.clock import Clock
from escalation.application.engine import ErasureReport, EscalationEngine, TickReport
from escalation.application.reviews import KINDS, build_review, previous_period, write_review
from escalation.application.rulebook_registry import RulesNotActive
from escalation.entrypoints.scheduler.state import (
    SERVICE_JOB,
    TICK_JOB,
    ServiceState,
    review_job,
    worker_name,
)
from escalation.entrypoints.scheduler.triggers import REVIEW_DEFAULTS, last_fire, review_triggers

log = get_logger("escalation.service")


@dataclass(frozen=True)
class ServiceConfig:
    tick_every: timedelta = timedelta(seconds=60)
    out: Path = Path("reviews")
    reviews: Mapping[str, str] = field(default_factory=lambda: dict(REVIEW_DEFAULTS))


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
        self.triggers = review_triggers(self.config.reviews, self.timezone)
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
            log.error("service.rules_changed", error=str(exc))  # noqa: TRY400 - no traceback wanted
            self.stop_reason = "rules changed"
            self.rules_changed = str(exc)
            return None
        try:
            report = self.engine.tick(now)
        except Exception as exc:
            log.exception("tick.failed", now=now.isoformat(), error=type(exc).__name__)
            return None
        try:
            erasure = self.engine.erase_due(now)
        except Exception as exc:  # the tick stands; erasure is tried again next time
            log.exception("retention.failed", now=now.isoformat(), error=type(exc).__name__)
            erasure = ErasureReport()
        seconds = round(time.perf_counter() - began, 3)
        try:
            self.state.record(
                TICK_JOB,
                ran_for=now,
                started_at=now,
                finished_at=as_utc(self.clock()),
                detail={
                    "disputes": report.disputes,
                    "events": dict(report.events),
                    "s": seconds,
                    "erased": erasure.erased,
                    "kept_plain": erasure.kept_plain,
                },
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
            erased=erasure.erased,
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
            files = write_review(review, self.config.out, self.engine.rules.label)
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
