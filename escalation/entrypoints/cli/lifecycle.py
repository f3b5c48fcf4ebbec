"""Commands of the case's lifecycle around the tier loop.

accept / decline (受理 / 不予受理), follow-up (回访) and the follow-up queue,
pause / resume (中止), remand (交办). Each records one command, as
``mediate`` does, and prints the dispute's state after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from escalation.application.engine import DEFAULT_URL
from escalation.application.event_text import local_time
from escalation.entrypoints.cli.disputes import _record
from escalation.entrypoints.cli.hints import last_day_hint, newest_event_at
from escalation.entrypoints.cli.options import (
    COLOURS,
    AtOption,
    DbOption,
    RulesOption,
    app,
    console,
    errors,
    open_engine,
    zone_of,
)


@app.command()
def accept(
    dispute: str,
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Accept a receipt waiting for acceptance (受理; rule books with explicit acceptance)."""
    _record(
        db,
        rules,
        lambda engine: engine.accept(dispute, actor=actor, request_id=request_id, at=at),
        dispute,
    )


@app.command()
def decline(
    dispute: str,
    reason: Annotated[str, typer.Option(help="Why it is not taken on; the person is told.")],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Decline a receipt waiting for acceptance (不予受理); the dispute ends."""
    _record(
        db,
        rules,
        lambda engine: engine.decline(
            dispute, reason=reason, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("follow-up")
def follow_up(
    dispute: str,
    outcome: Annotated[str, typer.Option(help="settled (closes) or unsettled (reopens).")],
    actor: Annotated[str, typer.Option()],
    note: str = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Record the follow-up (回访) of a settled dispute."""
    _record(
        db,
        rules,
        lambda engine: engine.follow_up(
            dispute, outcome=outcome, actor=actor, note=note, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("follow-ups")
def follow_ups(
    unit: Annotated[str | None, typer.Argument(help="Unit id (omit for all units).")] = None,
    tier: Annotated[str | None, typer.Option(help="Only this tier.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Show the settled disputes waiting for their follow-up, earliest due first."""
    with open_engine(db, rules) as engine:
        zone = zone_of(engine)
        items = engine.follow_ups(unit=unit, tier=tier)
        now = datetime.now(UTC)
        title = f"follow-ups {unit or ''} {tier or ''}".strip() + f": {len(items)} settled"
        table = Table(title=Text(title), title_justify="left")
        for col in ("dispute", "unit", "tier", "risk", "category", "follow-up due (local)"):
            # Ids are never cut: a clerk copies them into the next command.
            table.add_column(col, no_wrap=col == "dispute", overflow="fold")
        book = engine.rules
        for item in items[:limit]:
            due = local_time(item.due_at, zone) + (" overdue" if item.overdue(now) else "")
            table.add_row(
                str(item.dispute_id),
                Text(item.unit),
                Text(book.label("tiers", item.tier)),
                Text(book.label("risks", item.risk), style=COLOURS[item.colour]),
                Text(book.label("categories", item.category)),
                due,
            )
        console.print(table)
        with engine.store.reading() as session:
            hint = last_day_hint(newest_event_at(session), now, zone)
        if hint is not None:
            errors.print(hint, markup=False, highlight=False)


@app.command()
def pause(
    dispute: str,
    reason: Annotated[str, typer.Option(help="Why the clocks stop (an appraisal, ...).")],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Pause a dispute (中止): its deadlines and notices stop until it is resumed."""
    _record(
        db,
        rules,
        lambda engine: engine.pause(
            dispute, reason=reason, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def resume(
    dispute: str,
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Resume a paused dispute; deadlines move on by the paused working time."""
    _record(
        db,
        rules,
        lambda engine: engine.resume(dispute, actor=actor, request_id=request_id, at=at),
        dispute,
    )


@app.command()
def remand(
    dispute: str,
    to_unit: Annotated[str, typer.Option(help="A unit below the one holding the dispute.")],
    instructions: Annotated[str, typer.Option(help="What the unit below is asked to do.")],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Hand a dispute back down (交办) to a unit below, with instructions."""
    _record(
        db,
        rules,
        lambda engine: engine.remand(
            dispute,
            to_unit=to_unit,
            instructions=instructions,
            actor=actor,
            request_id=request_id,
            at=at,
        ),
        dispute,
    )
