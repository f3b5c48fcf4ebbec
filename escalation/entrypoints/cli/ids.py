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
from typing import Any, Final
from uuid import UUID

import typer
from sqlalchemy import Engine, String, cast, column, create_engine, func, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnClause
from typer.core import TyperCommand

from escalation.adapters.store import STORE_NAME
from escalation.application.engine import DEFAULT_URL
from escalation.errors import InvalidInput, UnknownDispute

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


class DisputeCommand(TyperCommand):
    """A command whose ``dispute`` (an id, or a list of ids) may be given by prefix."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        value = ctx.params.get("dispute")
        if value:
            url = ctx.params.get("db") or os.environ.get("ESCALATION_DB") or DEFAULT_URL
            if isinstance(value, str):
                ctx.params["dispute"] = resolve(url, value)
            elif isinstance(value, list | tuple):
                ctx.params["dispute"] = [resolve(url, v) for v in value]
        return super().invoke(ctx)


def take_prefixes(app: typer.Typer) -> None:
    """Make every command of ``app`` (and its groups) with a ``dispute`` parameter take prefixes."""
    for info in app.registered_commands:
        code = getattr(info.callback, "__code__", None)
        plain = info.cls in (None, TyperCommand)
        if plain and code is not None and "dispute" in code.co_varnames:
            info.cls = DisputeCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            take_prefixes(group.typer_instance)
