"""The event store: an ``eventsourcing`` application on ``eventsourcing-sqlalchemy``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

from escalation.errors import StorageError
from projections.ddl import create_serialised

#: Fixed, so renaming a class never moves the data: the tables are
#: ``escalation_events`` and ``escalation_tracking``.
STORE_NAME = "escalation"


class CachedDatetimeAsISO(DatetimeAsISO):
    """``DatetimeAsISO`` (same name, same text) remembering recent texts.

    A dispute's events repeat its times (received, due, each notice of the
    schedule) and a batch shares its recorded time; formatting a datetime
    costs several lookups. The text depends on the instant and the offset.
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.texts: dict[tuple[datetime, timedelta | None], str] = {}

    def encode(self, obj: datetime) -> str:
        key = (obj, obj.utcoffset())
        text = self.texts.get(key)
        if text is None:
            if len(self.texts) >= self.size:
                self.texts.clear()
            text = self.texts[key] = obj.isoformat()
        return text


class DisputeLog(Application[UUID]):
    name = STORE_NAME

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(CachedDatetimeAsISO())

    def close(self) -> None:
        """Close the application and the SQLAlchemy engine's pooled connections."""
        super().close()
        engine = getattr(getattr(self.recorder, "datastore", None), "engine", None)
        if engine is not None:
            engine.dispose()


def open_store(url: str) -> DisputeLog:
    """Open (creating tables if needed) the store at a SQLAlchemy URL."""
    if not isinstance(url, str) or "://" not in url:
        raise StorageError(
            f"database URL {url!r} is not a SQLAlchemy URL; use e.g. sqlite:///escalation.db "
            "or postgresql+psycopg://user:pass@localhost/escalation"
        )
    env = {
        "PERSISTENCE_MODULE": "escalation.persistence:Factory",
        "SQLALCHEMY_URL": url,
        "CREATE_TABLE": "y",
    }
    try:
        # Several processes may start at once on an empty database.
        app = create_serialised(url, lambda: _touched(DisputeLog(env=env)))
    except Exception as exc:  # the driver's errors differ by backend and cause
        raise StorageError(f"cannot open the database at {url}: {_cause(exc)}") from exc
    return app


def _touched(app: DisputeLog) -> DisputeLog:
    app.recorder.max_notification_id()  # touch the database now, not mid-command
    return app


def _cause(exc: BaseException) -> str:
    inner: Any = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    return str(inner).splitlines()[0] if str(inner) else type(inner).__name__
