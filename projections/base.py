"""What a projection is: tables plus a function of pages of events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from eventsourcing.persistence import Notification
from sqlalchemy import Table
from sqlalchemy.orm import Session

from escalation.aggregates.dispute import Dispute


class Projection(ABC):
    """A read model kept from the event log.

    ``apply`` gets the next page of events (in log order) and writes its rows
    through ``session``; the runner records the position in the same
    transaction, so a page is applied exactly once or not at all.
    """

    #: Key of the tracking row (at most 32 characters).
    name: str
    #: The shape of the tables. Bump it with any change to their columns or to
    #: what a row means: a store whose read model was built at another version
    #: has that projection's tables dropped, created anew and rebuilt from the
    #: log when it is opened (read models have no migrations; the log is the truth).
    version: int = 1

    @property
    @abstractmethod
    def tables(self) -> Sequence[Table]: ...

    @abstractmethod
    def apply(self, session: Session, events: Sequence[Dispute.Event]) -> None: ...

    def apply_page(
        self,
        session: Session,
        notifications: Sequence[Notification],
        events: Sequence[Dispute.Event],
    ) -> None:
        """``apply`` with the stored rows behind ``events`` (one each, same order).

        For projections that need positions or the raw stored bytes (the audit
        digest); the others keep implementing ``apply`` only.
        """
        self.apply(session, events)
