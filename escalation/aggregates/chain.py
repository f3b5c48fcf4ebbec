"""The per-dispute hash chain: each event commits to the one before it.

``digest(event)`` hashes a canonical form of the event's fields (the same
before and after the JSON round trip of the store), chained to the previous
event's digest, which the event carries as ``prev_hash``. Editing, deleting
or reordering a stored event breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, float):
        return repr(value)
    return value


def digest(event: Any) -> str:
    """sha256 over the event's name and fields (``prev_hash`` included)."""
    body = {"event": type(event).__name__, **_canonical(dict(vars(event)))}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
