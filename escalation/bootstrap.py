"""The composition root: the one place that turns a database into built objects.

Entry points (the CLI, the scheduler service, benchmarks, a host platform)
ask here for what they need; application code receives the built objects and
never opens a database itself (cosmicpython's ``bootstrap.py`` is the model).

* ``open_storage(url)`` — the event store (sealed log), the rule-book registry
  and the projection runner on one database;
* ``open_engine(rules, url, ...)`` — an engine on its own storage (a host
  platform passes ``bind=`` its SQLAlchemy engine instead of a URL);
* ``open_log(url)`` — the log for reading only (what-if, rule history): no
  table is created, SQLite files are opened read-only;
* ``open_reader(url)`` — the same, with the rule-book registry;
* ``activate(url, book, ...)`` — switch a store's rule book.
* ``open_service(rules, url)`` — the HTTP service: an engine and the bearer tokens;
* ``open_tokens(url)`` — the bearer tokens alone (``escalation tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Self

from sqlalchemy import Engine, inspect

from escalation.adapters.database import driver_message, masked
from escalation.adapters.personal_data import MasterKeySource, master_key_for
from escalation.adapters.store import STORE_NAME, DisputeLog, open_store
from escalation.adapters.tokens import TokenStore
from escalation.aggregates.rules_applied import InFlight
from escalation.application.activation import ActivationReport
from escalation.application.activation import activate as activate_on
from escalation.application.clock import Clock, system_clock
from escalation.application.engine import DEFAULT_URL, EscalationEngine
from escalation.application.rulebook_registry import RuleBookRegistry
from escalation.errors import StorageError
from escalation.policies.rulebook import RuleBook
from projections.registry import all_projections
from projections.runner import ProjectionRunner


@dataclass
class Storage:
    """What an engine runs on: one database's log, rule books and read models."""

    store: DisputeLog
    rulebooks: RuleBookRegistry
    projections: ProjectionRunner | None = field(default=None)  # None: opened for reading

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_storage(
    url: str | Engine = DEFAULT_URL, master_key: MasterKeySource | None = None
) -> Storage:
    """Open (creating tables if needed) the store at a SQLAlchemy URL or on a host's engine.

    ``master_key``: the key that opens personal data (bytes, a key file, or a
    function returning the bytes); else ``ESCALATION_MASTER_KEY``, else the
    key file beside a SQLite store (``escalation.db.key``).
    """
    where = url.url if isinstance(url, Engine) else url
    store = open_store(url, master_key_for(where, master_key))
    try:
        return Storage(store, RuleBookRegistry(store), ProjectionRunner(store, all_projections()))
    except BaseException:
        store.close()
        raise


def open_engine(
    rules: RuleBook | None = None,
    url: str = DEFAULT_URL,
    *,
    clock: Clock = system_clock,
    max_retries: int = 8,
    tick_batch: int = 200,
    in_flight: InFlight = "keep",
    bind: Engine | None = None,
) -> EscalationEngine:
    """An engine on storage of its own (closed by ``engine.shutdown()``)."""
    return EscalationEngine(
        rules,
        url,
        bind=bind,
        clock=clock,
        max_retries=max_retries,
        tick_batch=tick_batch,
        in_flight=in_flight,
    )


def open_log(url: str, master_key: MasterKeySource | None = None) -> DisputeLog:
    """Open an existing store for reading only (a missing SQLite file is an error).

    Personal fields open with the master key if one is found (as ``open_storage``
    finds it); without one they read as ``[sealed]``: what-if, verification and
    audits of procedure need none.
    """
    if not isinstance(url, str) or "://" not in url:
        raise StorageError(f"database URL {masked(url)!r} is not a SQLAlchemy URL")
    key = master_key_for(url, master_key)
    if url.startswith("sqlite") and ":memory:" not in url:
        path = Path(url.split(":///", 1)[-1])
        if not path.is_file():
            raise StorageError(f"no database at {path}; give the live store with --db")
        url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    env = {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url}
    env["CREATE_TABLE"] = "n"
    try:
        store = DisputeLog(env=env, master_key=key, lenient=True)
        present = inspect(store.database).has_table(f"{STORE_NAME}_events")
    except Exception as exc:  # the driver's errors differ by backend and cause
        raise StorageError(
            f"cannot open the database at {masked(url)}: {driver_message(exc)}"
        ) from exc
    if not present:
        store.close()
        raise StorageError(f"{masked(url)} holds no escalation log (no table {STORE_NAME}_events)")
    return store


def open_reader(url: str) -> Storage:
    """The log and its rule books, for reading only (no read models)."""
    store = open_log(url)
    try:
        return Storage(store, RuleBookRegistry(store))
    except BaseException:
        store.close()
        raise


def activate(
    url: str,
    book: RuleBook,
    *,
    by: str,
    at: datetime | None = None,
    in_flight: str = "keep",
    note: str = "",
    clock: Clock = system_clock,
) -> ActivationReport:
    """Make ``book`` the active rule book of the store at ``url`` (see ``activation``)."""
    with open_storage(url) as storage:
        return activate_on(storage, book, by=by, at=at, in_flight=in_flight, note=note, clock=clock)


def open_service(
    rules: RuleBook | None = None, url: str = DEFAULT_URL, *, clock: Clock = system_clock
) -> tuple[EscalationEngine, TokenStore]:
    """The HTTP service's engine, and its bearer tokens on the same database."""
    engine = open_engine(rules, url, clock=clock)
    try:
        return engine, TokenStore(engine.store.database)
    except BaseException:
        engine.shutdown()
        raise


def open_tokens(url: str = DEFAULT_URL) -> tuple[Storage, TokenStore]:
    """The store's bearer tokens (``escalation tokens``); close the storage after."""
    storage = open_storage(url)
    try:
        return storage, TokenStore(storage.store.database)
    except BaseException:
        storage.close()
        raise
