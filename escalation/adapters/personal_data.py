"""Personal data at rest: sealed per dispute, opened with the master key, erased by shredding.

Each dispute has its own 256-bit data key. The personal fields of its events
(``Dispute.Event.personal_fields``: the people, summary, claim, location, and
notes and reasons people wrote) are stored as envelopes
``{"$sealed": base64(nonce ‖ AES-GCM ciphertext)}``, the associated data
binding each to its dispute, version and field, so an envelope copied to
another place does not open. Everything else (unit, tier, times, rules,
outcomes) stays readable: verification, what-if replay and the figures never
need a key.

Data keys are stored wrapped (AES-GCM again) by the master key, in
``escalation_data_keys``, written in the same transaction as the events they
seal. Erasing a dispute deletes its wrapped key: its envelopes can never be
opened again, while the stored bytes, and so the log's digest, stay as they
were (crypto-shredding).

The master key comes from the host (bytes, or a callable that fetches them
from its KMS), ``ESCALATION_MASTER_KEY`` (base64), or a key file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, Uuid, select, update
from sqlalchemy.orm import Session

from escalation.adapters.database import UTCDateTime
from escalation.errors import StorageError

MASTER_KEY_VARIABLE = "ESCALATION_MASTER_KEY"
KEY_FILE_VARIABLE = "ESCALATION_KEY_FILE"
SEALED = "$sealed"
#: What a person reads where an erased dispute's personal text was.
ERASED = "[erased]"
#: What a reader without the master key (an auditor's read-only tools) reads instead.
SEALED_TEXT = "[sealed]"
#: The "key" of a reader that may not open sealed fields (``Keyring.lenient``).
LOCKED = b"locked"
#: Seconds an opened data key is kept: another process's erasure is seen within them.
KEY_CACHE_SECONDS = 60.0
#: Opened data keys kept at most (a page of preloaded keys always fits).
KEY_CACHE_SIZE = 50_000
_NONCE = 12

data_keys = Table(
    "escalation_data_keys",
    MetaData(),
    Column("dispute_id", Uuid, primary_key=True),
    Column("master_key_id", String(16), nullable=False),
    Column("wrapped", LargeBinary),  # NULL once erased
    Column("erased_at", UTCDateTime),
)

#: A host's master key: the 32 bytes themselves, or a function that fetches them (a KMS).
MasterKeySource = bytes | str | Path | Callable[[], bytes]


class MasterKey:
    """The key that wraps every data key of a store (AES-256-GCM)."""

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) != 32:
            raise StorageError("a master key is 32 bytes (base64 of 32 random bytes in text)")
        self._aead = AESGCM(secret)
        #: Names the key in stored rows and messages without revealing it.
        self.key_id = hashlib.sha256(b"escalation master key\n" + secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def wrap(self, dispute_id: UUID, data_key: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._aead.encrypt(nonce, data_key, dispute_id.bytes)

    def unwrap(self, dispute_id: UUID, wrapped: bytes, wrapped_by: str) -> bytes:
        if wrapped_by != self.key_id:
            raise StorageError(
                f"dispute {dispute_id}'s data key is wrapped by master key {wrapped_by}; "
                f"the key given is {self.key_id}: give the store's master key "
                f"({MASTER_KEY_VARIABLE} or {KEY_FILE_VARIABLE}), or rotate to this one with "
                "`escalation keys rotate`"
            )
        try:
            return self._aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], dispute_id.bytes)
        except InvalidTag:
            raise StorageError(
                f"dispute {dispute_id}'s data key does not open with master key {self.key_id}: "
                "the stored key was altered"
            ) from None


def decode_master_key(text: str, where: str) -> MasterKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise StorageError(f"{where} is not base64 text of a master key") from None
    if len(secret) != 32:
        raise StorageError(f"{where} holds {len(secret)} bytes; a master key is 32")
    return MasterKey(secret)


def read_key_file(path: Path) -> MasterKey:
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise StorageError(f"cannot read the master key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StorageError(f"the key file {path} is not base64 text of a master key") from None
    return decode_master_key(text, f"the key file {path}")


def create_key_file(path: Path) -> MasterKey:
    """Write a new master key to ``path`` (readable by its owner only); refuse to overwrite."""
    secret = MasterKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StorageError(f"{path} exists; a master key is never overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(base64.b64encode(secret).decode("ascii") + "\n")
    return MasterKey(secret)


def master_key_from(source: MasterKeySource | None) -> MasterKey | None:
    """The master key a host gave, else ``ESCALATION_MASTER_KEY``, else ``ESCALATION_KEY_FILE``."""
    if source is None:
        text = os.environ.get(MASTER_KEY_VARIABLE)
        if text:
            return decode_master_key(text, MASTER_KEY_VARIABLE)
        named = os.environ.get(KEY_FILE_VARIABLE)
        return read_key_file(Path(named)) if named else None
    if isinstance(source, str | Path):
        return read_key_file(Path(source))
    if callable(source):
        return MasterKey(source())
    return MasterKey(source)


def key_file_beside(url: object) -> Path | None:
    """Where a SQLite store keeps its master key file: ``escalation.db.key``."""
    text = str(url)
    if not text.startswith("sqlite") or ":memory:" in text or ":///" not in text:
        return None
    path = text.split(":///", 1)[1].split("?", 1)[0]
    path = path.removeprefix("file:")
    return Path(path + ".key") if path else None


def master_key_for(url: object, source: MasterKeySource | None) -> MasterKey | None:
    """The key a store opens with: given, else the environment, else a key file beside it."""
    key = master_key_from(source)
    if key is None:
        beside = key_file_beside(url)
        if beside is not None and beside.is_file():
            key = read_key_file(beside)
    return key


@dataclass
class Keyring:
    """The data keys of one store: new ones pending until written, old ones opened on demand.

    ``read`` looks a dispute's key row up in the current transaction (the
    store passes its recorder's reader, so a host transaction sees its own).
    Opened keys are cached; a dispute's first event always gets a fresh key,
    never a cached one (a receipt rolled back and received again must not
    reuse a key that was never stored).
    """

    master: MasterKey | None
    read: Callable[[UUID], tuple[str, bytes | None] | None]
    #: Without a master key, show sealed fields as ``[sealed]`` instead of refusing.
    lenient: bool = False
    #: Away from the store (import workers): new keys are made here, wrapped by the writer.
    offline: bool = False
    pending: dict[UUID, bytes] = field(default_factory=dict)
    opened: dict[UUID, bytes | None] = field(default_factory=dict)
    _opened_since: float = field(default_factory=time.monotonic)

    def _require_master(self) -> MasterKey:
        if self.master is None:
            raise StorageError(
                "personal data needs the store's master key: set "
                f"{MASTER_KEY_VARIABLE} (base64 of 32 bytes) or {KEY_FILE_VARIABLE} (a key "
                "file), or pass master_key= to the engine (`escalation keys master FILE` "
                "makes one)"
            )
        return self.master

    def for_sealing(self, dispute_id: UUID, version: int) -> bytes:
        if not self.offline:
            self._require_master()  # fail before any work, not inside the write
        if version == 1:
            key = self.pending[dispute_id] = AESGCM.generate_key(bit_length=256)
            self.opened.pop(dispute_id, None)
            return key
        if dispute_id in self.pending:
            return self.pending[dispute_id]
        if dispute_id in self.opened or self.read(dispute_id) is not None:
            opened = self.for_opening(dispute_id)
            if opened is None or opened == LOCKED:
                raise StorageError(f"dispute {dispute_id} was erased; it takes no personal data")
            return opened
        # A dispute received before sealing (plain text so far): its first key.
        key = self.pending[dispute_id] = AESGCM.generate_key(bit_length=256)
        return key

    def for_opening(self, dispute_id: UUID) -> bytes | None:
        """The dispute's data key, for a sealed field; None once erased.

        ``LOCKED`` for a lenient keyring without a master key. Opened keys are
        kept ``KEY_CACHE_SECONDS`` at most, so an erasure by another process is
        seen within that time.
        """
        if time.monotonic() - self._opened_since > KEY_CACHE_SECONDS:
            self.opened.clear()
            self._opened_since = time.monotonic()
        if dispute_id in self.opened:
            return self.opened[dispute_id]
        row = self.read(dispute_id)
        if row is None and dispute_id in self.pending:  # made for an event not yet written
            return self.pending[dispute_id]
        if row is None:
            raise StorageError(
                f"dispute {dispute_id} has sealed personal data but no data key: "
                "its row in escalation_data_keys is missing"
            )
        wrapped_by, wrapped = row
        if wrapped is not None and self.master is None and self.lenient:
            return LOCKED  # a reader without the key: the field reads [sealed]
        key = (
            None
            if wrapped is None
            else self._require_master().unwrap(dispute_id, wrapped, wrapped_by)
        )
        if len(self.opened) >= KEY_CACHE_SIZE:
            self.opened.clear()
        self.opened[dispute_id] = key
        return key

    def preload(self, rows: Iterable[tuple[UUID, str, bytes | None]]) -> None:
        """Open many disputes' keys at once (readers of whole pages of the log).

        ``rows`` are (dispute id, wrapping key id, wrapped key or None once erased),
        as ``escalation_data_keys`` holds them. Without a master key nothing is
        opened: lenient readers show sealed fields as ``[sealed]`` anyway.
        """
        if self.master is None:
            return
        rows = list(rows)
        if len(self.opened) + len(rows) > KEY_CACHE_SIZE:
            self.opened.clear()
        for dispute_id, wrapped_by, wrapped in rows:
            if dispute_id not in self.opened:
                self.opened[dispute_id] = (
                    None
                    if wrapped is None
                    else self.master.unwrap(dispute_id, bytes(wrapped), wrapped_by)
                )

    def write_pending(self, session: Session, dispute_ids: Iterable[UUID]) -> None:
        """Store the new keys of these disputes, in the transaction writing their events."""
        rows = []
        for dispute_id in dict.fromkeys(dispute_ids):
            key = self.pending.pop(dispute_id, None)
            if key is not None:
                master = self._require_master()
                rows.append(
                    {
                        "dispute_id": dispute_id,
                        "master_key_id": master.key_id,
                        "wrapped": master.wrap(dispute_id, key),
                    }
                )
        if rows:
            session.execute(data_keys.insert(), rows)

    def erase(self, session: Session, dispute_id: UUID, at: datetime) -> None:
        session.execute(
            update(data_keys)
            .where(data_keys.c.dispute_id == dispute_id)
            .values(wrapped=None, erased_at=at)
        )
        self.opened[dispute_id] = None

    def forget(self) -> None:
        """Drop cached keys (after a rotation or a rollback the cache may not match)."""
        self.opened.clear()
        self.pending.clear()


def seal(key: bytes, dispute_id: UUID, version: int, name: str, value: Any) -> dict[str, str]:
    nonce = secrets.token_bytes(_NONCE)
    plain = json.dumps(value, ensure_ascii=False).encode("utf-8")
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(dispute_id, version, name))
    return {SEALED: base64.b64encode(nonce + sealed).decode("ascii")}


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1 and SEALED in value


def open_sealed(
    key: bytes | None, dispute_id: UUID, version: int, name: str, envelope: dict[str, str]
) -> Any:
    """The field's value, or ``ERASED`` (``[]`` for the people) once the key is gone."""
    if key is None or key == LOCKED:
        return [] if name == "people" else (ERASED if key is None else SEALED_TEXT)
    raw = base64.b64decode(envelope[SEALED])
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(dispute_id, version, name))
    except InvalidTag:
        raise StorageError(
            f"dispute {dispute_id} version {version}: the sealed {name} does not open "
            "with its data key (the stored record was altered)"
        ) from None
    return json.loads(plain)


def _aad(dispute_id: UUID, version: int, name: str) -> bytes:
    return f"escalation sealed v1\n{dispute_id}\n{version}\n{name}".encode()


def rewrap(session: Session, old: MasterKey, new: MasterKey) -> int:
    """Re-wrap every data key under ``new`` (in the caller's transaction); returns how many."""
    count = 0
    rows = session.execute(
        select(data_keys.c.dispute_id, data_keys.c.master_key_id, data_keys.c.wrapped).where(
            data_keys.c.wrapped.is_not(None)
        )
    ).all()
    for dispute_id, wrapped_by, wrapped in rows:
        if wrapped_by == new.key_id:
            continue
        key = old.unwrap(dispute_id, bytes(wrapped), wrapped_by)
        session.execute(
            update(data_keys)
            .where(data_keys.c.dispute_id == dispute_id)
            .values(master_key_id=new.key_id, wrapped=new.wrap(dispute_id, key))
        )
        count += 1
    return count
