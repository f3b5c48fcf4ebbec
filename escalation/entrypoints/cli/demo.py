"""``escalation demo``: a seeded, realistic month on a fresh store."""

from __future__ import annotations

import time as systime
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from escalation import bootstrap
from escalation.adapters.personal_data import (
    MASTER_KEY_VARIABLE,
    create_key_file,
    key_file_beside,
    master_key_from,
)
from escalation.application.demo import DemoResult, run_demo
from escalation.application.engine import DEFAULT_URL, EscalationEngine, QueueItem
from escalation.application.figures_report import figures_table
from escalation.application.periods import Period
from escalation.entrypoints.cli.casework import departments_table
from escalation.entrypoints.cli.options import (
    RulesOption,
    app,
    console,
    load_rules,
    progress_bar,
    sqlite_path,
)
from escalation.errors import EscalationError
from escalation.policies.rulebook import RuleBook


@app.command()
def demo(
    db: Annotated[
        str, typer.Option("--db", help="Where to write the demo store (made fresh).")
    ] = "sqlite:///escalation-demo.db",
    rules: RulesOption = None,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day of the month.")
    ] = datetime(2026, 9, 1),  # noqa: DTZ001 - a calendar day, naive as typer parses --start
    days: Annotated[int, typer.Option(min=1, max=366)] = 30,
    per_day: Annotated[int, typer.Option(min=1, help="Mean disputes registered a day.")] = 60,
    seed: int = 2025,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing store at --db.")] = False,
) -> None:
    """Run a seeded, realistic month of a Luohu-sized district and show the tier queues."""
    path = sqlite_path(db)
    if path is not None and path.exists():
        if path.name != "escalation-demo.db" and not overwrite:
            raise EscalationError(f"{path} exists; pass --overwrite to replace it")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    book = load_rules(rules)
    _master_key_beside(db)
    first = start.date()
    began = systime.perf_counter()
    with bootstrap.open_engine(book, db) as engine, progress_bar() as progress:
        if engine.projections.head():
            raise EscalationError(
                f"the store at {db} already holds events; the demo needs a fresh one "
                "(SQLite files are replaced, other databases are never emptied by the demo)"
            )
        task = progress.add_task("simulating", total=days)

        def day_done(day: date) -> None:
            progress.update(task, advance=1, description=f"simulating {day.isoformat()}")

        result = run_demo(engine, first, days=days, seed=seed, per_day=per_day, on_day=day_done)
        elapsed = systime.perf_counter() - began
    with bootstrap.open_engine(book, db) as engine:
        urgent = _show_queues(engine, book, result.end_at or datetime.now(UTC))
        month = Period(first, first + timedelta(days=days - 1))
        rows = engine.department_figures(month)
        console.print(departments_table(rows, book, f"departments summoned (吹哨报到) {month}"))
    _show_figures(result, elapsed, book)
    _show_next(db, month.last, urgent)


def _show_next(db: str, last_day: date, urgent: QueueItem | None) -> None:
    """The exact commands that read the demo's store as of its last day.

    The demo writes its own store (never the default one, which may hold real
    work) and its month ended in the past: without --db other commands open
    the default store, and without --as-of "overdue" means by today.
    """
    console.print(
        f"the demo's store is {db} (other commands default to {DEFAULT_URL}); "
        f"its month ends {last_day}, so read it as of that day:",
        markup=False,
    )
    commands = [f"escalation queue --db {db} --as-of {last_day}"]
    if urgent is not None:
        commands.append(f"escalation history {str(urgent.dispute_id)[:8]} --db {db}")
    for command in commands:  # whole lines, never folded: people copy them
        console.print(f"  {command}", markup=False, soft_wrap=True, highlight=False)
    console.print(
        f"or for every command: export ESCALATION_DB={db}",
        markup=False,
        soft_wrap=True,
        highlight=False,
    )


def _master_key_beside(db: str) -> None:
    """No set-up: a demo store without a master key gets a key file beside it."""
    beside = key_file_beside(db)
    if master_key_from(None) is not None or beside is None or beside.exists():
        return
    create_key_file(beside)
    # The path on a line of its own, never folded (people copy it); the rest folds.
    console.print(f"created the master key file {beside}:", markup=False, soft_wrap=True)
    console.print(
        "it opens the demo's personal data (people, summaries, notes); without it they "
        f"cannot be read. In production, give the key with {MASTER_KEY_VARIABLE} or "
        "ESCALATION_KEY_FILE (docs/personal-data.md).",
        markup=False,
    )


def _show_queues(engine: EscalationEngine, book: RuleBook, now: datetime) -> QueueItem | None:
    """The open disputes per tier, top tier first; returns the one to look at first."""
    items = engine.queue()
    for tier in reversed(book.tiers):
        at_tier = [i for i in items if i.tier == tier]
        title = f"queue at {book.label('tiers', tier)}: {len(at_tier)} open"
        table = Table(title=Text(title), title_justify="left")
        for col in ("unit", "open", "red", "yellow", "blue", "overdue", "elevated here"):
            table.add_column(col, justify="left" if col == "unit" else "right")
        per_unit: dict[str, list[QueueItem]] = {}
        for item in at_tier:
            per_unit.setdefault(item.unit, []).append(item)
        ranked = sorted(per_unit.items(), key=lambda kv: -len(kv[1]))
        for unit, queue in ranked[:8]:
            colours = Counter(i.colour for i in queue)
            table.add_row(
                Text(f"{unit} {book.units[unit].name}"),
                str(len(queue)),
                str(colours["red"]),
                str(colours["yellow"]),
                str(colours["blue"]),
                str(sum(i.overdue(now) for i in queue)),
                str(sum(i.elevated for i in queue)),
            )
        if len(ranked) > 8:
            rest = [i for _, q in ranked[8:] for i in q]
            table.add_row(f"… {len(ranked) - 8} more units", str(len(rest)), "", "", "", "", "")
        console.print(table)
    # The most urgent dispute of the highest tier holding any: the one to look at first.
    return min(items, key=lambda i: -book.tier_index(i.tier), default=None)


def _show_figures(result: DemoResult, elapsed: float, book: RuleBook) -> None:
    assert result.figures is not None
    title = f"figures {result.start} + {result.days} days"
    console.print(figures_table(result.figures, title, book.label))
    console.print(
        f"{result.received:,} disputes received, {result.commands:,} commands, "
        f"{result.events:,} events written in {elapsed:.1f}s ({result.events / elapsed:,.0f}/s)"
    )
