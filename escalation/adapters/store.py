"""The event store: an ``eventsourcing`` application on ``eventsourcing-sqlalchemy``."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    InfrastructureFactory,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import (
    Environment,
    TopicError,
    get_topic,
    register_topic,
    resolve_topic,
)
from eventsourcing_sqlalchemy.datastore import transactions
from sqlalchemy import Connection, Engine, Table, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.adapters.database import create_serialised, driver_message, masked
from escalation.adapters.host import HostSession, JoinedTransaction, host_session, same_database
from escalation.adapters.log_digests import as_uuid
from escalation.adapters.persistence import QuietDatastore, prepare_log
from escalation.adapters.personal_data import (
    LOCKED,
    Keyring,
    MasterKey,
    data_keys,
    is_sealed,
    open_sealed,
    seal,
)
from escalation.aggregates.catalogue import LEGACY_TOPICS, class_versions
from escalation.errors import InvalidInput, StorageError

#: Fixed, so renaming a class never moves the data: the tables are
#: ``escalation_events`` and ``escalation_tracking``.
STORE_NAME = "escalation"


class CachedDatetimeAsISO(DatetimeAsISO):
    """``DatetimeAsISO`` (same name, same text) remembering recent texts.

    A dispute's events repeat its times (received, due, each notice of the
    schedule) and a batch shares its recorded time; formatting a datetime
    costs several lookups. The text depends on the instant and the offset.
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.texts: dict[tuple[datetime, timedelta | None], str] = {}

    def encode(self, obj: datetime) -> str:
        key = (obj, obj.utcoffset())
        text = self.texts.get(key)
        if text is None:
            if len(self.texts) >= self.size:
                self.texts.clear()
            text = self.texts[key] = obj.isoformat()
        return text


def register_legacy_topics() -> None:
    """Let module-path topics of logs written before stable names resolve.

    ``eventsourcing`` keeps one process-wide topic table; registering the
    same class again is a no-op, so every store may call this.
    """
    for topic, cls in LEGACY_TOPICS.items():
        register_topic(topic, cls)


class LogMapper(Mapper[UUID]):
    """The stock mapper, sealing personal fields and refusing what it cannot read faithfully.

    An unknown topic or a ``class_version`` newer than the class's is a store
    written by a newer escalation: a clear ``StorageError``, never a half-read
    event with fields the code does not know. An event's personal fields
    (``personal_fields()``) are stored sealed with its dispute's data key and
    opened on the way back (``escalation.adapters.personal_data``).
    """

    #: The store's data keys; None for a mapper that must never see personal data.
    keyring: Keyring | None = None

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        personal = getattr(domain_event, "personal_fields", None)
        values = vars(domain_event)
        names = [n for n in personal() if values.get(n)] if personal is not None else []
        if not names:
            return super().to_stored_event(domain_event)
        if self.keyring is None:
            raise StorageError(
                "this store was opened without its keyring: it writes no personal data"
            )
        dispute_id = domain_event.originator_id
        version = domain_event.originator_version
        key = self.keyring.for_sealing(dispute_id, version)
        state = dict(values)
        state.pop("originator_id")
        state.pop("originator_version")
        for name in names:
            state[name] = seal(key, dispute_id, version, name, state[name])
        state["class_version"] = getattr(type(domain_event), "class_version", 1)
        encoded = self.transcoder.encode(state)
        if self.compressor:
            encoded = self.compressor.compress(encoded)
        if self.cipher:
            encoded = self.cipher.encrypt(encoded)
        return StoredEvent(
            originator_id=dispute_id,
            originator_version=version,
            topic=get_topic(type(domain_event)),
            state=encoded,
        )

    def _open(self, fields: dict[str, Any], stored_event: StoredEvent) -> None:
        sealed = [name for name, value in fields.items() if is_sealed(value)]
        if not sealed:
            return
        dispute_id = cast("UUID", stored_event.originator_id)
        if not isinstance(dispute_id, UUID):
            dispute_id = UUID(str(dispute_id))
        key = self.keyring.for_opening(dispute_id) if self.keyring is not None else LOCKED
        for name in sealed:
            fields[name] = open_sealed(
                key, dispute_id, stored_event.originator_version, name, fields[name]
            )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        # The stock method, with the two refusals: it drops a stored
        # class_version newer than the class's without a word.
        where = f"dispute {stored_event.originator_id} version {stored_event.originator_version}"
        try:
            cls = resolve_topic(stored_event.topic)
        except TopicError:
            raise StorageError(
                f"{where} is stored as {stored_event.topic!r}, a name this version of "
                "escalation does not know: the store was written by a newer version"
            ) from None
        state = stored_event.state
        try:
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            fields: dict[str, Any] = self.transcoder.decode(state)
        except Exception as exc:
            raise MapperDeserialisationError(
                f"{where} ({stored_event.topic}) does not decode: {exc}"
            ) from exc
        self._open(fields, stored_event)
        known = getattr(cls, "class_version", 1)
        version = fields.pop("class_version", 1)
        if version > known:
            raise StorageError(
                f"{where} ({stored_event.topic}) has class version {version}; this version of "
                f"escalation reads up to {known}: upgrade to read it"
            )
        while version < known:
            getattr(cls, f"upcast_v{version}_v{version + 1}")(fields)
            version += 1
        convert = find_id_convertor(cls, cast("Hashable", type(stored_event.originator_id)))
        fields["originator_id"] = convert(stored_event.originator_id)
        fields["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", fields)
        return cast("DomainEventProtocol[UUID]", event)


class DisputeLog(Application[UUID]):
    name = STORE_NAME

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        bind: Engine | None = None,
        master_key: MasterKey | None = None,
        lenient: bool = False,
    ) -> None:
        register_legacy_topics()
        # A host's engine (and its pool) to share instead of one from a URL.
        self._bind = bind
        super().__init__(env=env)
        self._has_keys = False
        # Set before the keyring: its reader asks the recorder.
        # ``lenient``: a reader without the master key sees sealed fields as [sealed].
        self.keyring = Keyring(master_key, read=self._key_row, lenient=lenient)
        cast("LogMapper", self.mapper).keyring = self.keyring
        cast("Any", self.recorder).keyring = self.keyring

    def preload_keys(self, dispute_ids: Iterable[UUID | str | bytes]) -> None:
        """Open the data keys of many disputes in one query (whole pages of the log)."""
        ids = {as_uuid(i) for i in dispute_ids}
        if not ids or self.keyring.master is None:
            return
        if not self._has_keys:
            self._has_keys = inspect(self.database).has_table(data_keys.name)
            if not self._has_keys:
                return
        c = data_keys.c
        with self.reading() as session:
            rows = session.execute(
                select(c.dispute_id, c.master_key_id, c.wrapped).where(c.dispute_id.in_(ids))
            ).all()
        self.keyring.preload((r[0], str(r[1]), r[2]) for r in rows)

    def _key_row(self, dispute_id: UUID) -> tuple[str, bytes | None] | None:
        if not self._has_keys:  # a store opened read-only may predate the table
            self._has_keys = inspect(self.database).has_table(data_keys.name)
            if not self._has_keys:
                return None
        c = data_keys.c
        with self.reading() as session:
            row = session.execute(
                select(c.master_key_id, c.wrapped).where(c.dispute_id == dispute_id)
            ).first()
        return None if row is None else (str(row[0]), row[1])

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        factory = super().construct_factory(env)
        if self._bind is not None:
            cast("Any", factory).datastore = QuietDatastore(
                session_maker=sessionmaker(bind=self._bind)
            )
        return factory

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=LogMapper)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(CachedDatetimeAsISO())

    # The database behind the recorder, for the code that reads it directly
    # (read models, audits, what-if): only the adapters reach into the recorder.

    @property
    def database(self) -> Engine:
        """The SQLAlchemy engine of the store's database."""
        return cast("Engine", cast("Any", self.recorder).datastore.engine)

    @property
    def events_table(self) -> Table:
        """The log's table (``escalation_events``)."""
        return cast("Table", cast("Any", self.recorder).events_record_cls.__table__)

    def reading(self) -> AbstractContextManager[Session]:
        """A session in a transaction that is rolled back at the end."""
        return cast(
            "AbstractContextManager[Session]", cast("Any", self.recorder).transaction(commit=False)
        )

    def writing(self) -> AbstractContextManager[Session]:
        """A session in a transaction that commits at the end (unless it raised)."""
        return cast(
            "AbstractContextManager[Session]", cast("Any", self.recorder).transaction(commit=True)
        )

    @contextmanager
    def joined(self, host: HostSession, *, write: bool) -> Iterator[None]:
        """Run the store's reads and writes inside the caller's transaction.

        Everything the store does meanwhile (events, seals, read-model rows,
        tracking positions) goes through ``host`` in savepoints and is never
        committed here: the caller's commit or rollback decides. A failure
        rolls back to the savepoint taken on entry, so it writes nothing and
        leaves the caller's transaction usable.
        """
        if not isinstance(host, Session | Connection):
            raise InvalidInput(
                f"session must be a SQLAlchemy Session or Connection, not {type(host).__name__}"
            )
        if not same_database(host, self.database):
            raise StorageError(
                "the session is on another database than the engine's "
                f"({masked(str(self.database.url))}); give the engine bind= with your engine"
            )
        with host_session(host, write=write) as session:
            transaction = JoinedTransaction(session)
            token = transactions.set(transaction)
            try:
                with transaction:
                    yield
            finally:
                transactions.reset(token)

    def close(self) -> None:
        """Close the application and the pooled connections of an engine it made itself."""
        super().close()
        engine = getattr(getattr(self.recorder, "datastore", None), "engine", None)
        if engine is not None and self._bind is None:
            engine.dispose()


def open_store(url: str | Engine, master_key: MasterKey | None = None) -> DisputeLog:
    """Open (creating tables if needed) the store at a SQLAlchemy URL, or on a host's engine.

    ``master_key`` opens and wraps the disputes' data keys (personal data).
    """
    env = {"PERSISTENCE_MODULE": "escalation.adapters.persistence:Factory", "CREATE_TABLE": "y"}
    bind = url if isinstance(url, Engine) else None
    if bind is None:
        if not isinstance(url, str) or "://" not in url:
            raise StorageError(
                f"database URL {masked(url)!r} is not a SQLAlchemy URL; use e.g. "
                "sqlite:///escalation.db or postgresql+psycopg://user:pass@localhost/escalation"
            )
        env["SQLALCHEMY_URL"] = url
    where = masked(str(bind.url) if bind is not None else url)
    try:
        # Several processes may start at once on an empty database.
        app = create_serialised(
            url, lambda: _touched(DisputeLog(env=env, bind=bind, master_key=master_key))
        )
    except Exception as exc:  # the driver's errors differ by backend and cause
        raise StorageError(f"cannot open the database at {where}: {driver_message(exc)}") from exc
    return app


def offline_mapper(master_key: MasterKey | None = None) -> LogMapper:
    """The store's own mapper (same topics, transcodings and settings), without a database.

    For work that encodes or decodes events away from any store, such as the
    importer's worker processes: it seals new disputes' personal fields with
    fresh data keys, left in ``mapper.keyring.pending`` for the writer.
    """
    app = DisputeLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, master_key=master_key)
    app.keyring.read = _no_key_row
    app.keyring.offline = True
    return cast("LogMapper", app.mapper)


def _no_key_row(_dispute_id: UUID) -> None:
    return None


def _touched(app: DisputeLog) -> DisputeLog:
    recorder = cast("Any", app.recorder)
    # Touch the database through the datastore now, not mid-command: its first
    # transaction switches a new SQLite file to WAL, which needs the file to
    # itself for a moment ("database is locked" is retried by the caller).
    recorder.max_notification_id()
    # Seal a store written before the chain, refuse one written by a newer version.
    prepare_log(
        recorder.datastore.engine,
        recorder.events_record_cls.__table__,
        class_versions(),
        lock=recorder._lock_table,
    )
    data_keys.create(recorder.datastore.engine, checkfirst=True)
    return app
