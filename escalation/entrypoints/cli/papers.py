"""The papers a clerk prints (一表两单四函一书): paper, papers.

``escalation paper ID`` writes one paper (HTML on stdout, or --html / --pdf
files); ``escalation papers --unit U --date D`` lists the letters and slips a
unit's centre sends that day, and writes them with --out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, cast
from uuid import UUID

import typer
from rich.table import Table
from rich.text import Text

from escalation import bootstrap
from escalation.aggregates.dispute import Dispute
from escalation.application.engine import DEFAULT_URL
from escalation.application.papers import KINDS, Paper, PaperDesk
from escalation.entrypoints.cli.options import DbOption, RulesOption, app, console, open_engine
from escalation.errors import InvalidInput

KIND_HELP = "Which paper: " + ", ".join(f"{k.code} ({k.title})" for k in KINDS) + "."
TemplatesOption = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Folder of templates (and papers.yaml) overriding the defaults "
        "(default: papers/ beside the --rules file).",
    ),
]
PersonalOption = Annotated[
    bool,
    typer.Option(
        "--personal-data/--no-personal-data",
        help="Print the parties' names, summary and claim (needs the master key).",
    ),
]


@contextmanager
def desk_on(
    db: str, rules: Path | None, templates: Path | None, personal_data: bool
) -> Iterator[PaperDesk]:
    """The desk on the store; without the master key, personal fields print as sealed."""
    with ExitStack() as stack:
        engine = stack.enter_context(open_engine(db, rules))
        history = None
        if getattr(engine.store.keyring, "master", None) is None:
            log = bootstrap.open_log(db)
            stack.callback(log.close)

            def history(dispute_id: UUID) -> Sequence[Dispute.Event]:
                return cast("list[Dispute.Event]", list(log.events.get(dispute_id)))

        yield PaperDesk(engine, templates=templates, personal_data=personal_data, history=history)


@app.command()
def paper(
    dispute: str,
    kind: Annotated[str | None, typer.Option(help=KIND_HELP)] = None,
    event: Annotated[
        int | None, typer.Option(help="The paper of this event (its # in `history`).")
    ] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the PDF (A4) to this file.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML to this file.")] = None,
    personal_data: PersonalOption = True,
    templates: TemplatesOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """One paper of a dispute (its latest, or of --kind / --event): HTML on stdout,
    or written to --html / --pdf files. Its number is given once and kept.
    """
    with desk_on(db, rules, templates, personal_data) as desk:
        found = desk.paper(dispute, kind, version=event)
        if pdf is None and html is None:
            typer.echo(found.html, nl=False)
            return
        _write(found, html=html, pdf=pdf)


@app.command()
def papers(
    unit: Annotated[str, typer.Option(help="The unit whose centre sends them.")],
    day: Annotated[
        str, typer.Option("--date", help="The local date they are sent, e.g. 2026-03-05.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write each paper to this folder (NUMBER.html).")
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="With --out, write PDFs too.")] = False,
    personal_data: PersonalOption = True,
    templates: TemplatesOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """A day's letters and slips to send from a unit's centre, in time order."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"--date {day!r} is not a date (YYYY-MM-DD)") from None
    if pdf and out is None:
        raise InvalidInput("--pdf writes files: give --out FOLDER too")
    with desk_on(db, rules, templates, personal_data) as desk:
        found = desk.day(unit, when)
        table = Table(title=Text(f"papers of {unit} on {when}"), title_justify="left")
        for col in ("number", "paper", "to", "time limit"):
            table.add_column(col, overflow="fold")
        table.add_column("dispute", no_wrap=True, min_width=36)  # ids are never cut
        for p in found:
            table.add_row(
                Text(p.number),
                Text(p.title),
                Text(p.addressee),
                Text(p.time_limit or "—"),
                Text(str(p.dispute_id)),
            )
        console.print(table)
        n = len(found)
        console.print(f"{n} paper{'' if n == 1 else 's'}", markup=False)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for p in found:
                stem = out / p.number
                _write(
                    p, html=stem.with_suffix(".html"), pdf=stem.with_suffix(".pdf") if pdf else None
                )


def _write(found: Paper, *, html: Path | None, pdf: Path | None) -> None:
    if html is not None:
        html.write_text(found.html, encoding="utf-8")
        console.print(f"wrote {html}", markup=False)
    if pdf is not None:
        pdf.write_bytes(found.pdf())
        console.print(f"wrote {pdf}", markup=False)
