"""The per-dispute hash chain: each event commits to the one before it.

``digest(event)`` hashes a canonical form of the event's fields (the same
before and after the JSON round trip of the store), chained to the previous
event's digest, which the event carries as ``prev_hash``. Editing, deleting
or reordering a stored event breaks the chain at that point.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
#: The digest below is part of what is stored (every ``prev_hash``): changing it
#: would make every existing log read as tampered. A new scheme needs a new
#: version number carried by the events and both schemes kept for verifying.
DIGEST_VERSION = 1


# A dispute's events repeat its times (received, due, the schedule): formatting
# a datetime costs twenty times looking it up. Keyed by the instant (datetimes
# compare by instant), which is all the text depends on.
@functools.lru_cache(maxsize=50_000)
def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__} in an event")


def digest(event: Any) -> str:
    """sha256 over the event's name and fields (``prev_hash`` included).

    JSON with sorted keys: tuples and lists both become arrays and floats keep
    their repr, so the text is the same before and after the store's JSON trip.
    """
    body = {"event": type(event).__name__, **vars(event)}
    return hashlib.sha256(_CANONICAL.encode(body).encode("utf-8")).hexdigest()


_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default
)
