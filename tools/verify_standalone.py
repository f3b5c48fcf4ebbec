#!/usr/bin/env python3
"""Verify an escalation store with the Python standard library alone.

This script is ``docs/log-format.md`` in executable form. It reads a SQLite
store as stored bytes, never imports the ``escalation`` package, and checks the
four conditions of the section *Verifying*:

1. every record has a seal that recomputes (scheme 2 from the stored bytes,
   scheme 1 from the stored JSON, whose ``prev_hash`` must equal the seal's
   ``prev``);
2. each dispute's versions run 1, 2, 3 ... in ascending ``id``, and each seal's
   ``prev`` is the previous version's ``digest`` (``GENESIS`` for version 1);
3. the running log digest up to the head's ``position`` equals the head's
   ``digest`` over exactly ``records`` records, and no record lies beyond it;
4. optionally, a checkpoint kept outside the database names a ``position``
   and a ``digest``: the running digest after that record must equal it.

It also reports a seal left without its record: seals are written in the
same transaction as their records, so that position's record was deleted.

Finding kinds: ``altered`` (a seal does not recompute, or is not a digest),
``unsealed`` (a record without a seal), ``deleted`` (a seal without a record),
``missing`` (a version gap), ``reordered`` (a version at or below one stored
earlier), ``broken-link`` (a seal's ``prev`` is not the previous version's
digest), ``malformed`` (a record's id or version is not what the spec allows),
``unexpected`` (a record beyond the head), ``head`` and ``checkpoint``.

Usage::

    python tools/verify_standalone.py STORE.db [--checkpoint FILE] [--json]

Each finding is one line ``KIND position=P dispute=D version=V: detail``
(``-`` where a field does not apply), then one summary line. Exit status: 0
when the store verifies, 1 on any finding, 2 when the store or the checkpoint
cannot be read (missing file, not SQLite, not an escalation store).

Memory stays bounded however long the log is: rows are streamed from a cursor
in ``id`` order, and only one small record per dispute (its last version,
digest and position) is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

GENESIS = "0" * 64
SCHEME_2_PREFIX = b"escalation record v2\n"  # 21 ASCII bytes
CHECKPOINT_MAGIC = "escalation checkpoint 1"

# The tables and columns this script reads (docs/log-format.md, "Tables").
LAYOUT = {
    "escalation_events": ("id", "originator_id", "originator_version", "topic", "state"),
    "escalation_chain": ("position", "scheme", "prev", "digest"),
    "escalation_log_head": ("log", "position", "records", "digest"),
}


class Unreadable(Exception):
    """The store or the checkpoint cannot be read at all (exit status 2)."""


# --------------------------------------------------------------------------
# Digests, as "Digests" in docs/log-format.md describes them
# --------------------------------------------------------------------------


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big", signed=False)


def i64(n: int) -> bytes:
    return n.to_bytes(8, "big", signed=True)


def record_digest_v2(oid: bytes, version: int, topic: bytes, state: bytes, prev: str) -> str:
    """Scheme 2: the stored bytes themselves, so no decoding can hide a change."""
    h = hashlib.sha256(SCHEME_2_PREFIX)
    h.update(oid)
    h.update(i64(version))
    h.update(u32(len(topic)) + topic)
    h.update(i64(len(state)) + state)
    h.update(bytes.fromhex(prev))
    return h.hexdigest()


def canonical_value(value: Any) -> Any:
    """Scheme 1's view of a JSON value: typed values as the text Python wrote for them."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            kind, data = value["_type_"], value["_data_"]
            if kind == "datetime_iso":
                # The instant in UTC: an offset of +08:00 and +00:00 hash alike.
                return datetime.fromisoformat(data).astimezone(UTC).isoformat()
            if kind == "uuid_hex":
                return str(UUID(hex=data))
            # Only these two were ever written: anything else is not what was sealed.
            raise ValueError(f"unknown stored type {kind!r}")
        return {key: canonical_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_value(item) for item in value]
    return value


def record_digest_v1(oid: bytes, version: int, topic: str, fields: dict[str, Any]) -> str:
    """Scheme 1: SHA-256 of a canonical JSON text of the decoded event."""
    document = {key: canonical_value(value) for key, value in fields.items()}
    document["event"] = event_name(topic)
    document["originator_id"] = str(UUID(bytes=oid))
    document["originator_version"] = version
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_name(topic: str) -> str:
    """The last part of a topic after '.' or ':' (``Received``)."""
    return topic.replace(":", ".").rsplit(".", 1)[-1]


def advance(
    running: str, position: int, oid: bytes, version: int, topic: bytes, state: bytes
) -> str:
    """One step of the running log digest."""
    h = hashlib.sha256(bytes.fromhex(running))
    h.update(i64(position))
    h.update(oid)
    h.update(i64(version))
    h.update(u32(len(topic)) + topic)
    h.update(i64(len(state)) + state)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Reading the store
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One position of the log: a record with its seal, or a seal left without a record."""

    position: int
    oid: bytes | None = None  # None: the record is gone, only its seal is left
    version: Any = None
    topic: bytes = b""
    state: bytes = b""
    scheme: Any = None  # None: the record has no seal
    prev: Any = None
    digest: Any = None


@dataclass(frozen=True)
class Head:
    position: int
    records: int
    digest: str


@dataclass(frozen=True)
class Checkpoint:
    position: int
    digest: str
    signed: bool


def as_bytes(value: Any) -> bytes:
    """A column's stored bytes (SQLite returns TEXT as str, BLOB as bytes)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return b"" if value is None else str(value).encode("utf-8")


def open_store(path: Path) -> sqlite3.Connection:
    """Open read-only and check that the tables of the spec are there."""
    if not path.is_file():
        raise Unreadable(f"{path}: no such file")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        # One read transaction: a live store may be written while we read, and
        # the head must belong to the same snapshot as the rows.
        db.execute("BEGIN")
        tables = {
            name: {column for _, column, *_ in db.execute(f"PRAGMA table_info({name})")}
            for name in LAYOUT
        }
    except sqlite3.Error as exc:
        raise Unreadable(f"{path}: not a SQLite database ({exc})") from None
    for name, columns in LAYOUT.items():
        missing = [c for c in columns if c not in tables[name]]
        if missing:
            db.close()
            what = "table" if not tables[name] else f"columns {', '.join(missing)} of"
            raise Unreadable(f"{path}: not an escalation store (no {what} {name})")
    return db


def read_head(db: sqlite3.Connection) -> Head | str:
    """The log head, or why there is none to compare with (itself a finding)."""
    row = db.execute(
        "SELECT position, records, digest FROM escalation_log_head WHERE log = 'events'"
    ).fetchone()
    if row is None:
        return "no row log='events' in escalation_log_head"
    position, records, digest = row
    if not (isinstance(position, int) and isinstance(records, int) and is_hex_digest(digest)):
        return f"the head row is not two integers and a digest: {row!r}"
    return Head(position, records, digest)


def records(db: sqlite3.Connection) -> Iterator[Row]:
    """Every record with its seal (if any), in ascending id, streamed."""
    cursor = db.execute(
        "SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state,"
        " c.scheme, c.prev, c.digest"
        " FROM escalation_events e LEFT JOIN escalation_chain c ON c.position = e.id"
        " ORDER BY e.id"
    )
    for position, oid, version, topic, state, scheme, prev, digest in cursor:
        yield Row(
            position, as_bytes(oid), version, as_bytes(topic), as_bytes(state), scheme, prev, digest
        )


def orphan_seals(db: sqlite3.Connection) -> Iterator[Row]:
    """Seals whose record is gone: they name the positions of deleted records."""
    cursor = db.execute(
        "SELECT c.position, c.scheme, c.prev, c.digest FROM escalation_chain c"
        " WHERE NOT EXISTS (SELECT 1 FROM escalation_events e WHERE e.id = c.position)"
        " ORDER BY c.position"
    )
    for position, scheme, prev, digest in cursor:
        yield Row(int(position), scheme=scheme, prev=prev, digest=digest)


def log_rows(db: sqlite3.Connection) -> Iterator[Row]:
    # Both streams are in position order; merging keeps findings in log order
    # without sorting (or holding) anything.
    return heapq.merge(records(db), orphan_seals(db), key=lambda row: row.position)


def read_checkpoint(path: Path) -> Checkpoint:
    """``escalation checkpoint 1`` then ``key: value`` lines; position and digest matter."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # an editor may add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path}: cannot read checkpoint ({exc})") from None
    if not lines or lines[0].strip() != CHECKPOINT_MAGIC:
        raise Unreadable(f"{path}: not a checkpoint (first line is not {CHECKPOINT_MAGIC!r})")
    values = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    try:
        position = int(values["position"])
        digest = values["digest"].lower()
        bytes.fromhex(digest)
    except (KeyError, ValueError):
        raise Unreadable(f"{path}: a checkpoint needs a position and a hex digest") from None
    if len(digest) != 64:
        raise Unreadable(f"{path}: the checkpoint's digest is not 64 hex digits")
    return Checkpoint(position, digest, "signature" in values)


# --------------------------------------------------------------------------
# Findings and the report
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    position: int | None = None
    dispute: str | None = None
    version: int | None = None

    def line(self) -> str:
        def show(value: object) -> str:
            return "-" if value is None else str(value)

        where = f"position={show(self.position)} dispute={show(self.dispute)}"
        return f"{self.kind} {where} version={show(self.version)}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "dispute": self.dispute,
            "version": self.version,
            "detail": self.detail,
        }


class Report:
    """Writes findings as they are found, so a badly damaged log needs no memory either."""

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json
        self.count = 0
        if as_json:
            out.write('{"findings": [')

    def add(self, finding: Finding) -> None:
        if self.as_json:
            self.out.write(("," if self.count else "") + "\n  " + json.dumps(finding.as_json()))
        else:
            self.out.write(finding.line() + "\n")
        self.count += 1

    def finish(self, summary: dict[str, Any]) -> None:
        summary = {"ok": self.count == 0, "findings_count": self.count, **summary}
        if self.as_json:
            # Close the list of findings, then the summary's keys in the same object.
            self.out.write("\n]" if self.count else "]")
            for key, value in summary.items():
                self.out.write(f",\n{json.dumps(key)}: {json.dumps(value)}")
            self.out.write("\n}\n")
            return
        verdict = "verified" if self.count == 0 else f"NOT VERIFIED: {self.count} finding(s)"
        self.out.write(
            f"{verdict}: {summary['records']} records, {summary['disputes']} disputes;"
            f" running digest {summary['digest']} after position {summary['position']}"
            f" ({summary['seconds']:.2f}s)\n"
        )


# --------------------------------------------------------------------------
# Verifying, as "Verifying" in docs/log-format.md describes it
# --------------------------------------------------------------------------


@dataclass
class Last:
    """What is kept per dispute: its last version seen, that seal's digest and position."""

    version: int
    digest: str | None  # None: unknown (no seal, or not a digest), so no link is judged
    position: int


@dataclass
class Verifier:
    report: Report
    head: Head | None
    checkpoint: Checkpoint | None = None
    disputes: dict[bytes, Last] = field(default_factory=dict)
    running: str = GENESIS  # after every record read so far
    records: int = 0
    last_position: int = 0
    at_head: tuple[str, int] = (GENESIS, 0)  # running digest and count up to the head
    head_seen: bool = False
    checkpoint_seen: bool = False

    def finding(self, kind: str, row: Row, detail: str) -> None:
        """A finding about one record: its position, dispute and version."""
        dispute = str(UUID(bytes=row.oid)) if row.oid and len(row.oid) == 16 else None
        version = row.version if isinstance(row.version, int) else None
        self.report.add(Finding(kind, detail, row.position, dispute, version))

    def check(self, row: Row) -> None:
        if row.oid is None:
            gone = "a seal is left at this position but its record is gone"
            self.report.add(Finding("deleted", gone, row.position))
            return
        if len(row.oid) != 16 or not isinstance(row.version, int) or row.version < 1:
            self.finding("malformed", row, "originator_id is not 16 bytes or the version not >= 1")
        else:
            self.check_seal(row)
            self.check_order(row)
        self.step_running(row)

    # Condition 1: the seal recomputes.
    def check_seal(self, row: Row) -> None:
        assert row.oid is not None
        if row.scheme is None:
            self.finding("unsealed", row, "no seal in escalation_chain for this record")
            return
        if not is_hex_digest(row.prev) or not is_hex_digest(row.digest):
            self.finding("altered", row, "the seal's prev or digest is not 64 lower-case hex")
            return
        if row.scheme == 2:
            again = record_digest_v2(row.oid, row.version, row.topic, row.state, row.prev)
        elif row.scheme == 1:
            recomputed = self.scheme_1(row)
            if recomputed is None:
                return
            again = recomputed
        else:
            self.finding("altered", row, f"unknown seal scheme {row.scheme!r}")
            return
        if again != row.digest:
            self.finding(
                "altered",
                row,
                f"scheme {row.scheme} digest recomputes to {again}, the seal says {row.digest}"
                " (the record or its seal was edited)",
            )

    def scheme_1(self, row: Row) -> str | None:
        assert row.oid is not None
        try:
            fields = json.loads(row.state.decode("utf-8"))
            topic = row.topic.decode("utf-8")
            if not isinstance(fields, dict):
                raise ValueError("state is not a JSON object")  # noqa: TRY301 - one handler below
            digest = record_digest_v1(row.oid, row.version, topic, fields)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            # ValueError covers bad UTF-8, bad JSON, bad dates and bad uuids;
            # RecursionError a state nested deeper than any event ever was.
            self.finding("altered", row, f"scheme 1 record no longer decodes ({exc})")
            return None
        if fields.get("prev_hash") != row.prev:
            self.finding(
                "altered",
                row,
                f"the record's prev_hash {fields.get('prev_hash')} differs from its seal's prev",
            )
        return digest

    # Condition 2: versions 1, 2, 3 ... in ascending id, each linked to the one before.
    def check_order(self, row: Row) -> None:
        assert row.oid is not None
        last = self.disputes.get(row.oid)
        expected = 1 if last is None else last.version + 1
        if last is not None and row.version <= last.version:
            # A version at or below one already seen: moved, or an old event again.
            self.finding(
                "reordered",
                row,
                f"stored after version {last.version} (position {last.position})",
            )
            return  # the dispute's last version stays the highest seen
        if row.version > expected:
            missing = f"version {expected}"
            if row.version > expected + 1:
                missing = f"versions {expected}..{row.version - 1}"
            self.finding("missing", row, f"{missing} missing before version {row.version}")
        elif is_hex_digest(row.prev) and (last is None or last.digest is not None):
            before = GENESIS if last is None else last.digest
            if row.prev != before:
                self.finding(
                    "broken-link",
                    row,
                    f"the seal's prev {row.prev} is not the digest {before} of version"
                    f" {expected - 1}" + ("" if last is None else f" (position {last.position})"),
                )
        digest = row.digest if row.scheme is not None and is_hex_digest(row.digest) else None
        self.disputes[row.oid] = Last(row.version, digest, row.position)

    # Conditions 3 and 4: the running digest, at the head and at a checkpoint.
    def step_running(self, row: Row) -> None:
        assert row.oid is not None
        version = row.version if isinstance(row.version, int) else 0
        self.running = advance(self.running, row.position, row.oid, version, row.topic, row.state)
        self.records += 1
        self.last_position = row.position
        if self.head is not None and row.position <= self.head.position:
            self.at_head = (self.running, self.records)
            self.head_seen = self.head_seen or row.position == self.head.position
        elif self.head is not None:
            self.finding(
                "unexpected", row, f"a record beyond the head's position {self.head.position}"
            )
        if self.checkpoint is not None and row.position == self.checkpoint.position:
            self.checkpoint_seen = True
            if self.running != self.checkpoint.digest:
                # A log-wide finding: the record here is only where the rewrite shows.
                detail = (
                    f"running digest {self.running} after this record, the checkpoint says"
                    f" {self.checkpoint.digest}: the log up to here was rewritten"
                )
                self.report.add(Finding("checkpoint", detail, row.position))

    def finish(self, head_problem: str = "") -> None:
        head = self.head
        if head is None:
            if self.records or head_problem.startswith("the head row"):
                self.report.add(Finding("head", head_problem))
        else:
            running, count = self.at_head
            if not self.head_seen:
                self.report.add(
                    Finding("head", "no record at the head's position (deleted?)", head.position)
                )
            if running != head.digest or count != head.records:
                self.report.add(
                    Finding(
                        "head",
                        f"running digest {running} over {count} records up to here,"
                        f" the head says {head.digest} over {head.records}",
                        head.position,
                    )
                )
        checkpoint = self.checkpoint
        if checkpoint is not None and not self.checkpoint_seen:
            self.report.add(
                Finding(
                    "checkpoint",
                    f"no record at the checkpoint's position; the log ends at {self.last_position}",
                    checkpoint.position,
                )
            )


def is_hex_digest(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def verify(db: sqlite3.Connection, report: Report, checkpoint: Checkpoint | None) -> dict[str, Any]:
    started = time.perf_counter()
    head = read_head(db)
    verifier = Verifier(report, head if isinstance(head, Head) else None, checkpoint)
    for row in log_rows(db):
        verifier.check(row)
    verifier.finish(head if isinstance(head, str) else "")
    return {
        "records": verifier.records,
        "disputes": len(verifier.disputes),
        "position": verifier.last_position,
        "digest": verifier.running,
        "head": vars(head) if isinstance(head, Head) else None,
        "checkpoint": None
        if checkpoint is None
        else {
            **vars(checkpoint),
            "note": "signature not checked: the standard library has no Ed25519",
        },
        "seconds": round(time.perf_counter() - started, 3),
    }


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify an escalation SQLite store from docs/log-format.md alone."
    )
    parser.add_argument("store", type=Path, help="the SQLite file")
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint file kept elsewhere")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    args = parser.parse_args(argv)
    try:
        checkpoint = None if args.checkpoint is None else read_checkpoint(args.checkpoint)
        db = open_store(args.store)
    except Unreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if checkpoint is not None and checkpoint.signed and not args.json:
        print(
            "note: the checkpoint's Ed25519 signature is not checked (the standard library has"
            " no Ed25519); use `escalation verify --checkpoint` for that",
            file=sys.stderr,
        )
    report = Report(sys.stdout, as_json=args.json)
    try:
        summary = verify(db, report, checkpoint)
    except sqlite3.Error as exc:
        sys.stdout.flush()
        print(f"error: {args.store}: cannot read the store ({exc})", file=sys.stderr)
        return 2
    finally:
        db.close()
    report.finish(summary)
    return 0 if report.count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
