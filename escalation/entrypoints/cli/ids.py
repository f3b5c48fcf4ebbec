"""Dispute ids on the command line: a whole UUID, or an unambiguous prefix (as git takes).

Every command with a ``dispute`` parameter runs as ``DisputeCommand``: once
all its parameters are parsed (``--db`` among them), a ``dispute`` that is not
a whole UUID but at least ``MIN_PREFIX`` hex digits is looked up among the
disputes received in the store's log and
replaced by the one id it starts. Nothing else changes: the command then runs
with the whole id, and the library takes whole ids only.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine, String, cast, column, create_engine, func, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnClause
from typer.core import TyperCommand

from escalation import bootstrap
from escalation.adapters.store import STORE_NAME
from escalation.application.engine import DEFAULT_URL
from escalation.application.periods import end_of_day
from escalation.errors import EscalationError, InvalidInput, UnknownDispute
from escalation.policies.rulebook import RuleBook

MIN_PREFIX: Final = 4
#: The log's table, and the stored name of the event that begins every dispute.
EVENTS: Final = f"{STORE_NAME}_events"
RECEIVED: Final = "escalation/Dispute.Received"
_HEX = re.compile(r"^[0-9a-fA-F-]+$")
#: How many matches an ambiguous prefix lists.
_SHOWN: Final = 5


def resolve(url: str, text: str) -> str:
    """The whole id ``text`` starts, or ``text`` itself when it is whole or no prefix."""
    digits = text.replace("-", "").lower()
    try:
        UUID(text)
    except ValueError:
        pass
    else:
        return text  # whole already
    if len(digits) < MIN_PREFIX or not _HEX.match(text) or len(digits) >= 32:
        return text  # not a prefix: the command says what is wrong with it
    try:
        bind = create_engine(url, poolclass=NullPool)
    except (SQLAlchemyError, ValueError):
        return text
    try:
        if not inspect(bind).has_table(EVENTS):
            return text
        found = _starting(bind, digits)
    except SQLAlchemyError:
        return text  # the command opens the store itself and reports what is wrong
    finally:
        bind.dispose()
    if not found:
        raise UnknownDispute(f"no dispute with an id starting {text!r}")
    if len(found) > 1:
        listed = ", ".join(found[:_SHOWN]) + (", …" if len(found) > _SHOWN else "")
        raise InvalidInput(f"dispute id {text!r} is ambiguous: it starts {listed}; give more of it")
    return found[0]


def _starting(bind: Engine, digits: str) -> list[str]:
    """Ids of the disputes received (version 1) whose hex digits start ``digits``."""
    ids: ColumnClause[Any] = column("originator_id")
    log = table(EVENTS, ids, column("originator_version"), column("topic"))
    if bind.dialect.name == "sqlite":  # stored as 16 bytes
        hex_id = func.lower(func.hex(ids))
    else:  # a uuid
        hex_id = func.replace(cast(ids, String), "-", "")
    query = (
        select(ids)
        .select_from(log)
        .where(
            log.c.originator_version == 1,
            log.c.topic == RECEIVED,
            hex_id.like(f"{digits}%"),
        )
        .order_by(ids)
        .limit(_SHOWN + 1)
    )
    with bind.connect() as conn:
        return [str(_uuid(row[0])) for row in conn.execute(query)]


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes | memoryview):
        return UUID(bytes=bytes(value))
    return UUID(str(value))


def zone_for(url: str, rules: Path | None) -> ZoneInfo:
    """The zone local times are read in: the --rules file's, else the store's active book's."""
    if rules is not None:
        return ZoneInfo(RuleBook.load(rules).calendar.timezone)
    try:
        with bootstrap.open_reader(url) as storage:
            log = storage.rulebooks.log()
    except EscalationError:
        log = None
    if log is not None and log.active is not None:
        text = log.books[log.active.version].text
        return ZoneInfo(RuleBook.from_yaml(text).calendar.timezone)
    return ZoneInfo(RuleBook.default().calendar.timezone)


def localised(value: datetime, raw: str, zone: ZoneInfo) -> datetime:
    """A time without an offset, in ``zone``; a date alone is its local close."""
    if value.tzinfo is not None:
        return value
    if len(raw.strip()) == len("2026-03-02"):
        return end_of_day(value.date(), zone.key)
    return value.replace(tzinfo=zone)


class DisputeCommand(TyperCommand):
    """A command whose ``dispute`` may be given by prefix and ``--at`` without an offset."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        url = ctx.params.get("db") or os.environ.get("ESCALATION_DB") or DEFAULT_URL
        value = ctx.params.get("dispute")
        if value:
            if isinstance(value, str):
                ctx.params["dispute"] = resolve(url, value)
            elif isinstance(value, list | tuple):
                ctx.params["dispute"] = [resolve(url, v) for v in value]
        at = ctx.params.get("at")
        if isinstance(at, datetime) and at.tzinfo is None:
            raw = _raw_option(ctx, "--at")
            ctx.params["at"] = localised(at, raw, zone_for(url, ctx.params.get("rules")))
        return super().invoke(ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Kept to tell a date (its local close) from a time at midnight: both parse alike.
        ctx._escalation_args = tuple(args)
        return list(super().parse_args(ctx, args))


def _raw_option(ctx: Any, name: str) -> str:
    args = list(getattr(ctx, "_escalation_args", ()))
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return str(args[i + 1])
        if arg.startswith(name + "="):
            return str(arg.split("=", 1)[1])
    return ""


def take_prefixes(app: typer.Typer) -> None:
    """Every command of ``app`` (and its groups) with a dispute id or ``--at`` as above."""
    for info in app.registered_commands:
        code = getattr(info.callback, "__code__", None)
        plain = info.cls in (None, TyperCommand)
        wanted = code is not None and {"dispute", "at"} & set(code.co_varnames)
        if plain and wanted:
            info.cls = DisputeCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            take_prefixes(group.typer_instance)
