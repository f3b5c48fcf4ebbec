"""The digests are part of what is stored: their text must never change."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from escalation.adapters.log_digests import (
    GENESIS,
    advance,
    legacy_digest,
    legacy_fields,
    record_digest,
)
from tests.helpers import LEGACY_STATE, LEGACY_TOPIC


def test_the_legacy_digest_of_a_known_record_is_unchanged() -> None:
    # Computed by scheme 1 when it was introduced; every old prev_hash depends on it.
    expected = "1dba8f0770353f8b197f49e627c845a4e0fe14a6dbd2643568d44ac453b1afad"
    fields = legacy_fields(LEGACY_STATE)
    assert legacy_digest(UUID(int=7), 1, LEGACY_TOPIC, fields) == expected


def test_the_record_digest_of_a_known_record_is_unchanged() -> None:
    # Scheme 2, computed by hand from docs/log-format.md.
    state = b'{"a":1}'
    topic = "escalation/Dispute.Received"
    h = hashlib.sha256(b"escalation record v2\n")
    h.update(UUID(int=7).bytes)
    h.update((3).to_bytes(8, "big"))
    h.update(len(topic).to_bytes(4, "big") + topic.encode())
    h.update(len(state).to_bytes(8, "big") + state)
    h.update(bytes(32))
    golden = "73600ebe29ab11014c691ad65f24863dfe954fdc90e34a9000733dccf8e66181"
    assert record_digest(UUID(int=7), 3, topic, state, GENESIS) == h.hexdigest() == golden


def test_the_running_digest_is_length_prefixed() -> None:
    # Moving a byte from the topic to the state must change the digest.
    a = advance(GENESIS, 1, UUID(int=1), 1, "ab", b"c")
    b = advance(GENESIS, 1, UUID(int=1), 1, "a", b"bc")
    assert a != b and len(a) == 64


def reference_v1(fields: dict[str, Any], oid: UUID, version: int, name: str) -> str:
    """Scheme 1 as first written (over the decoded event), kept here to hold it still."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, UUID):
            return str(value)
        raise TypeError(type(value).__name__)

    body = {"event": name, **fields, "originator_id": oid, "originator_version": version}
    text = json.dumps(
        body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(TIMES, st.floats(0, 1e9), st.text(max_size=20), st.integers(1, 50))
def test_the_legacy_digest_follows_the_reference_scheme(
    at: datetime, amount: float, summary: str, version: int
) -> None:
    stored = {
        "timestamp": {"_type_": "datetime_iso", "_data_": at.isoformat()},
        "amount": amount,
        "summary": summary,
        "schedule": [["reminder", {"_type_": "datetime_iso", "_data_": at.isoformat()}]],
    }
    decoded = {
        "timestamp": at,
        "amount": amount,
        "summary": summary,
        "schedule": [("reminder", at)],
    }
    raw = json.dumps(stored, ensure_ascii=False).encode()
    oid = UUID(int=version)
    assert legacy_digest(oid, version, "m:Dispute.Mediated", legacy_fields(raw)) == reference_v1(
        decoded, oid, version, "Mediated"
    )
