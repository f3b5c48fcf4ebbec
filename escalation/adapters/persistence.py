"""The persistence module: ``eventsourcing-sqlalchemy``, bulk row inserts, a sealed log.

Selected with ``PERSISTENCE_MODULE=escalation.adapters.persistence:Factory``. Same tables,
transactions, PostgreSQL table lock and NOTIFY as the stock recorder; two
differences:

* rows go in with one Core ``executemany`` instead of one ORM object per
  event (the ORM flush cost more than the commit for a dispute's three or
  four events);
* every write **seals** what it wrote, in the same transaction
  (docs/log-format.md): each record's chain digest (scheme 2, over the stored
  bytes, chained to the dispute's previous record) goes into
  ``escalation_chain``, and the log's running head (position, records,
  digest) in ``escalation_log_head`` moves past it. Nothing written escapes
  the chain, not even the newest row.

``prepare_log`` creates those tables and, on a store written before they
existed, seals the records already there once (their scheme-1 digests,
computed from the stored JSON as it stands).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Session

from escalation.adapters.log_digests import (
    GENESIS,
    RECORD_SCHEME,
    advance,
    as_uuid,
    legacy_digest,
    legacy_fields,
    record_digest,
)
from escalation.errors import StorageError

#: The log's own tables beside eventsourcing's ``escalation_events``.
log_metadata = MetaData()

#: One row per stored record: its digest scheme, the previous digest of its
#: dispute's chain and its own digest. ``position`` is the record's row id.
chain_table = Table(
    "escalation_chain",
    log_metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("scheme", SmallInteger, nullable=False),
    Column("prev", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
)

#: One row: the running digest of every stored row up to ``position``.
head_table = Table(
    "escalation_log_head",
    log_metadata,
    Column("log", String(16), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
)

#: The stored names this store's writers know, each with its class version:
#: a reader meeting a name it does not know, or a newer version, refuses.
format_table = Table(
    "escalation_log_format",
    log_metadata,
    Column("topic", String(200), primary_key=True),
    Column("class_version", Integer, nullable=False),
)

HEAD_KEY = "events"


class LogHead(NamedTuple):
    position: int  # row id of the last record sealed (0: none)
    records: int  # records sealed from the start of the log
    digest: str  # running digest after that record


EMPTY_HEAD = LogHead(0, 0, GENESIS)


def _state(value: Any) -> bytes:
    return bytes(value) if isinstance(value, memoryview) else value


class BulkApplicationRecorder(SQLAlchemyApplicationRecorder):
    #: The store's data keys: new ones are written with the events they seal.
    keyring: Any = None

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        table = self.events_record_cls.__table__
        self._lock_table(session)  # PostgreSQL: ids committed in order, followers skip none
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        try:
            ids = [int(row[0]) for row in session.execute(statement, _rows(stored_events))]
        except Exception:
            if self.keyring is not None:  # their events were not written: neither are they
                for event in stored_events:
                    self.keyring.pending.pop(event.originator_id, None)
            raise
        seal(session, self.events_record_cls.__table__, list(zip(ids, stored_events, strict=True)))
        self._write_keys(session, stored_events)
        self._notify_channel(session)
        return ids

    def _write_keys(self, session: Session, stored_events: Sequence[StoredEvent]) -> None:
        if self.keyring is not None and self.keyring.pending:
            self.keyring.write_pending(session, [e.originator_id for e in stored_events])

    def append_events(self, stored_events: Sequence[StoredEvent]) -> None:
        """Insert in one transaction without ``RETURNING`` (bulk import).

        Without ``RETURNING`` the driver's own ``executemany`` runs the rows,
        about twice as fast; the ids are read back in one indexed range
        query to seal them. An id already taken raises ``IntegrityError``
        and writes nothing, like ``insert_events``.
        """
        if not stored_events:
            return
        table = self.events_record_cls.__table__
        with self.transaction(commit=True) as session:
            self._lock_table(session)
            before = head_in(session).position
            session.execute(insert(table), _rows(stored_events))
            c = table.c
            ids = session.execute(
                select(c.id, c.originator_id, c.originator_version)
                .where(c.id > before)
                .order_by(c.id)
            ).all()
            if [(as_uuid(r[1]), r[2]) for r in ids] != [
                (as_uuid(e.originator_id), e.originator_version) for e in stored_events
            ]:
                raise StorageError("the rows written are not the rows given; nothing was written")
            seal(session, table, [(int(r[0]), e) for r, e in zip(ids, stored_events, strict=True)])
            self._write_keys(session, stored_events)
            self._notify_channel(session)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The same rows as the stock method, read with Core instead of the ORM.

        The stock query builds an ORM object per row and then a notification
        from it; rebuilds, audits and exports read every row of the log.
        """
        table = self.events_record_cls.__table__
        c = table.c
        query = select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
        if start is not None:
            query = query.where(c.id >= start if inclusive_of_start else c.id > start)
        if stop is not None:
            query = query.where(c.id <= stop)
        if topics:
            query = query.where(c.topic.in_(topics))
        query = query.order_by(c.id).limit(limit)
        with self.transaction(commit=False) as session:
            return [
                Notification(
                    id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=_state(row[4]),
                )
                for row in session.execute(query)
            ]


def _rows(stored_events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {
            "originator_id": e.originator_id,
            "originator_version": e.originator_version,
            "topic": e.topic,
            "state": e.state,
        }
        for e in stored_events
    ]


# ------------------------------------------------------------------- sealing


class _Sealing:
    """The sealing statements as driver SQL, for one dialect.

    They run once per write: through ``exec_driver_sql`` they cost a fraction
    of building and compiling SQLAlchemy constructs each time (a third of a
    single ``receive`` before), and they are plain enough to read here.
    """

    def __init__(self, dialect: str, events: str) -> None:
        self.binary_ids = dialect == "sqlite"  # SQLite keeps ids as 16 bytes
        mark = "?" if dialect == "sqlite" else "%s"
        # Only table names and the driver's parameter mark are put in: values are bound.
        self.head = f"SELECT position, records, digest FROM {head_table.name} WHERE log = {mark}"
        self.insert = (
            f"INSERT INTO {chain_table.name} (position, scheme, prev, digest) "
            f"VALUES ({mark}, {mark}, {mark}, {mark})"
        )
        self.move = (
            f"UPDATE {head_table.name} SET position = {mark}, records = {mark}, "
            f"digest = {mark} WHERE log = {mark}"
        )
        self.previous = (
            f"SELECT c.digest FROM {chain_table.name} c JOIN {events} e ON e.id = c.position "
            f"WHERE e.originator_id = {mark} AND e.originator_version = {mark}"
        )

    def id_param(self, dispute: UUID) -> object:
        return dispute.bytes if self.binary_ids else dispute


@functools.cache
def _sealing(dialect: str, events: str) -> _Sealing:
    return _Sealing(dialect, events)


def head_in(session: Session) -> LogHead:
    """The log head as the given session sees it."""
    conn = session.connection()
    return _read_head(conn, _sealing(conn.dialect.name, ""))  # the head query names no events table


def _read_head(conn: Any, sql: _Sealing) -> LogHead:
    row = conn.exec_driver_sql(sql.head, (HEAD_KEY,)).first()
    if row is None:
        raise StorageError(
            "this store's log has no head row: open it with this version of escalation once "
            "(it seals the records written before) before writing to it"
        )
    return LogHead(int(row[0]), int(row[1]), str(row[2]))


def read_head(store: Any) -> LogHead:
    """The log head of a store (an ``eventsourcing`` application on this recorder)."""
    with store.recorder.transaction(commit=False) as session:
        return head_in(session)


def seal(session: Session, events: Table, written: Sequence[tuple[int, StoredEvent]]) -> None:
    """Chain digests for the rows just written and the log head after them.

    The caller holds the log's write lock (the table lock on PostgreSQL, the
    database write lock on SQLite), so the head read here is the latest.
    """
    conn = session.connection()
    sql = _sealing(conn.dialect.name, events.name)
    head = _read_head(conn, sql)
    if written[0][0] <= head.position:
        raise StorageError(
            f"row {written[0][0]} was written at or before the log head ({head.position}); "
            "another writer bypassed the seal"
        )
    prevs = _previous_digests(conn, sql, [e for _, e in written])
    chain_rows: list[tuple[int, int, str, str]] = []
    running, records = head.digest, head.records
    for position, e in written:
        dispute = as_uuid(e.originator_id)
        prev = prevs.pop(dispute, None)
        if prev is None:
            if e.originator_version != 1:
                raise StorageError(
                    f"dispute {dispute} version {e.originator_version}: the record before "
                    "it has no chain digest"
                )
            prev = GENESIS
        digest = record_digest(dispute, e.originator_version, e.topic, e.state, prev)
        prevs[dispute] = digest
        chain_rows.append((position, RECORD_SCHEME, prev, digest))
        running = advance(
            running, position, dispute, e.originator_version, e.topic, _state(e.state)
        )
        records += 1
    conn.exec_driver_sql(sql.insert, chain_rows)
    conn.exec_driver_sql(sql.move, (written[-1][0], records, running, HEAD_KEY))


def _previous_digests(conn: Any, sql: _Sealing, stored: Sequence[StoredEvent]) -> dict[UUID, str]:
    """The stored chain digest before each dispute's first record in ``stored``."""
    first: dict[UUID, int] = {}
    for e in stored:
        dispute = as_uuid(e.originator_id)
        version = first.get(dispute)
        if version is None or e.originator_version < version:
            first[dispute] = e.originator_version
    found: dict[UUID, str] = {}
    for dispute, version in first.items():
        if version > 1:
            row = conn.exec_driver_sql(sql.previous, (sql.id_param(dispute), version - 1)).first()
            if row is not None:
                found[dispute] = str(row[0])
    return found


# ------------------------------------------------------------- preparation


def prepare_log(
    engine: Any,
    events: Table,
    known: dict[str, int],
    *,
    writable: bool = True,
    lock: Callable[[Session], None] | None = None,
) -> None:
    """Create the log's tables, seal a store written before them, check its format.

    ``known`` maps each stored name this code knows to its class version. A
    store listing a name not known here, or a newer version of one, was
    written by a newer escalation: refused before anything is read.
    """
    if writable:
        log_metadata.create_all(engine, checkfirst=True)
    # Read under the lock below whatever another opener wrote meanwhile.
    exists = writable or inspect(engine).has_table(format_table.name)
    with Session(engine) as session, session.begin():
        if lock is not None:
            lock(session)
        if writable and engine.dialect.name == "sqlite":
            # Take the write lock before reading: two processes opening a new
            # file at once must not both decide to insert (PostgreSQL openers
            # are serialised by an advisory lock).
            session.execute(
                update(head_table).where(head_table.c.log == HEAD_KEY).values(log=head_table.c.log)
            )
        _check_format(session, known, writable=writable, exists=exists)
        if writable and session.execute(select(head_table.c.log)).first() is None:
            _seal_existing(session, events)


def _check_format(session: Session, known: dict[str, int], *, writable: bool, exists: bool) -> None:
    # No table: a store from before it (or a new one); its topics are all known.
    stored = {str(t): int(v) for t, v in session.execute(select(format_table))} if exists else {}
    unknown = sorted(t for t in stored if t not in known)
    newer = sorted(t for t, v in stored.items() if t in known and v > known[t])
    if unknown or newer:
        parts = [f"{t} (version {stored[t]}, unknown here)" for t in unknown]
        parts += [f"{t} (version {stored[t]}; this code reads up to {known[t]})" for t in newer]
        raise StorageError(
            "this store was written by a newer version of escalation: it holds "
            + ", ".join(parts)
            + ". Upgrade escalation to read it; nothing was read or written."
        )
    if writable:
        missing = [{"topic": t, "class_version": v} for t, v in known.items() if stored.get(t) != v]
        for row in missing:
            if row["topic"] in stored:
                session.execute(
                    update(format_table)
                    .where(format_table.c.topic == row["topic"])
                    .values(class_version=row["class_version"])
                )
            else:
                session.execute(insert(format_table), row)


def _seal_existing(session: Session, events: Table) -> None:
    """Seal the records of a store written before the chain table (scheme 1)."""
    c = events.c
    running, records, position, after = GENESIS, 0, 0, 0
    page = 2000
    while True:
        rows = session.execute(
            select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
            .where(c.id > after)
            .order_by(c.id)
            .limit(page)
        ).all()
        if not rows:
            break
        chain_rows = []
        for position, oid, version, topic, state in rows:
            data = _state(state)
            chain_rows.append(_legacy_row(int(position), oid, int(version), str(topic), data))
            running = advance(running, int(position), oid, int(version), str(topic), data)
            records += 1
        session.execute(insert(chain_table), chain_rows)
        after = int(rows[-1][0])
    session.execute(
        insert(head_table),
        {"log": HEAD_KEY, "position": position, "records": records, "digest": running},
    )


def _legacy_row(position: int, oid: Any, version: int, topic: str, state: bytes) -> dict[str, Any]:
    """A scheme-1 record's chain row: its ``prev_hash`` and its digest, as stored now.

    A record that no longer parses is sealed with empty digests; ``verify``
    reports it, as it did before the chain table existed.
    """
    try:
        fields = legacy_fields(state)
        prev = fields.get("prev_hash")
        digest = legacy_digest(oid, version, topic, fields)
    except (ValueError, TypeError):
        prev, digest = "", ""
    return {
        "position": position,
        "scheme": 1,
        "prev": prev if isinstance(prev, str) else "",
        "digest": digest,
    }


def chain_rows(session: Session, positions: Iterable[int]) -> dict[int, tuple[int, str, str]]:
    """Position -> (scheme, prev, digest) for the given positions (one query)."""
    wanted = list(positions)
    if not wanted:
        return {}
    low, high = min(wanted), max(wanted)
    rows = session.execute(
        select(chain_table).where(chain_table.c.position.between(low, high))
    ).all()
    keep = set(wanted)
    return {
        int(r.position): (int(r.scheme), str(r.prev), str(r.digest))
        for r in rows
        if int(r.position) in keep
    }


class QuietDatastore(SQLAlchemyDatastore):
    """The stock datastore, its engine never putting SQL parameters in error messages.

    A failing insert would otherwise print the dispute's summary, location,
    parties and amount in its ``[parameters: ...]`` (and in every log line).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("url"):
            kwargs.setdefault("hide_parameters", True)
        super().__init__(*args, **kwargs)


class Factory(SQLAlchemyFactory):
    datastore_class = QuietDatastore
    application_recorder_class = BulkApplicationRecorder
