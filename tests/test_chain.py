"""The digest is part of what is stored: its text must never change."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from escalation.aggregates.chain import digest
from escalation.aggregates.dispute import Dispute


def received(**changes: Any) -> Dispute.Received:
    fields: dict[str, Any] = dict(
        originator_id=UUID(int=7),
        originator_version=1,
        timestamp=datetime(2026, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=8))),
        originator_topic="escalation.aggregates.dispute:Dispute",
        actor="import",
        recorded_at=datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=UTC),
        prev_hash="0" * 64,
        unit="donghu",
        tier="street",
        category="neighbour",
        source="walk_in",
        parties=2,
        amount=6138.19,
        summary='噪音与漏水纠纷 "quoted"',
        location="",
        request_id=None,
        due_at=datetime(2026, 3, 23, 16, 0, tzinfo=UTC),
        schedule=[
            ("reminder", datetime(2026, 3, 12, 20, 20, 30, tzinfo=UTC)),
            ("escalate", datetime(2026, 3, 23, 16, 0, tzinfo=UTC)),
        ],
        rules_version="66f2fe11b8e50e8c",
    )
    fields.update(changes)
    return Dispute.Received(**fields)


def reference(event: Any) -> str:
    """The scheme as first written (DIGEST_VERSION 1), kept here to hold it still."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, UUID):
            return str(value)
        raise TypeError(type(value).__name__)

    body = {"event": type(event).__name__, **vars(event)}
    text = json.dumps(
        body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_digest_of_a_known_event_is_unchanged() -> None:
    # Computed when the scheme was introduced; every stored prev_hash depends on it.
    expected = "1dba8f0770353f8b197f49e627c845a4e0fe14a6dbd2643568d44ac453b1afad"
    assert digest(received()) == expected == reference(received())


OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=OFFSETS
)


@given(TIMES, TIMES, st.lists(TIMES, max_size=4), st.floats(0, 1e9), st.text(max_size=20))
def test_the_digest_follows_the_reference_scheme(
    at: datetime, due: datetime, schedule: list[datetime], amount: float, summary: str
) -> None:
    # Twice each: the second call answers from the formatting cache.
    event = received(
        timestamp=at,
        due_at=due,
        schedule=[("reminder", t) for t in schedule],
        amount=amount,
        summary=summary,
    )
    assert digest(event) == reference(event)
    assert digest(event) == reference(event)
    # The same instants written in another offset hash the same.
    in_utc = received(
        timestamp=at.astimezone(UTC),
        due_at=due.astimezone(UTC),
        schedule=[("reminder", t.astimezone(UTC)) for t in schedule],
        amount=amount,
        summary=summary,
    )
    assert digest(in_utc) == digest(event)
