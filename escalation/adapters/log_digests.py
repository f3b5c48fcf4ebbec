"""The digests that make the stored log tamper-evident (docs/log-format.md).

Three functions of stored rows, none of which decodes an event into a Python
object, so upcasting, renaming a class or erasing encrypted personal data
never changes what they give:

* ``record_digest`` (scheme 2): a stored record — dispute id, version, stored
  topic, stored state bytes — chained to the digest of the dispute's
  previous record. Computed by the recorder when it writes the record.
* ``legacy_digest`` (scheme 1): how records written before scheme 2 were
  chained (their ``prev_hash`` field holds it). Computed from the record's
  JSON as stored; kept so those logs stay verifiable for as long as they live.
* ``advance``: the running digest of the whole log, one stored row at a time
  (position included), recorded as the log's head with every write.

The standalone verifier (``tools/verify_standalone.py``) implements the same
three from the specification alone; tests hold the two to each other.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
#: The scheme of records written now; 1 is the legacy field-based scheme.
RECORD_SCHEME = 2
_RECORD_PREFIX = b"escalation record v2\n"


def as_bytes(state: bytes | memoryview | str) -> bytes:
    # A row edited by hand in SQLite may come back as TEXT: hash its bytes all the same.
    if isinstance(state, bytes):
        return state
    if isinstance(state, memoryview):
        return state.tobytes()
    return str(state).encode("utf-8")


def as_uuid(value: UUID | str | bytes) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes):
        return UUID(bytes=value)
    return UUID(str(value))


def _hash_record(
    h: Any,
    dispute_id: UUID | str | bytes,
    version: int,
    topic: str,
    state: bytes | memoryview | str,
) -> None:
    """Feed one stored record to ``h``: id, version, then topic and state, length-prefixed."""
    data = as_bytes(state)
    encoded_topic = topic.encode("utf-8")
    h.update(as_uuid(dispute_id).bytes)
    h.update(version.to_bytes(8, "big", signed=True))
    h.update(len(encoded_topic).to_bytes(4, "big"))
    h.update(encoded_topic)
    h.update(len(data).to_bytes(8, "big"))
    h.update(data)


def record_digest(
    dispute_id: UUID | str, version: int, topic: str, state: bytes | memoryview | str, prev: str
) -> str:
    """Scheme 2: sha256 over the stored record, length-prefixed, and the previous digest."""
    h = hashlib.sha256(_RECORD_PREFIX)
    _hash_record(h, dispute_id, version, topic, state)
    h.update(bytes.fromhex(prev))
    return h.hexdigest()


def advance(
    running: str,
    position: int,
    dispute_id: UUID | str | bytes,
    version: int,
    topic: str,
    state: bytes | memoryview | str,
) -> str:
    """The running log digest after one more stored row (length-prefixed, unambiguous)."""
    h = hashlib.sha256(bytes.fromhex(running))
    h.update(position.to_bytes(8, "big", signed=True))
    _hash_record(h, dispute_id, version, topic, state)
    return h.hexdigest()


# ------------------------------------------------------------------ scheme 1

_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """A stored JSON value as scheme 1 hashed it: typed values as plain text."""
    if isinstance(value, dict):
        kind = value.get("_type_")
        if kind is not None and set(value) == {"_type_", "_data_"}:
            data = value["_data_"]
            if kind == "datetime_iso":
                return datetime.fromisoformat(data).astimezone(UTC).isoformat()
            if kind == "uuid_hex":
                return str(UUID(data))
            raise ValueError(f"unknown stored type {kind!r}")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def legacy_fields(state: bytes | memoryview | str) -> dict[str, Any]:
    """The stored JSON of a scheme-1 record, typed values as scheme 1 hashed them."""
    fields = json.loads(as_bytes(state))
    if not isinstance(fields, dict):
        raise ValueError("the stored state is not a JSON object")
    return {k: _plain(v) for k, v in fields.items()}


def legacy_digest(
    dispute_id: UUID | str | bytes, version: int, topic: str, fields: dict[str, Any]
) -> str:
    """Scheme 1: sha256 over the event's name and its stored fields, canonical JSON.

    The name is the last part of the topic (``...:Dispute.Received`` gives
    ``Received``); times are UTC ISO text, ids hyphenated, keys sorted,
    floats as Python writes them.
    """
    body = {
        **fields,
        "event": topic.rpartition(".")[2].rpartition(":")[2],
        "originator_id": str(as_uuid(dispute_id)),
        "originator_version": version,
    }
    return hashlib.sha256(_CANONICAL.encode(body).encode("utf-8")).hexdigest()
