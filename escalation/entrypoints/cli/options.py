"""What every command shares: the typer app, the common options, consoles and helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.text import Text

from escalation import bootstrap
from escalation.adapters.logs import configure_logging
from escalation.application.engine import EscalationEngine
from escalation.application.event_text import local_time
from escalation.policies.rulebook import RuleBook
from escalation.progress import Progress

app = typer.Typer(
    help="Tiered dispute escalation: community → street → district (就地化解、逐级上报、提级管理).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Work with rule books (tiers.yaml).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    str, typer.Option("--db", envvar="ESCALATION_DB", help="SQLAlchemy URL of the store.")
]
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        envvar="ESCALATION_RULES",
        help="Rule book file (default: the packaged tiers.yaml).",
    ),
]
#: Forms ``--at`` takes: with an offset, or local in the rule book's zone (a date: its
#: close), as ``--as-of`` does; a local one is given its zone by ``ids.CliCommand``.
AT_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
AtOption = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        formats=AT_FORMATS,
        help="When it happened (default: now): 2026-03-02T09:30+08:00, or local in the rule "
        "book's zone (2026-03-02T09:30), or a date (its local close).",
    ),
]
COLOURS = {"red": "bold red", "yellow": "yellow", "blue": "blue"}


def load_rules(path: Path | None) -> RuleBook:
    return RuleBook.load(path) if path is not None else RuleBook.default()


def open_engine(db: str, rules: Path | None) -> EscalationEngine:
    """The engine on ``db`` with the rule book file, or the store's active one."""
    return bootstrap.open_engine(RuleBook.load(rules) if rules else None, db)


def zone_of(engine: EscalationEngine) -> ZoneInfo:
    """The rule book's time zone, in which every command shows times."""
    return ZoneInfo(engine.rules.calendar.timezone)


#: A UTC time as decisions write it in their reasons (``due 2026-03-09T16:00:00+00:00``).
_UTC_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\+00:00")


def local_in_text(text: str, zone: ZoneInfo) -> str:
    """``text`` with the UTC times in it shown in ``zone`` (the stored text is unchanged)."""
    return _UTC_IN_TEXT.sub(lambda m: local_time(datetime.fromisoformat(m.group(0)), zone), text)


def rule_and_why(
    rule_id: str | None,
    rules_version: str | None,
    reason: str | None,
    zone: ZoneInfo | None = None,
    *,
    indent: str = "",
) -> Text:
    """A table cell: the rule behind a decision @ its rule book's version, then why.

    Plain text (data is never read as markup), the rule id highlighted; with
    ``zone``, times in the reason read in that zone.
    """
    cell = Text()
    if rule_id:
        cell.append(indent).append(rule_id, style="cyan").append(f" @ {rules_version or ''}\n")
    why = reason or ""
    if zone is not None:
        why = local_in_text(why, zone)
    return cell.append(indent + why if why else "")


def write_html(path: Path, html: str) -> None:
    path.write_text(html, encoding="utf-8")
    console.print(f"wrote {path}", markup=False)


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :])
    return None


def progress_bar(on: Console = console, transient: bool = False) -> Bar:
    return Bar(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=on,
        transient=transient,
    )


@contextmanager
def progress_shown(
    description: str, total: int | None = None, *, on: Console = console, transient: bool = False
) -> Iterator[Progress]:
    """A bar with one task, and the ``Progress`` callback (done, total) that moves it."""
    with progress_bar(on, transient) as bar:
        task = bar.add_task(description, total=total)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.callback()
def _root() -> None:
    """Every command takes --db URL (env ESCALATION_DB) and --rules FILE (env ESCALATION_RULES)."""
    # Warnings only for one-shot commands; `serve` raises the level itself.
    structlog.contextvars.clear_contextvars()
    configure_logging(default_level="warning")
