"""The one Jinja2 environment of the engine's HTML reports.

Autoescape is on for every template, so text from a rule book or from people
reaches a page only escaped; ``StrictUndefined`` turns a misspelt name in a
template into an error instead of an empty cell. Templates are package data
(``escalation/application/templates``), so an installed wheel renders the same.
Papers (their own folder, overridable by a centre) and the console have theirs.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment() -> Environment:
    """Built once per process: compiling templates is the slow part."""
    return Environment(
        loader=PackageLoader("escalation.application", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: object) -> str:
    """``template`` (a name under ``templates/``) filled in with ``context``."""
    return environment().get_template(template).render(**context)
