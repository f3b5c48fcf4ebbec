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

Where things are: ``triggers`` (the tick interval and the reviews' cron
triggers from their text), ``state`` (the ``escalation_service`` table),
``service`` (``EscalationService``), ``status`` (``escalation status``).
"""

from escalation.entrypoints.scheduler.service import EscalationService, ServiceConfig
from escalation.entrypoints.scheduler.state import (
    SERVICE_JOB,
    TICK_JOB,
    JobState,
    ServiceState,
    review_job,
    service_state,
    worker_name,
)
from escalation.entrypoints.scheduler.status import Status, read_status
from escalation.entrypoints.scheduler.triggers import (
    REVIEW_DEFAULTS,
    REVIEW_FORMATS,
    last_fire,
    parse_interval,
    review_trigger,
    review_triggers,
)

__all__ = [
    "REVIEW_DEFAULTS",
    "REVIEW_FORMATS",
    "SERVICE_JOB",
    "TICK_JOB",
    "EscalationService",
    "JobState",
    "ServiceConfig",
    "ServiceState",
    "Status",
    "last_fire",
    "parse_interval",
    "read_status",
    "review_job",
    "review_trigger",
    "review_triggers",
    "service_state",
    "worker_name",
]
