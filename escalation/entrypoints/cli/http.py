"""``escalation http`` (the HTTP service) and ``escalation tokens`` (its bearer tokens).

Registered on the main app when ``escalation.entrypoints.cli`` imports this module.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from escalation import bootstrap
from escalation.adapters.logs import configure_logging, get_logger
from escalation.application.access import Principal
from escalation.application.engine import DEFAULT_URL
from escalation.entrypoints.cli.options import DbOption, RulesOption, app, console, load_rules
from escalation.errors import InvalidInput

log = get_logger("escalation.http")
tokens_app = typer.Typer(
    help="Bearer tokens of the HTTP service: each acts as one role in one scope.",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")


@app.command("http")
def http(
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to listen on (loopback by default).")
    ] = "127.0.0.1:8000",
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Serve the HTTP API and the console (uvicorn); stops cleanly on SIGTERM or Ctrl-C.

    Put it behind a reverse proxy for TLS; see docs/http.md.
    """
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from escalation.http import create_app  # noqa: PLC0415 - nor the app

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInput(f"--listen {listen!r}: give HOST:PORT, like 127.0.0.1:8000")
    configure_logging(default_level="info")
    engine, tokens = bootstrap.open_service(load_rules(rules) if rules else None, db)
    try:
        config = uvicorn.Config(
            create_app(engine, tokens),
            host=host.strip("[]"),
            port=int(port),
            log_level="warning",
            timeout_graceful_shutdown=20,
            proxy_headers=False,
        )
        server = _server_class()(config)
        log.info("http.started", listen=listen)
        server.run()
        log.info("http.stopped", stopped_by=server.stopped_by)
    finally:
        engine.shutdown()


def _server_class() -> type[Any]:
    import uvicorn  # noqa: PLC0415 - only `escalation http` needs the server

    class Server(uvicorn.Server):
        """uvicorn's server, ending with exit status 0 on SIGTERM or SIGINT.

        uvicorn stops accepting, lets requests under way finish (up to the
        graceful timeout) and then re-raises the signal, which would kill the
        process before the engine is shut down; here the signal is noted instead.
        """

        stopped_by: str | None = None

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(number: int, frame: FrameType | None) -> None:
                self.stopped_by = signal.Signals(number).name
                self.handle_exit(number, frame)

            caught = (signal.SIGTERM, signal.SIGINT)
            previous = {number: signal.signal(number, stop) for number in caught}
            try:
                yield
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)

    return Server


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help="clerk, leader, department, auditor, ...")],
    unit: Annotated[
        list[str] | None, typer.Option("--unit", help="A unit of the scope (repeatable).")
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="The department (role department).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Recorded as the actor (default: role@scope).")
    ] = None,
    personal_data: Annotated[
        bool, typer.Option("--personal-data", help="An auditor's grant to see personal data.")
    ] = False,
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", min=1, help="Days until it expires.")
    ] = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Make a bearer token and print it once (only its hash is kept)."""
    units = tuple(unit or ())
    scope = department or ",".join(units) or "all"
    principal = Principal(
        name=name or f"{role}@{scope}",
        role=role,
        units=units,
        department=department,
        personal_data=personal_data,
    )
    engine, tokens = bootstrap.open_service(load_rules(rules) if rules else None, db)
    try:
        engine.scoped(principal)  # the role, units and department must make a valid scope
        now = datetime.now(UTC)
        expires = now + timedelta(days=expires_in) if expires_in else None
        secret, info = tokens.create(principal, now, expires)
    finally:
        engine.shutdown()
    console.print(f"token {info.id} for {principal.name} ({role}); shown only now:", markup=False)
    typer.echo(secret)


@tokens_app.command("list")
def tokens_list(db: DbOption = DEFAULT_URL) -> None:
    """The tokens (never their secrets): id, principal, scope, made, revoked."""
    storage, tokens = bootstrap.open_tokens(db)
    with storage:
        found = tokens.list()
    table = Table(title="tokens", title_justify="left")
    for col in ("id", "name", "role", "scope", "created", "expires", "revoked"):
        table.add_column(col, overflow="fold")
    for t in found:
        p = t.principal
        scope = p.department or ", ".join(p.units) or "all units"
        table.add_row(
            *(
                Text(v)
                for v in (
                    t.id,
                    p.name,
                    p.role + (" +personal data" if p.personal_data else ""),
                    scope,
                    f"{t.created_at:%Y-%m-%d %H:%M}Z" if t.created_at else "",
                    f"{t.expires_at:%Y-%m-%d %H:%M}Z" if t.expires_at else "",
                    f"{t.revoked_at:%Y-%m-%d %H:%M}Z" if t.revoked_at else "",
                )
            )
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see tokens list).")],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Revoke a token: requests with it get 401 (a running service: within 5 seconds)."""
    storage, tokens = bootstrap.open_tokens(db)
    with storage:
        info = tokens.revoke(token_id, datetime.now(UTC))
    console.print(f"revoked {info.id} ({info.principal.name})", markup=False)
