"""Service commands: ``serve``, ``status``, ``review`` (registered on the main app).

Also sets up the CLI's logs: every command configures structlog on entry
(``escalation.adapters.logs.configure_logging``; warnings only unless
``ESCALATION_LOG_LEVEL`` says otherwise), ``serve`` at ``info``.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from escalation.adapters.logs import configure_logging, get_logger
from escalation.application.engine import DEFAULT_URL
from escalation.application.event_text import Labeller, codes, local_time
from escalation.application.figures_report import pct
from escalation.application.periods import Period
from escalation.application.reviews import (
    KINDS,
    build_review,
    check_kind,
    previous_period,
    write_review,
)
from escalation.entrypoints.cli.options import (
    DbOption,
    RulesOption,
    app,
    console,
    open_engine,
)
from escalation.entrypoints.scheduler import (
    REVIEW_DEFAULTS,
    REVIEW_FORMATS,
    EscalationService,
    JobState,
    ServiceConfig,
    Status,
    parse_interval,
    read_status,
)
from escalation.errors import EscalationError

log = get_logger("escalation.cli")


OutOption = Annotated[
    Path, typer.Option("--out", help="Directory the review files (Markdown + HTML) go to.")
]


def _spec(kind: str) -> Any:
    return typer.Option(
        f"--{kind}",
        help=f"When the {kind} review ({KINDS[kind]}) runs, local time: {REVIEW_FORMATS[kind]}, "
        "or off.",
    )


@app.command()
def serve(
    tick_every: Annotated[
        str, typer.Option("--tick-every", help="Time between ticks: 60s, 5m, 1h, 500ms.")
    ] = "60s",
    out: OutOption = Path("reviews"),
    daily: Annotated[str, _spec("daily")] = REVIEW_DEFAULTS["daily"],
    weekly: Annotated[str, _spec("weekly")] = REVIEW_DEFAULTS["weekly"],
    monthly: Annotated[str, _spec("monthly")] = REVIEW_DEFAULTS["monthly"],
    quarterly: Annotated[str, _spec("quarterly")] = REVIEW_DEFAULTS["quarterly"],
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Run the tick and the four reviews on a schedule until SIGTERM or Ctrl-C.

    Ticks at once (catching up whatever fell due while it was down), then
    every --tick-every. Reviews run at their times in the rules' timezone; one
    whose time passed while the service was down runs once at start.
    """
    configure_logging(default_level="info")
    config = ServiceConfig(
        tick_every=parse_interval(tick_every),
        out=out,
        reviews={"daily": daily, "weekly": weekly, "monthly": monthly, "quarterly": quarterly},
    )
    stop = threading.Event()
    with open_engine(db, rules) as engine:
        service = EscalationService(engine, config)

        def request_stop(signum: int, frame: FrameType | None) -> None:
            # Only flag it here: the main loop stops the scheduler between jobs.
            service.stop_reason = signal.Signals(signum).name
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            service.serve(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if service.rules_changed:
        raise EscalationError(f"service stopped: {service.rules_changed}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for monitoring.")] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Last tick, projection lag, next due time, open and overdue disputes, last reviews."""
    with open_engine(db, rules) as engine:
        found = read_status(engine)
        zone = ZoneInfo(engine.rules.calendar.timezone)
        label = engine.rules.label
    if as_json:
        typer.echo(json.dumps(_status_dict(found), default=str, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"escalation status at {_when(found.now, zone)}", title_justify="left")
    table.add_column("what")
    table.add_column("value")
    for name, value in _status_rows(found, zone, label):
        table.add_row(Text(name), Text(value))
    console.print(table)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return local_time(value, zone, seconds=True, none="never")


def _status_rows(s: Status, zone: ZoneInfo, label: Labeller = codes) -> list[tuple[str, str]]:
    service = s.service
    if service is None:
        running = "never started here"
    elif service.finished_at is None:
        running = f"running since {_when(service.started_at, zone)} on {service.worker}"
    else:
        stopped_by = service.detail.get("stopped_by", "")
        running = f"stopped at {_when(service.finished_at, zone)} ({stopped_by})"
    tick = s.last_tick
    rows = [
        ("service", running),
        ("last tick", _when(tick.ran_for if tick else None, zone) + _tick_counts(tick)),
        ("projection lag", f"{s.projection_lag} events"),
        ("next due", _when(s.next_due_at, zone)),
        ("due now (next tick's work)", str(s.due_now)),
        *[(f"open at {label('tiers', tier)}", str(n)) for tier, n in s.open_by_tier.items()],
        ("open", str(s.open)),
        ("overdue", str(s.overdue)),
    ]
    for kind in KINDS:
        job = s.reviews.get(kind)
        if job is None or job.ran_for is None:
            rows.append((f"{kind} review", "never"))
            continue
        period = job.detail.get("period", "?")
        rows.append((f"{kind} review", f"{period} (the run due {_when(job.ran_for, zone)})"))
    return rows


def _tick_counts(tick: JobState | None) -> str:
    if tick is None:
        return ""
    events = sum(tick.detail.get("events", {}).values())
    text = f" (applied {events} events to {tick.detail.get('disputes', 0)} disputes"
    erased = tick.detail.get("erased", 0)
    if erased:
        text += f"; erased the personal data of {erased} under the retention rule"
    return text + ")"


def _status_dict(s: Status) -> dict[str, Any]:
    def job(state: JobState | None) -> dict[str, Any] | None:
        if state is None:
            return None
        return {
            "ran_for": state.ran_for,
            "started_at": state.started_at,
            "finished_at": state.finished_at,
            "worker": state.worker,
            "detail": state.detail,
        }

    return {
        "now": s.now,
        "service": job(s.service),
        "last_tick": s.last_tick.ran_for if s.last_tick else None,
        "tick": job(s.last_tick),
        "projection_lag": s.projection_lag,
        "next_due_at": s.next_due_at,
        "due_now": s.due_now,
        "open_by_tier": s.open_by_tier,
        "open": s.open,
        "overdue": s.overdue,
        "reviews": {kind: job(state) for kind, state in s.reviews.items()},
    }


@app.command()
def review(
    kind: Annotated[str, typer.Argument(help="daily, weekly, monthly or quarterly.")],
    period: Annotated[
        str | None,
        typer.Option(
            help="2026-09-03, 2026-W36, 2026-09, 2026-Q3 or a range; default: the last "
            "complete one."
        ),
    ] = None,
    out: OutOption = Path("reviews"),
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Write a review (日研判/周会商/月调度/季度评估) as Markdown and HTML for a period."""
    check_kind(kind)
    with open_engine(db, rules) as engine:
        zone = ZoneInfo(engine.rules.calendar.timezone)
        today = datetime.now(zone).date()
        chosen = Period.parse(period) if period else previous_period(kind, today)
        built = build_review(engine, kind, chosen)
        md, html = write_review(built, out, engine.rules.label)
    f = built.figures
    console.print(Text.assemble((built.title, "bold"), f" ({chosen})"))
    console.print(
        f"  received {f.received}, closed {f.closed}, 化解率 {pct(f.resolution_rate)}, "
        f"on time {pct(f.on_time_rate)}; overdue {len(built.overdue)}, "
        f"high risk {len(built.high_risk)}, weak signals {len(built.weak_signals)}"
    )
    console.print(f"  wrote {md}\n  wrote {html}", markup=False)
