"""Versioned rule books, kept in the store next to the disputes.

The log lives in its own table (``escalation_rulebooks``) of the same
database, written through the same event mapper. It is an aggregate recorder,
not part of the notification log, so every reader of the dispute log
(projections, audits, what-if) keeps seeing disputes only.

How an engine relates to the active rule book (``attach``):

* started without rules, it runs the store's active rule book (the packaged
  default on a store that has none yet, which it records as active);
* started with a rule book, that book must be the active one; on a store with
  none yet it becomes the active one. Anything else is refused: two processes
  deciding with different rules on one store is never what anyone wants.
  Switch with ``escalation rules activate FILE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from eventsourcing.persistence import EventStore, IntegrityError
from sqlalchemy import inspect

from escalation.adapters.database import create_serialised
from escalation.adapters.store import DisputeLog
from escalation.aggregates.rebuild import rebuild
from escalation.aggregates.rulebook_log import (
    RULEBOOK_LOG_ID,
    Activation,
    RuleBookLog,
    StoredBook,
)
from escalation.aggregates.rules_applied import IN_FLIGHT_MODES, InFlight
from escalation.errors import InvalidInput, RulesError
from escalation.policies.rulebook import RuleBook

TABLE_PURPOSE = "rulebooks"  # the table is escalation_rulebooks
_RETRIES = 5
T = TypeVar("T")


class RulesNotActive(InvalidInput):
    """An engine was given a rule book other than the store's active one."""


class UnknownRuleBook(InvalidInput):
    """No rule book with this version was ever stored."""


def in_flight_mode(value: str) -> InFlight:
    """Check an in-flight setting: ``keep`` (the default) or ``adopt``."""
    for mode in IN_FLIGHT_MODES:
        if value == mode:
            return mode
    raise InvalidInput(
        f"unknown in-flight setting {value!r}; use keep (open disputes keep their deadlines) "
        "or adopt (they take the new limits)"
    )


class RuleBookRegistry:
    def __init__(self, store: DisputeLog) -> None:
        engine = store.database
        # Workers starting together on an empty database would race to create the table.
        self.recorder = create_serialised(
            engine, lambda: store.factory.aggregate_recorder(purpose=TABLE_PURPOSE)
        )
        self.events: EventStore[Any] = EventStore(mapper=store.mapper, recorder=self.recorder)
        self._table = f"{store.name.lower()}_{TABLE_PURPOSE}"
        self._database = engine

    # ------------------------------------------------------------- reading

    def exists(self) -> bool:
        """False on a store that never had the table (read-only openers)."""
        return bool(inspect(self._database).has_table(self._table))

    def log(self) -> RuleBookLog | None:
        if not self.exists():
            return None
        events = cast("list[RuleBookLog.Event]", list(self.events.get(RULEBOOK_LOG_ID)))
        if not events:
            return None
        return rebuild(RuleBookLog, events)

    def active(self) -> Activation | None:
        log = self.log()
        return log.active if log is not None else None

    def stored(self, version: str) -> StoredBook:
        log = self.log()
        if log is None or version not in log.books:
            known = ", ".join(sorted(log.books)) if log is not None else "none"
            raise UnknownRuleBook(f"no rule book {version!r} is stored here; stored: {known}")
        return log.books[version]

    def book(self, version: str) -> RuleBook:
        """The stored rule book ``version``, validated again."""
        found = self.stored(version)
        book = RuleBook.from_yaml(found.text, source=f"{found.source} (stored {version})")
        if book.version != version:  # a validator change would make old hashes unreadable
            raise RulesError(
                [(found.source, None, "<version>", f"stored as {version}, reads as {book.version}")]
            )
        return book

    def ensure_active(self, rules: RuleBook) -> None:
        """Refuse (RulesNotActive) once ``rules`` is no longer the active rule book.

        A long-running process (``serve``) should check before each tick and
        restart when another rule book has been activated meanwhile.
        """
        active = self.active()
        if active is not None and active.version != rules.version:
            raise RulesNotActive(
                f"rule book {active.version} was activated {active.at.isoformat()} by "
                f"{active.by}; this process still runs {rules.version}: restart it"
            )

    # ------------------------------------------------------------- writing

    def record(self, book: RuleBook, *, by: str, at: datetime, recorded_at: datetime) -> None:
        """Keep ``book``'s text (a no-op if that version is stored)."""

        def change(log: RuleBookLog) -> None:
            _store(log, book, by=by, at=at, recorded_at=recorded_at)

        self._change(change, by=by, at=at, recorded_at=recorded_at)

    def activate(
        self,
        book: RuleBook,
        *,
        by: str,
        at: datetime,
        recorded_at: datetime,
        in_flight: str = "keep",
        note: str = "",
    ) -> bool:
        """Make ``book`` the active rule book; False if it already was."""

        def change(log: RuleBookLog) -> bool:
            _store(log, book, by=by, at=at, recorded_at=recorded_at)
            if log.active is not None and log.active.version == book.version:
                return False
            log.activate(
                version=book.version,
                in_flight=in_flight,
                note=note,
                actor=by,
                at=at,
                recorded_at=recorded_at,
            )
            return True

        return self._change(change, by=by, at=at, recorded_at=recorded_at)

    def attach(self, rules: RuleBook | None, *, at: datetime, recorded_at: datetime) -> RuleBook:
        """The rule book an engine started with ``rules`` runs (see the module doc)."""
        for _ in range(_RETRIES):
            active = self.active()
            if active is not None:
                if rules is None:
                    return self.book(active.version)
                if rules.version == active.version:
                    return rules
                raise RulesNotActive(
                    f"this store's active rule book is {active.version} (activated "
                    f"{active.at.isoformat()} by {active.by}); the engine was given "
                    f"{rules.version} from {rules.source}. Run `escalation rules activate "
                    f"{rules.source}` to switch, or start without --rules to run the active one."
                )
            book = rules if rules is not None else RuleBook.default()
            try:
                self.activate(
                    book,
                    by="engine",
                    at=at,
                    recorded_at=recorded_at,
                    note="the first rule book this store ran with",
                )
            except IntegrityError:
                continue  # another process opened the store at the same moment: look again
            return book
        raise RulesNotActive("the active rule book kept changing while the engine started")

    def _change(
        self,
        change: Callable[[RuleBookLog], T],
        *,
        by: str,
        at: datetime,
        recorded_at: datetime,
    ) -> T:
        for attempt in range(_RETRIES):
            log = self.log() or RuleBookLog.open(actor=by, at=at, recorded_at=recorded_at)
            result = change(log)
            pending = log.collect_events()
            if not pending:
                return result
            try:
                self.events.put(pending)
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
                continue  # a concurrent writer: redo on the fresh log
            return result
        raise AssertionError("unreachable")  # pragma: no cover


def _store(
    log: RuleBookLog, book: RuleBook, *, by: str, at: datetime, recorded_at: datetime
) -> None:
    """Keep ``book``'s text in the log (a no-op if that version is stored)."""
    log.store(
        version=book.version,
        source=book.source,
        text=book.text,
        actor=by,
        at=at,
        recorded_at=recorded_at,
    )
