"""Commands on disputes and the read models.

receive … reopen, tick, get, history, queue, rebuild, project, report.
"""

from __future__ import annotations

import json
import signal
import threading
import time as systime
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState
from escalation.application.audit.report import dispute_report
from escalation.application.engine import DEFAULT_URL, EscalationEngine
from escalation.application.event_text import describe, in_ladder_order, local_time
from escalation.application.figures_report import figures_table, period_html, units_table
from escalation.application.periods import Period, end_of_day
from escalation.entrypoints.cli.hints import as_of_hint, newest_event_at
from escalation.entrypoints.cli.options import (
    COLOURS,
    AtOption,
    DbOption,
    RulesOption,
    app,
    console,
    errors,
    open_engine,
    progress_shown,
    rule_and_why,
    write_html,
    zone_of,
)
from escalation.errors import EscalationError
from escalation.policies.rulebook.messages import counted
from projections.follower import follow


@app.command()
def receive(
    unit: Annotated[str, typer.Option(help="Unit id where it is registered.")],
    category: Annotated[
        str, typer.Option(help="One of the rule book's categories (`rules show`), e.g. neighbour.")
    ],
    source: Annotated[
        str, typer.Option(help="One of the rule book's sources (`rules show`), e.g. walk_in.")
    ],
    summary: Annotated[str, typer.Option()],
    parties: int = 2,
    amount: float = 0.0,
    location: str = "",
    claim: Annotated[str, typer.Option(help="What the person asks for (诉求).")] = "",
    request_id: str | None = None,
    actor: str = "intake",
    at: AtOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the new dispute's id (for scripts).")
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Register a dispute (登记受理); prints its id."""
    _record(
        db,
        rules,
        lambda engine: engine.receive(
            unit=unit,
            category=category,
            source=source,
            summary=summary,
            parties=parties,
            amount=amount,
            location=location,
            claim=claim,
            received_at=at,
            request_id=request_id,
            actor=actor,
        ),
        quiet=quiet,
    )


@app.command()
def mediate(
    dispute: str,
    outcome: Annotated[str, typer.Option(help="resolved, failed or partial.")],
    mediator: Annotated[str, typer.Option()],
    note: str = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Record a mediation attempt (先行调解)."""
    _record(
        db,
        rules,
        lambda engine: engine.mediate(
            dispute, outcome=outcome, mediator=mediator, note=note, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def escalate(
    dispute: str,
    reason: Annotated[str, typer.Option()],
    actor: Annotated[str, typer.Option()],
    to_tier: Annotated[str | None, typer.Option(help="Skip levels (提级) to this tier.")] = None,
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Escalate by hand to the parent unit, or elevate with --to-tier."""
    _record(
        db,
        rules,
        lambda engine: engine.escalate(
            dispute, reason=reason, actor=actor, to_tier=to_tier, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def supervise(
    dispute: str,
    notice: Annotated[str, typer.Option(help="reminder, prompt, warning or supervision.")],
    actor: Annotated[str, typer.Option()],
    reason: str = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Issue a notice by hand (催办/提示/预警/督办)."""
    _record(
        db,
        rules,
        lambda engine: engine.supervise(
            dispute, notice=notice, actor=actor, reason=reason, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("close")
def close_(
    dispute: str,
    outcome: Annotated[
        str,
        typer.Option(
            help="resolved, agreement, judicial_confirmation, litigation, withdrawn or declined."
        ),
    ],
    actor: Annotated[str, typer.Option()],
    note: str = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Close a dispute (案结事了)."""
    _record(
        db,
        rules,
        lambda engine: engine.close(
            dispute, outcome=outcome, actor=actor, note=note, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def erase(
    dispute: str,
    reason: Annotated[
        str, typer.Option(help="The ground (kept in plain text): never personal data.")
    ],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Erase a dispute's personal data (its data key is destroyed; the record stays)."""
    _record(
        db,
        rules,
        lambda engine: engine.erase(
            dispute, reason=reason, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def reopen(
    dispute: str,
    reason: Annotated[str, typer.Option()],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Reopen a closed dispute that follow-up found unsettled."""
    _record(
        db,
        rules,
        lambda engine: engine.reopen(
            dispute, reason=reason, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def tick(
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Apply every time-driven decision due by --at (default: now)."""
    with open_engine(db, rules) as engine:
        report = engine.tick(at)
        console.print(
            f"tick at {local_time(report.now, zone_of(engine), seconds=True)}: "
            f"{counted(report.disputes, 'dispute')}, "
            + (", ".join(f"{n} {k}" for k, n in sorted(report.events.items())) or "no events"),
            markup=False,
        )


@app.command()
def get(
    dispute: str,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the state as JSON: codes, UTC times, no personal data."),
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Show a dispute's current state."""
    with open_engine(db, rules) as engine:
        if as_json:
            typer.echo(state_json(engine.get(dispute)))
            return
        _print_state(engine, dispute)


#: What ``get --json`` leaves out: personal data, and the requests' ids.
NOT_IN_JSON = ("summary", "claim", "location", "people", "request_ids")


def state_json(state: DisputeState) -> str:
    """A dispute's state for scripts: codes as stored, times in UTC (ISO 8601)."""
    data = {f.name: getattr(state, f.name) for f in fields(state) if f.name not in NOT_IN_JSON}
    return _dumps(data)


def event_json(event: Dispute.Event) -> str:
    """One event for scripts: its name, position and fields, without personal data."""
    hidden = set(event.personal_fields())
    data: dict[str, object] = {
        k: v for k, v in vars(event).items() if k not in hidden and not k.startswith("_")
    }
    for internal in ("originator_id", "originator_version", "originator_topic", "timestamp"):
        data.pop(internal, None)
    data.update(
        event=type(event).__name__,
        dispute_id=event.originator_id,
        version=event.originator_version,
        occurred_at=event.occurred_at,
    )
    return _dumps(data)


def _plain(value: Any) -> Any:
    """Figures as JSON data (``asdict`` would count a Counter's pairs, not copy them)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dumps(data: dict[str, object]) -> str:
    return json.dumps(data, default=_jsonable, ensure_ascii=False, sort_keys=True)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value, key=str) if isinstance(value, frozenset | set) else list(value)
    return str(value)


@app.command()
def history(
    dispute: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines: codes, UTC times (for scripts).")
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Show a dispute's events, oldest first, with the rule behind each decision."""
    with open_engine(db, rules) as engine:
        if as_json:
            for e in engine.history(dispute):
                typer.echo(event_json(e))
            return
        zone = zone_of(engine)
        if console.width < NARROW:  # an event per paragraph: nothing cut, nothing folded
            console.print(Text(f"history of {dispute}"))
            for e in engine.history(dispute):
                reason = getattr(e, "reason", None)
                head = Text.assemble(
                    f"#{e.originator_version}  {local_time(e.occurred_at, zone)}  ",
                    (type(e).__name__, "bold"),
                    "  by ",
                    e.actor,
                )
                console.print(head, soft_wrap=True)
                # Folded at the terminal's width, each line indented under its event.
                console.print(_indented(Text(describe(e, label=engine.rules.label, zone=zone))))
                why = rule_and_why(
                    getattr(e, "rule_id", None),
                    getattr(e, "rules_version", None),
                    reason if isinstance(reason, str) else None,
                    zone,
                )
                if why.plain:
                    console.print(_indented(why))
            return
        table = Table(title=Text(f"history of {dispute}"), title_justify="left")
        for col in ("#", "occurred (local)", "event", "actor", "what", "rule / why"):
            table.add_column(col, overflow="fold")
        for e in engine.history(dispute):
            reason = getattr(e, "reason", None)
            table.add_row(
                str(e.originator_version),
                local_time(e.occurred_at, zone),
                type(e).__name__,
                Text(e.actor),
                Text(describe(e, label=engine.rules.label, zone=zone)),
                rule_and_why(
                    getattr(e, "rule_id", None),
                    getattr(e, "rules_version", None),
                    reason if isinstance(reason, str) else None,
                    zone,
                ),
            )
        console.print(table)


@app.command()
def queue(
    unit: Annotated[str | None, typer.Argument(help="Unit id (omit for all units).")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
    department: Annotated[
        str | None, typer.Option(help="The open disputes this department was summoned to.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Show the queue as it stood then: a date (its local close) or an ISO time.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines: codes, UTC times (for scripts).")
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Show the open disputes of a unit or tier, earliest due first."""
    with open_engine(db, rules) as engine:
        zone = zone_of(engine)
        instant = _instant(as_of, engine.rules.calendar.timezone) if as_of else None
        if department is not None:
            items = engine.queue(unit=unit, tier=tier, as_of=instant, department=department)
        else:
            items = engine.queue(unit=unit, tier=tier, as_of=instant)
        if as_json:
            for item in items[:limit]:
                typer.echo(_dumps({f.name: getattr(item, f.name) for f in fields(item)}))
            return
        now = instant or datetime.now(UTC)
        named = [
            f"{engine.rules.label('units', unit)} ({unit})" if unit else "",
            engine.rules.label("tiers", tier) if tier else "",
            engine.rules.label("departments", department) if department else "",
        ]
        title = " ".join(["queue", *(n for n in named if n)]) + f": {len(items)} open"
        if instant is not None:
            title += f" as it stood at {local_time(instant, zone)} ({zone.key})"
        book = engine.rules
        rows: list[QueueRow] = []
        overdue_ids: dict[str, bool] = {}
        narrow = console.width < NARROW
        for item in items[:limit]:
            overdue_ids[str(item.dispute_id)] = item.overdue(now)
            late = item.overdue(now) and not narrow  # narrow: on the second line
            due = local_time(item.due_at, zone) + (" overdue" if late else "")
            rows.append(
                (
                    str(item.dispute_id),
                    Text(item.unit),
                    Text(book.label("tiers", item.tier)),
                    Text(book.label("risks", item.risk), style=COLOURS[item.colour]),
                    Text(book.label("categories", item.category)),
                    Text(due),
                    Text(
                        "、".join(book.label("notices", n) for n in in_ladder_order(item.notices))
                    ),
                    Text(book.label("departments", item.department) if item.department else ""),
                )
            )
        if narrow:  # two lines per dispute: ids are never cut
            _queue_lines(title, rows, overdue_ids)
        else:
            _queue_table(title, rows)
        if instant is None:
            with engine.store.reading() as session:
                hint = as_of_hint(newest_event_at(session), now, zone)
            if hint is not None:
                errors.print(hint, markup=False, highlight=False)


def _indented(text: Text) -> Padding:
    """Four spaces in, folded lines too: what belongs to the line above."""
    return Padding(text, (0, 0, 0, 4), expand=False)


QueueRow = tuple[str, Text, Text, Text, Text, Text, Text, Text]


def _queue_lines(title: str, rows: list[QueueRow], overdue: dict[str, bool]) -> None:
    console.print(Text(title))
    for did, unit_, tier_, risk, category, due_, notices, dept in rows:
        # The id line fits 80 columns (the id is never cut); the rest folds.
        console.print(Text.assemble(did, "  ", risk, "  due ", due_), soft_wrap=True)
        where = Text.assemble(unit_, " ", tier_)
        rest = [where, category, *(x for x in (dept, notices) if x.plain)]
        if overdue.get(did):
            rest.insert(0, Text("overdue", style="bold red"))
        console.print(_indented(Text(" · ").join(rest)))


def _queue_table(title: str, rows: list[QueueRow]) -> None:
    table = Table(title=Text(title), title_justify="left")
    for col in ("dispute", "unit", "tier", "risk", "category", "due (local)", "notices", "dept"):
        # Ids are never cut: a clerk copies them into the next command.
        table.add_column(col, no_wrap=col == "dispute", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


#: Below this many columns, tables of disputes are printed as lines (a 36-character id each).
NARROW = 120


def _instant(text: str, timezone: str) -> datetime:
    """``2026-03-03`` → the close of that local day; an ISO time must carry an offset."""
    try:
        if len(text) == 10:
            return end_of_day(date.fromisoformat(text), timezone)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise EscalationError(
            f"--as-of {text!r}: use a date (2026-03-03) or a time with offset "
            "(2026-03-03T18:00+08:00)"
        ) from None
    if value.tzinfo is None:
        raise EscalationError(f"--as-of {text!r} has no UTC offset; add one, e.g. +08:00")
    return value


@app.command()
def rebuild(
    projection: Annotated[
        str | None, typer.Option(help="Only this projection (default: all).")
    ] = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Drop the read models and replay them from the first event, in pages."""
    described = f"rebuilding {projection or 'all projections'}"
    with (
        open_engine(db, rules) as engine,
        progress_shown(described, engine.projections.head()) as advance,
    ):
        began = systime.perf_counter()
        applied = engine.rebuild(projection, progress=advance)
        elapsed = systime.perf_counter() - began
    rate = applied / elapsed if elapsed > 0 else 0.0
    console.print(f"rebuilt from {applied:,} events in {elapsed:.1f}s ({rate:,.0f} events/s)")


@app.command()
def project(
    follow_log: Annotated[
        bool, typer.Option("--follow", help="Keep following the log until stopped.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between polls (SQLite; PostgreSQL is woken).")
    ] = 1.0,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Catch the read models up with the log; with --follow, run as a follower process."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with open_engine(db, rules) as engine:
        applied = engine.catch_up()
        console.print(f"caught up: {applied:,} events applied, lag {engine.projections.lag()}")
        if follow_log:
            follow(engine.projections, interval=interval, stop=stop)
    console.print("stopped" if follow_log else "done")


@app.command()
def report(
    period: Annotated[
        str | None,
        typer.Option(help="2026-09-03, 2026-W36, 2026-09, 2026-Q3 or 2026-09-01..2026-09-30."),
    ] = None,
    dispute: Annotated[
        str | None, typer.Option(help="One dispute's audit report instead (needs --html).")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Figures as known then (a date or an ISO time)."),
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML report with charts.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON (codes, UTC times).")
    ] = False,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """The figures of a period (intake, funnel, 化解率, on-time rate, notices, per unit),
    or with --dispute one dispute's audit report.
    """
    if (period is None) == (dispute is None):
        raise EscalationError("report: give either --period or --dispute")
    if dispute is not None:
        if html_out is None:
            raise EscalationError("report --dispute writes HTML: add --html FILE")
        with open_engine(db, rules) as engine:
            write_html(html_out, dispute_report(engine, dispute))
        return
    assert period is not None
    with open_engine(db, rules) as engine:
        known = _instant(as_of, engine.rules.calendar.timezone) if as_of else None
        chosen = Period.parse(period)
        figures = engine.figures(chosen, as_of=known, unit=unit, tier=tier)
        title = f"figures {chosen}" + (f" {unit}" if unit else "") + (f" {tier}" if tier else "")
        if as_json:
            data = _plain(figures)
            data.update(period=str(chosen), resolution_rate=figures.resolution_rate)
            typer.echo(_dumps(data))
            return
        console.print(figures_table(figures, title, engine.rules.label))
        console.print(units_table(figures, label=engine.rules.label))
        if html_out is not None:
            days, series = engine.backlog(chosen)
            write_html(html_out, period_html(figures, title, days, series, engine.rules.label))


# `escalation figures` is what people look for first; the same command as `report`.
app.command("figures", help="The figures of a period: the same command as `report`.")(report)


def _record(
    db: str,
    rules: Path | None,
    command: Callable[[EscalationEngine], object],
    dispute: str | None = None,
    *,
    quiet: bool = False,
) -> None:
    """Run one command on the engine, then print the dispute's state.

    The dispute is ``dispute``, or the id the command returned. ``quiet``:
    print the id alone (``receive --quiet`` in a script).
    """
    with open_engine(db, rules) as engine:
        done = command(engine)
        shown = dispute if dispute is not None else str(done)
        if quiet:
            typer.echo(shown)
            return
        _print_state(engine, shown)


#: The commands of other modules record through it too (escalation.entrypoints.cli.casework).
record = _record


def _print_state(engine: EscalationEngine, dispute: str) -> None:
    s = engine.get(dispute)
    zone = zone_of(engine)
    # A settled dispute's clock is its follow-up's, not the stopped tier visit's.
    due = (
        f"follow-up due {local_time(s.step_due_at, zone)}"
        if s.is_settled
        else f"due {local_time(s.due_at, zone)}"
    )
    book = engine.rules
    console.print(
        f"{s.id}  {s.status}  at {book.label('tiers', s.tier)} {s.unit}  "
        f"risk {book.label('risks', s.risk)}  {due}  "
        f"dept {book.label('departments', s.department) if s.department else '-'}"
        + (f"  acceptance {s.acceptance}" if s.acceptance == "pending" else "")
        + (f"  paused since {local_time(s.paused_at, zone)}" if s.paused_at else "")
        + (f"  closed: {book.label('outcomes', s.outcome)}" if s.outcome else ""),
        markup=False,
    )
