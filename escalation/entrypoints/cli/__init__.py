"""The ``escalation`` command line (typer + rich).

``options`` holds what every command shares; each module registers its
commands on ``options.app`` when imported here.
"""

from __future__ import annotations

from escalation.entrypoints.cli import audit, demo, disputes, imports, rules, service
from escalation.entrypoints.cli.options import app, errors
from escalation.errors import EscalationError

__all__ = ["app", "audit", "demo", "disputes", "imports", "main", "rules", "service"]


def main() -> None:
    try:
        app()
    except EscalationError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None
