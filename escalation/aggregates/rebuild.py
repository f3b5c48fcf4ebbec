"""An aggregate rebuilt from its events, as the store's repository does it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


def rebuild(kind: type[A], events: Iterable[Aggregate.Event]) -> A:
    """The ``kind`` aggregate that ``events`` (one aggregate's, oldest first, at least one) make.

    Each event mutates what the ones before it made, from nothing: no clock,
    no I/O, and no command runs again.
    """
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return cast("A", aggregate)
