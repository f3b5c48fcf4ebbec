"""Bearer tokens for the HTTP service: each names a principal (role and scope).

A token is shown once, when it is made; the table keeps only its SHA-256.
The tokens are 256 random bits, so a fast hash is enough: there is nothing to
guess that a slow one would protect. A token is found by its hash, so a row
never has to be compared with the secret itself.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    Row,
    String,
    Table,
    select,
    update,
)

from escalation.application.access import ROLES, Principal
from escalation.errors import InvalidInput
from escalation.policies.inputs import require_known

PREFIX = "esc_"
tokens_metadata = MetaData()
tokens_table = Table(
    "escalation_tokens",
    tokens_metadata,
    Column("id", String(16), primary_key=True),  # shown in lists; not a secret
    Column("digest", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("units", String(2000), nullable=False, default=""),
    Column("department", String(200), nullable=True),
    Column("personal_data", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # None: until revoked
)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: everything but the secret."""

    id: str
    principal: Principal
    created_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The ``escalation_tokens`` table on the store's database."""

    def __init__(self, database: Engine) -> None:
        self.database = database
        tokens_metadata.create_all(database)

    def create(
        self, principal: Principal, now: datetime, expires_at: datetime | None = None
    ) -> tuple[str, TokenInfo]:
        """A new token for ``principal``: the secret (shown once) and its listing."""
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("a token's expiry must be after now")
        require_known("role", principal.role, ROLES)
        if "," in "".join(principal.units):
            raise InvalidInput("a unit id has no comma; give each unit on its own")
        secret = PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(8), principal, now, None, expires_at)
        with self.database.begin() as conn:
            conn.execute(
                tokens_table.insert().values(
                    id=info.id,
                    digest=digest_of(secret),
                    name=principal.name,
                    role=principal.role,
                    units=",".join(principal.units),
                    department=principal.department,
                    personal_data=principal.personal_data,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return secret, info

    def principal(self, token: str, now: datetime) -> Principal | None:
        """The principal of a live token; None for an unknown, revoked or expired one."""
        info = self.find(token)
        if info is None or info.revoked_at is not None:
            return None
        if info.expires_at is not None and now >= info.expires_at:
            return None
        return info.principal

    def find(self, token: str) -> TokenInfo | None:
        """The listing of ``token`` (revoked and expired ones too); None for an unknown one."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        with self.database.connect() as conn:
            row = conn.execute(
                select(tokens_table).where(tokens_table.c.digest == digest_of(token))
            ).first()
        return None if row is None else _info(row)

    def list(self) -> Sequence[TokenInfo]:
        with self.database.connect() as conn:
            rows = conn.execute(select(tokens_table).order_by(tokens_table.c.created_at)).all()
        return [_info(r) for r in rows]

    def revoke(self, token_id: str, now: datetime) -> TokenInfo:
        """Revoke a token by its id (as listed); revoking twice keeps the first time."""
        with self.database.begin() as conn:
            row = conn.execute(select(tokens_table).where(tokens_table.c.id == token_id)).first()
            if row is None:
                known = [r.id for r in conn.execute(select(tokens_table.c.id))]
                require_known("token", token_id, known)
            conn.execute(
                update(tokens_table)
                .where(tokens_table.c.id == token_id, tokens_table.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = conn.execute(select(tokens_table).where(tokens_table.c.id == token_id)).one()
        return _info(row)


def _info(row: Row[Any]) -> TokenInfo:
    principal = Principal(
        name=row.name,
        role=row.role,
        units=tuple(u for u in row.units.split(",") if u),
        department=row.department,
        personal_data=bool(row.personal_data),
    )
    return TokenInfo(
        row.id, principal, _utc(row.created_at), _utc(row.revoked_at), _utc(row.expires_at)
    )


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes: they were written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
