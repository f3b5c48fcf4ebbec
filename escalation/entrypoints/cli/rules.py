"""Rule-book commands: activate, diff, history, show; and ``simulate`` (what-if).

Registered on the main app when ``escalation.entrypoints.cli`` imports this module.
``simulate`` and the read-only ``rules`` commands open the store read-only:
they never write to the live database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, cast
from uuid import UUID
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from escalation.adapters.store import DisputeLog
from escalation.aggregates.dispute import Dispute
from escalation.application.engine import DEFAULT_URL
from escalation.application.event_text import local_time
from escalation.application.rulebook_registry import in_flight_mode
from escalation.application.whatif.compare import timeline
from escalation.application.whatif.open_disputes import forecast
from escalation.application.whatif.outcome import differences, summarise
from escalation.application.whatif.replay import facts_of, replay
from escalation.application.whatif.replay_rules import memoised
from escalation.application.whatif.report_html import html_report
from escalation.application.whatif.report_text import (
    print_forecast,
    print_rule_diff,
    print_simulation,
    print_timelines,
    texts,
)
from escalation.application.whatif.rule_diff import diff_rules
from escalation.application.whatif.simulate import simulate, window
from escalation.application.whatif.stream import LogReader
from escalation.bootstrap import Storage, activate, open_reader
from escalation.entrypoints.cli.hints import untended, untended_warning
from escalation.entrypoints.cli.options import (
    AtOption,
    DbOption,
    app,
    console,
    errors,
    progress_shown,
    rules_app,
    write_html,
)
from escalation.errors import InvalidInput, UnknownDispute
from escalation.policies.inputs import as_dispute_id
from escalation.policies.rulebook import RuleBook

_VERSION = re.compile(r"^[0-9a-f]{16}$")
InFlightOption = Annotated[
    str,
    typer.Option(
        "--in-flight",
        help="Open disputes keep their deadlines (keep) or take the new limits (adopt).",
    ),
]


# -------------------------------------------------------------------- rules


@rules_app.command("activate")
def rules_activate(
    file: Annotated[Path, typer.Argument(help="The rule book to put in force.")],
    by: Annotated[str, typer.Option("--by", help="Who activates it (recorded).")],
    note: Annotated[str, typer.Option(help="Why (recorded).")] = "",
    in_flight: InFlightOption = "keep",
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Record FILE as the active rule book for new decisions, and apply it to open disputes."""
    book = RuleBook.load(file)
    report = activate(db, book, by=by, at=at, in_flight=in_flight, note=note)
    if not report.recorded:
        console.print(f"{book.version} ({file}) was already the active rule book", markup=False)
    else:
        was = f" (was {report.previous})" if report.previous else ""
        console.print(
            f"[green]active[/green]: {escape(f'{book.version} from {file}{was}, by {by}')}"
        )
    events = ", ".join(f"{n} {k}" for k, n in sorted(report.events.items())) or "no events"
    console.print(
        f"open disputes: {report.open}; changed by the new rules: {report.changed} "
        f"(in-flight: {report.in_flight}; {events}); old rules caught up first: "
        f"{report.caught_up} events",
        markup=False,
    )
    console.print("engines already running keep their rule book until restarted")


@rules_app.command("diff")
def rules_diff(
    a: Annotated[str, typer.Argument(help="A rules file, or a stored version (16 hex).")],
    b: Annotated[str, typer.Argument(help="A rules file, or a stored version (16 hex).")],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Show what changes from rule book A to B, in rule terms."""
    old, new = _book(a, db), _book(b, db)
    print_rule_diff(console, diff_rules(old, new), f"{a} ({old.version})", f"{b} ({new.version})")


@rules_app.command("history")
def rules_history(db: DbOption = DEFAULT_URL) -> None:
    """List the rule books this store has run with, and when each was activated."""
    with open_reader(db) as storage:
        log = storage.rulebooks.log()
    if log is None:
        console.print("no rule book recorded in this store yet")
        return
    # Times in the zone of the active rule book (or the latest stored), with its offset.
    shown = log.active.version if log.active is not None else next(reversed(log.books))
    zone = ZoneInfo(RuleBook.from_yaml(log.books[shown].text).calendar.timezone)
    table = Table(title="rule books", title_justify="left")
    for col in ("version", "source", "stored", "activations"):
        table.add_column(col, overflow="fold")
    for version, book in log.books.items():
        acts = [a for a in log.activations if a.version == version]
        active = log.active is not None and log.active.version == version
        table.add_row(
            *texts(
                f"{version}{' (active)' if active else ''}",
                book.source,
                f"{local_time(book.stored_at, zone)} by {book.stored_by}",
                "\n".join(
                    f"{local_time(a.at, zone)} by {a.by} ({a.in_flight})"
                    + (f": {a.note}" if a.note else "")
                    for a in acts
                ),
            )
        )
    console.print(table)


@rules_app.command("show")
def rules_show(
    version: Annotated[str, typer.Argument(help="A stored version (see rules history).")],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Print the exact text of a stored rule book (the rules behind a rules_version)."""
    with open_reader(db) as storage:
        stored = storage.rulebooks.stored(version)
    typer.echo(stored.text, nl=False)


def _book(ref: str, db: str) -> RuleBook:
    if Path(ref).is_file():
        return RuleBook.load(ref)
    if _VERSION.match(ref):
        with open_reader(db) as storage:
            return storage.rulebooks.book(ref)
    raise InvalidInput(f"{ref!r} is neither a rules file nor a stored version (16 hex digits)")


# ----------------------------------------------------------------- simulate


@app.command("simulate")
def simulate_command(
    rules: Annotated[Path, typer.Option("--rules", help="The candidate rule book.")],
    db: DbOption = DEFAULT_URL,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Only disputes received from this day (YYYY-MM-DD)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="Only disputes received up to this day, which is also the horizon."),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Changed disputes shown.")] = 20,
    dispute: Annotated[
        str | None, typer.Option(help="Show one dispute's two timelines side by side.")
    ] = None,
    open_now: Annotated[
        bool, typer.Option("--open-now", help="What the candidate would do to open disputes now.")
    ] = False,
    at: AtOption = None,
    days: Annotated[int, typer.Option(min=1, help="--open-now: how far ahead to look.")] = 30,
    in_flight: InFlightOption = "keep",
    current: Annotated[
        Path | None, typer.Option(help="--open-now: the rules in force (default: the active ones).")
    ] = None,
) -> None:
    """Replay the recorded facts under a candidate rule book; compare with what happened.

    The live database is opened read-only: nothing is written.
    """
    candidate = RuleBook.load(rules)
    zone = ZoneInfo(candidate.calendar.timezone)
    start = _day(from_, "--from", zone)
    end = _day(to, "--to", zone, end_of_day=True)
    with open_reader(db) as storage:
        if dispute is not None:
            _one(storage.store, candidate, dispute, start, end, zone)
        elif open_now:
            _open_now(storage, candidate, current, at, days, in_flight, limit)
        else:
            horizon = _simulate(storage.store, candidate, start, end, limit, html)
            _warn_if_untended(storage.store, horizon, zone, db)


def _warn_if_untended(store: DisputeLog, horizon: datetime, zone: ZoneInfo, db: str) -> None:
    """One line when the recorded side lacks ticks the replay makes up to the horizon."""
    with store.reading() as session:
        warning = untended_warning(untended(session, horizon), horizon, zone, db)
    if warning is not None:
        errors.print(warning, markup=False, highlight=False, soft_wrap=True)


def _simulate(
    store: DisputeLog,
    candidate: RuleBook,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    html: Path | None,
) -> datetime:
    """Print the comparison; return its horizon."""
    with progress_shown("replaying disputes", transient=True) as advance:
        run = simulate(
            store, candidate, start=start, end=end, keep=max(limit, 200), progress=advance
        )
    print_simulation(console, run, limit=limit, tiers=candidate.tiers)
    if html is not None:
        write_html(html, html_report(run, candidate.tiers, limit=limit))
    return run.window.horizon


def _one(
    store: DisputeLog,
    candidate: RuleBook,
    ref: str,
    start: datetime | None,
    end: datetime | None,
    zone: ZoneInfo,
) -> None:
    did: UUID = as_dispute_id(ref)
    reader = LogReader(store)
    horizon = window(reader, reader.head(), start, end).horizon
    recorded = cast("list[Dispute.Event]", list(store.events.get(did)))
    events = [e for e in recorded if e.occurred_at <= horizon]
    if not events:
        raise UnknownDispute(f"no dispute with id {did} (by {horizon.isoformat()})")
    replayed = replay(facts_of(events), memoised(candidate), horizon)
    label = candidate.label
    print_timelines(
        console,
        str(did),
        timeline(events, label, zone),
        timeline(replayed.events, label, zone),
        zone,
    )
    if not replayed.events:
        details = "; ".join(n.detail for n in replayed.notes)
        console.print(f"skipped under the candidate: {details}", markup=False)
        return
    rows = differences(summarise(events, horizon), summarise(replayed.events, horizon), label, zone)
    for what, a, b in rows:
        console.print(f"{what}: {a} → {b}", markup=False)
    for note in replayed.notes:
        console.print(
            f"{note.event} at {local_time(note.at, zone)} {note.kind}: {note.detail}",
            markup=False,
        )
    if not rows:
        console.print("[green]no differences[/] for this dispute")


def _open_now(
    storage: Storage,
    candidate: RuleBook,
    current: Path | None,
    at: datetime | None,
    days: int,
    in_flight: str,
    limit: int,
) -> None:
    in_flight = in_flight_mode(in_flight)
    now_rules = _in_force(storage, current)
    reader = LogReader(storage.store)
    last = reader.last_event_time(reader.head())
    now = at.astimezone(UTC) if at is not None else datetime.now(UTC)
    if last is not None and now < last:
        console.print(
            f"the log runs to {last.isoformat()}, after {now.isoformat()}: using it as now"
        )
        now = last
    with progress_shown("reading open disputes", transient=True) as advance:
        result = forecast(
            storage.store,
            now_rules,
            candidate,
            now=now,
            until=now + timedelta(days=days),
            in_flight=in_flight,
            keep=max(limit, 200),
            progress=advance,
        )
    print_forecast(console, result, limit=limit)


def _in_force(storage: Storage, current: Path | None) -> RuleBook:
    if current is not None:
        return RuleBook.load(current)
    active = storage.rulebooks.active()
    if active is not None:
        return storage.rulebooks.book(active.version)
    console.print("no active rule book recorded: taking the packaged default as the current rules")
    return RuleBook.default()


def _day(
    text: str | None, option: str, zone: ZoneInfo, *, end_of_day: bool = False
) -> datetime | None:
    """A local day as an instant: its start, or (``end_of_day``) the start of the next."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option} {text!r} is not a date; write it like 2026-09-30") from None
    if end_of_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@rules_app.command("check")
def rules_check(file: Annotated[Path, typer.Argument(help="The rule book to validate.")]) -> None:
    """Validate a rule book; print a summary, or every problem with its line."""
    book = RuleBook.load(file)
    console.print(f"[green]ok[/green] {escape(f'{file}: version {book.version}')}")
    uses_workdays = any(
        limit.unit == "workdays"
        for t in book.tiers
        for limit in (book.tier(t).handle_within, *book.tier(t).by_risk.values())
    )
    warning = book.calendar.data_warning() if uses_workdays else None
    if warning is not None:
        console.print(f"[yellow]warning[/yellow] {escape(f'{file}: {warning}')}")
    console.print(
        f"  tiers {' → '.join(book.tiers)}; {len(book.units)} units; "
        f"{len(book.risk_rules)} risk, {len(book.elevate_rules)} elevation, "
        f"{len(book.routing_rules)} routing rules",
        markup=False,
    )
    for tier in book.tiers:
        t = book.tier(tier)
        ladder = ", ".join(f"{s.notice} at {s.at:.0%}" for s in t.notices) or "no notices"
        by_risk = "".join(f" ({risk}: {limit})" for risk, limit in t.by_risk.items())
        console.print(
            f"  {tier}: within {t.handle_within}{by_risk}, max attempts "
            f"{t.max_mediation_attempts or 'unlimited'}; {ladder}",
            markup=False,
        )
    hours = book.to_dict().get("working_hours")
    console.print(
        f"  notices in office hours {', '.join(hours)}" if hours else "  notices at any hour"
    )
    for notice, condition in book.notice_conditions.items():
        console.print(f"  {notice} only when {condition.source}", markup=False)
    at_once = [r.id for r in book.routing_rules if r.at_once]
    if at_once:
        console.print(f"  routed at receipt: {', '.join(at_once)}", markup=False)
    summon, leaders = book.summon, book.leaders
    on_routing = ", ".join(sorted(summon.on_routing)) or "none"
    console.print(
        f"  {len(book.departments)} departments; check in within {summon.check_in_within}, "
        f"report every {summon.feedback_every}; summoned on routing: {on_routing}",
        markup=False,
    )
    if leaders.required_when is not None:
        console.print(
            f"  a leader within {leaders.within} when {leaders.required_when.source} "
            f"({len(leaders.people)} leaders listed)",
            markup=False,
        )
