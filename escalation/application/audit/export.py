"""Exports for auditors: the event log, a queue, or one dispute's timeline.

Formats: JSON lines (one object per line, nested ``fields``) and CSV (a
stable column set; the event-specific fields as one JSON column). The event
export streams the log a page at a time; its memory is one (unit, tier) pair
per dispute. ``load_event_records`` reads a JSON-lines export back with the
events' own types (datetimes, UUIDs), so an export can be checked against the
store or re-imported.
"""

from __future__ import annotations

import csv
import json
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from types import NoneType, UnionType
from typing import Any, Literal, TextIO
from uuid import UUID

from escalation.aggregates.catalogue import DISPUTE_EVENTS
from escalation.application.access import withheld
from escalation.application.audit.log import PAGE_SIZE, Row, dispute_rows, log_rows
from escalation.application.audit.timeline import Placement, entry
from escalation.application.engine import EscalationEngine, QueueItem
from escalation.errors import InvalidInput, UnknownDispute
from escalation.policies.inputs import as_dispute_id
from escalation.progress import Progress

Format = Literal["jsonl", "csv"]
What = Literal["events", "queue", "timeline"]
Record = dict[str, Any]

EVENT_COLUMNS = (
    "position",
    "dispute_id",
    "version",
    "event",
    "occurred_at",
    "recorded_at",
    "actor",
    "unit",
    "tier",
    "by_rule",
    "rule_id",
    "rules_version",
    "reason",
    "prev_hash",
    "digest",
    "fields",
)
QUEUE_COLUMNS = (*(f.name for f in fields(QueueItem)), "colour")


#: What a default export shows for a personal field.
WITHHELD = "[withheld]"


def jsonable(value: Any) -> Any:
    """Plain JSON values: times as ISO 8601 UTC, ids as strings, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------ records


def event_records(
    engine: EscalationEngine,
    *,
    dispute: UUID | str | None = None,
    unit: str | None = None,
    tier: str | None = None,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
    personal_data: bool = False,
) -> Iterator[Record]:
    """The log (or one dispute's events) as records, in log order.

    ``unit`` / ``tier`` keep the events after which the dispute stood there.
    Personal fields read ``[withheld]`` unless ``personal_data`` is asked for.
    """
    rows: Iterable[Row]
    if dispute is not None:
        did = as_dispute_id(dispute)
        rows = sorted(dispute_rows(engine.store, did), key=lambda r: r.version)
        if not rows:
            raise UnknownDispute(f"no dispute with id {did}")
    else:
        rows = log_rows(engine.store, page_size=page_size, progress=progress)
    placement = Placement()
    for row in rows:
        record = _event_record(row, placement, personal_data=personal_data)
        if (unit is None or record["unit"] == unit) and (tier is None or record["tier"] == tier):
            yield record


def _event_record(row: Row, placement: Placement, *, personal_data: bool) -> Record:
    event, error = row.decoded
    if event is not None and not personal_data:
        event = withheld(event, WITHHELD)
    if event is None:  # still exported, so the export is the whole log
        return {
            **dict.fromkeys(EVENT_COLUMNS),
            "position": row.position,
            "dispute_id": str(row.dispute_id),
            "version": row.version,
            "event": row.stored.topic.rsplit(".", 1)[-1],
            "fields": {"undecodable": error},
        }
    e = entry(event, row.position, placement, row.seal)
    return {
        "position": e.position,
        "dispute_id": str(e.dispute_id),
        "version": e.version,
        "event": e.event,
        "occurred_at": e.occurred_at.isoformat(),
        "recorded_at": e.recorded_at.isoformat(),
        "actor": e.actor,
        "unit": e.unit,
        "tier": e.tier,
        "by_rule": e.by_rule,
        "rule_id": e.rule_id,
        "rules_version": e.rules_version,
        "reason": e.reason,
        "prev_hash": e.prev_hash,
        "digest": e.digest,
        "fields": jsonable(e.fields),
    }


def queue_records(
    engine: EscalationEngine, *, unit: str | None = None, tier: str | None = None
) -> Iterator[Record]:
    for item in engine.queue(unit=unit, tier=tier):
        record = {name: jsonable(getattr(item, name)) for name in QUEUE_COLUMNS}
        yield record


# ------------------------------------------------------------------ writing


def write_jsonl(records: Iterable[Record], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[Record], out: TextIO, columns: Sequence[str]) -> int:
    """One row per record; nested values (fields, notices) as JSON text."""
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "" if value is None else value


def export(
    engine: EscalationEngine,
    out: TextIO,
    *,
    format: Format = "jsonl",
    what: What = "events",
    dispute: UUID | str | None = None,
    unit: str | None = None,
    tier: str | None = None,
    progress: Progress | None = None,
    personal_data: bool = False,
) -> int:
    """Write an export to ``out``; returns the number of records.

    By default an export holds no personal data (its fields read ``[withheld]``);
    ``personal_data=True`` includes it (the master key is needed).
    """
    records: Iterable[Record]
    if what == "queue":
        if dispute is not None:
            raise InvalidInput("export: a queue is of a unit or tier, not of a dispute")
        records, columns = queue_records(engine, unit=unit, tier=tier), QUEUE_COLUMNS
    elif what in ("events", "timeline"):
        if what == "timeline" and dispute is None:
            raise InvalidInput("export: a timeline is of one dispute; give --dispute ID")
        records = event_records(
            engine,
            dispute=dispute,
            unit=unit,
            tier=tier,
            progress=progress,
            personal_data=personal_data,
        )
        columns = EVENT_COLUMNS
    else:
        raise InvalidInput(f"export: unknown --what {what!r}; use events, queue or timeline")
    if format == "jsonl":
        return write_jsonl(records, out)
    if format == "csv":
        return write_csv(records, out, columns)
    raise InvalidInput(f"export: unknown --format {format!r}; use jsonl or csv")


# ------------------------------------------------------------------ reading back


def load_event_records(lines: Iterable[str]) -> Iterator[Record]:
    """Parse a JSON-lines event export, restoring each field to its event's type."""
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        record["dispute_id"] = UUID(record["dispute_id"])
        for key in ("occurred_at", "recorded_at"):
            if record[key] is not None:
                record[key] = datetime.fromisoformat(record[key])
        cls = DISPUTE_EVENTS.get(record["event"] or "")
        if cls is not None:
            hints = typing.get_type_hints(cls)
            record["fields"] = {
                k: _restore(v, hints.get(k, Any)) for k, v in record["fields"].items()
            }
        yield record


def _restore(value: Any, hint: Any) -> Any:
    """JSON value → the annotated type (the store's own conventions: tuples are lists)."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (UnionType, typing.Union):
        inner = [a for a in args if a is not NoneType]
        return _restore(value, inner[0]) if len(inner) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is UUID:
        return UUID(value)
    if hint is float and isinstance(value, int):
        return float(value)
    if origin is list and args:
        return [_restore(v, args[0]) for v in value]
    if origin is tuple and args:
        return [_restore(v, a) for v, a in zip(value, args, strict=True)]
    return value
