"""Database URLs and driver errors as they may be shown: no password, no SQL parameters."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def masked(url: object) -> str:
    """``url`` with its password replaced by ``***``, for any message or log line."""
    text = str(url)
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        # Not a URL SQLAlchemy reads: hide anything between "://user:" and "@" all the same.
        head, sep, rest = text.partition("://")
        if sep and "@" in rest:
            cred, _, host = rest.rpartition("@")
            user = cred.split(":", 1)[0]
            return f"{head}://{user}:***@{host}"
        return text


def driver_message(exc: BaseException) -> str:
    """The innermost cause's class and first line: never ``[SQL: ...]``, ``[parameters: ...]``."""
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    orig = getattr(inner, "orig", None)  # a SQLAlchemy StatementError wraps the driver's
    if isinstance(orig, BaseException):
        inner = orig
    first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    for marker in ("[SQL:", "[parameters:"):
        first = first.split(marker, 1)[0].rstrip()
    name = type(inner).__name__
    return f"{name}: {first}" if first else name


def storage_problem(exc: BaseException) -> str:
    """What to tell a person when the database refused an operation."""
    message = f"the database refused the operation: {driver_message(exc)}"
    if "database is locked" in message:
        message += (
            " (another connection holds the SQLite write lock; inside your own "
            "transaction, pass it to the engine as session=)"
        )
    return message
