"""``escalation import``: a platform's history from a JSON Lines file (registered on the app)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from escalation.application.engine import DEFAULT_URL
from escalation.application.import_format import count_lines, read_records
from escalation.application.importer import import_disputes
from escalation.entrypoints.cli.options import (
    DbOption,
    RulesOption,
    app,
    console,
    errors,
    open_engine,
    progress_bar,
    progress_shown,
)
from escalation.errors import EscalationError

#: Error messages listed after an import; the rest are counted.
SHOWN_ERRORS = 20


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="JSON Lines: one dispute per line (see docs/importing.md).")
    ],
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
            help="Apply time-driven decisions (notices, deadline escalations) up to "
            "this instant, with a UTC offset. Default: none beyond each record's facts.",
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option(min=1, help="Worker processes deciding records (default: CPUs).")
    ] = os.cpu_count() or 1,
    batch: Annotated[int, typer.Option(min=1, help="Disputes per transaction.")] = 1000,
    skip_invalid: Annotated[
        bool,
        typer.Option(help="Report malformed or refused records and go on, instead of stopping."),
    ] = False,
    project: Annotated[
        bool, typer.Option(help="Bring the read models up to date afterwards.")
    ] = True,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Import historical disputes, decided by the rules as if they had happened live.

    Lines whose request id is already in the store are skipped, so an
    interrupted import can be run again.
    """
    if until is not None and until.tzinfo is None:
        raise EscalationError("--until needs a UTC offset, e.g. 2025-06-30T00:00+08:00")
    if not file.is_file():
        raise EscalationError(f"no such file: {file}")
    total = count_lines(file)
    malformed: list[str] = []
    with open_engine(db, rules) as engine:
        with progress_bar() as progress:
            task = progress.add_task(f"importing {file.name}", total=total)
            began = time.perf_counter()
            report = import_disputes(
                engine,
                read_records(file, malformed if skip_invalid else None),
                until=until,
                batch=batch,
                jobs=jobs,
                skip_invalid=skip_invalid,
                # Malformed lines are counted here, not by the importer: it never sees them.
                progress=lambda seen: progress.update(task, completed=seen + len(malformed)),
            )
            elapsed = time.perf_counter() - began
            progress.update(task, completed=total)
        rate = report.events / elapsed if elapsed > 0 else 0.0
        console.print(
            f"imported {report.disputes:,} disputes, {report.events:,} events in "
            f"{elapsed:.1f}s ({rate:,.0f} events/s); {report.skipped:,} already there"
        )
        if project:
            with progress_shown("read models", engine.projections.head()) as advance:
                engine.catch_up(progress=advance)
    problems = malformed + report.errors
    if problems:
        errors.print(f"[yellow]{len(problems):,} lines left out:[/yellow]")
        for message in problems[:SHOWN_ERRORS]:
            errors.print(f"  {message}", markup=False)
        if len(problems) > SHOWN_ERRORS:
            errors.print(f"  ... and {len(problems) - SHOWN_ERRORS:,} more")
