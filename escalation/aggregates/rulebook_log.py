"""The rule books a store has run with, as events (pure, no I/O).

One aggregate per store, with a fixed id: ``Stored`` keeps the exact text of
each rule book once (its ``version`` is the hash every decision records), and
``Activated`` says which one is in force for new decisions, from when, and who
switched. An auditor can thus show the rules behind any ``rules_version`` in
the log, and when they were in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from escalation.aggregates.dispute import require_aware
from escalation.errors import IllegalTransition, InvalidInput

RULEBOOK_LOG_ID = uuid5(NAMESPACE_URL, "escalation:rulebooks")


@dataclass(frozen=True)
class StoredBook:
    version: str
    source: str
    text: str
    stored_at: datetime
    stored_by: str


@dataclass(frozen=True)
class Activation:
    version: str
    at: datetime
    by: str
    in_flight: str  # what open disputes did: keep | adopt
    note: str


class RuleBookLog(Aggregate):
    TOPIC = "escalation/RuleBookLog"
    class_version = 1

    if TYPE_CHECKING:  # assigned by the events
        books: dict[str, StoredBook]
        activations: list[Activation]

    class Event(Aggregate.Event):
        class_version = 1

        actor: str
        recorded_at: datetime

    class Created(Event, Aggregate.Created):
        # eventsourcing's base creation event; the log is created by Opened.
        TOPIC = "escalation/RuleBookLog.Created"

    class Opened(Event, Aggregate.Created):
        TOPIC = "escalation/RuleBookLog.Opened"

        def apply(self, aggregate: RuleBookLog) -> None:
            aggregate.books = {}
            aggregate.activations = []

    class Stored(Event):
        TOPIC = "escalation/RuleBookLog.Stored"

        version: str
        source: str
        text: str

        def apply(self, aggregate: RuleBookLog) -> None:
            aggregate.books[self.version] = StoredBook(
                self.version, self.source, self.text, self.timestamp, self.actor
            )

    class Activated(Event):
        TOPIC = "escalation/RuleBookLog.Activated"

        version: str
        in_flight: str
        note: str

        def apply(self, aggregate: RuleBookLog) -> None:
            aggregate.activations.append(
                Activation(self.version, self.timestamp, self.actor, self.in_flight, self.note)
            )

    @classmethod
    def open(cls, *, actor: str, at: datetime, recorded_at: datetime) -> RuleBookLog:
        require_aware("at", at)
        return cls._create(
            cls.Opened, id=RULEBOOK_LOG_ID, timestamp=at, actor=actor, recorded_at=recorded_at
        )

    @property
    def active(self) -> Activation | None:
        return self.activations[-1] if self.activations else None

    def store(
        self,
        *,
        version: str,
        source: str,
        text: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        """Keep a rule book's text (once per version)."""
        if version in self.books:
            return
        self.trigger_event(
            self.Stored,
            timestamp=self._after(at),
            actor=actor,
            recorded_at=recorded_at,
            version=version,
            source=source,
            text=text,
        )

    def activate(
        self,
        *,
        version: str,
        in_flight: str,
        note: str,
        actor: str,
        at: datetime,
        recorded_at: datetime,
    ) -> None:
        if version not in self.books:
            raise InvalidInput(f"rule book {version} was never stored; store it before activating")
        if self.active is not None and self.active.version == version:
            raise IllegalTransition(f"rule book {version} is already the active one")
        self.trigger_event(
            self.Activated,
            timestamp=self._after(at),
            actor=actor,
            recorded_at=recorded_at,
            version=version,
            in_flight=in_flight,
            note=note,
        )

    def _after(self, at: datetime) -> datetime:
        # The log's times never go backwards, even if a clock does.
        require_aware("at", at)
        return max(at, self.modified_on)
