"""The ``escalation`` command line (typer + rich).

``options`` holds what every command shares; each module registers its
commands on ``options.app`` when imported here.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from escalation.entrypoints.cli import (
    audit,
    casework,
    demo,
    disputes,
    http,
    imports,
    lifecycle,
    papers,
    rules,
    service,
)
from escalation.entrypoints.cli.ids import take_prefixes
from escalation.entrypoints.cli.options import app, errors
from escalation.errors import EscalationError

__all__ = [
    "app",
    "audit",
    "casework",
    "demo",
    "disputes",
    "http",
    "imports",
    "lifecycle",
    "main",
    "papers",
    "print_error",
    "rules",
    "service",
]

# Registered last: every command with a dispute id takes an unambiguous prefix.
take_prefixes(app)


def main() -> None:
    try:
        app()
    except EscalationError as exc:
        print_error(exc)
        raise SystemExit(2) from None


def print_error(exc: EscalationError, out: Console = errors) -> None:
    """``error: ...`` on stderr; the message is data (names, input), never markup."""
    out.print(Text.assemble(("error:", "red"), f" {exc}"), highlight=False, soft_wrap=True)
