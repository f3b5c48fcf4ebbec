"""Who makes a request: the principal of its bearer token (or of the console's cookie)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from escalation.adapters.tokens import TokenStore, digest_of
from escalation.application.access import ROLES, Principal, ScopedEngine
from escalation.application.engine import EscalationEngine
from escalation.errors import Forbidden
from escalation.http.problems import Unauthorized

COOKIE = "escalation_token"
#: How long (seconds) a token once found live is taken without asking the database again.
#: A token revoked meanwhile (``escalation tokens revoke``, from any process) is refused at
#: the latest this long after; an expiry is checked on every request. See docs/http.md.
TOKEN_TTL: Final = 5.0
#: The most tokens remembered at once; when full, the cache starts again empty.
MAX_CACHED: Final = 4096

#: What the roles may do beyond the engine's reads and commands (``access.ROLES``).
SERVICE_ROLES: dict[str, frozenset[str]] = {
    "rules": frozenset({"rule_owner", "auditor", "platform"}),  # check, diff, show, simulate
    "activate": frozenset({"rule_owner", "platform"}),
    "verify": frozenset({"auditor", "platform"}),
}


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


class TokenCache:
    """The tokens found live lately, so that a request seldom needs the database to know who.

    Keyed by the token's SHA-256, never by the secret. Only live tokens are kept (an
    unknown token costs a look-up every time, and cannot fill the cache). An entry is
    trusted for ``ttl`` seconds of ``monotonic`` time: that bounds how long a revocation
    takes to be seen. A token's expiry is kept with it and checked against ``now`` always.
    """

    def __init__(
        self,
        tokens: TokenStore,
        ttl: float = TOKEN_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tokens = tokens
        self.ttl = ttl
        self.monotonic = monotonic
        self._found: dict[str, tuple[Principal, datetime | None, float]] = {}
        self._lock = threading.Lock()  # the console's pages ask from worker threads

    def cached(self, token: str, now: datetime) -> tuple[bool, Principal | None]:
        """(True, the principal, or None once expired) if fresh here; else (False, None)."""
        entry = self._found.get(digest_of(token))
        if entry is None or self.monotonic() - entry[2] >= self.ttl:
            return False, None
        principal, expires_at, _ = entry
        return True, None if expires_at is not None and now >= expires_at else principal

    def look_up(self, token: str, now: datetime) -> Principal | None:
        """Ask the store (I/O): the principal of a live token, remembered; else None."""
        key = digest_of(token)
        info = self.tokens.find(token)
        live = info is not None and info.revoked_at is None
        with self._lock:
            if info is None or not live:
                self._found.pop(key, None)
                return None
            if len(self._found) >= MAX_CACHED:
                self._found.clear()
            self._found[key] = (info.principal, info.expires_at, self.monotonic())
        if info.expires_at is not None and now >= info.expires_at:
            return None
        return info.principal

    def principal(self, token: str, now: datetime) -> Principal | None:
        """The principal of a live token, from the cache or the store; None if not live."""
        known, principal = self.cached(token, now)
        return principal if known else self.look_up(token, now)


async def principal_of(request: Request) -> Principal:
    # async: a token in the cache costs no thread hop; only a look-up goes to a worker.
    token = token_of(request)
    if token is None:
        raise Unauthorized("give a bearer token (Authorization: Bearer …); see escalation tokens")
    cache: TokenCache = request.app.state.token_cache
    now = request.app.state.engine.clock()
    known, principal = cache.cached(token, now)
    if not known:
        principal = await run_in_threadpool(cache.look_up, token, now)
    if principal is None:
        raise Unauthorized("the token is unknown, revoked or expired")
    return principal


async def engine_of(request: Request) -> EscalationEngine:  # no I/O: no thread hop
    engine: EscalationEngine = request.app.state.engine
    return engine


async def scoped_of(  # no I/O: no thread hop
    principal: Annotated[Principal, Depends(principal_of)],
    engine: Annotated[EscalationEngine, Depends(engine_of)],
) -> ScopedEngine:
    return engine.scoped(principal)


def may(principal: Principal, operation: str) -> bool:
    """Whether ``principal``'s role may do ``operation`` (of the engine or of the service)."""
    if operation in SERVICE_ROLES:
        return principal.role in SERVICE_ROLES[operation]
    return operation in ROLES.get(principal.role, frozenset())


def require(principal: Principal, operation: str) -> None:
    if not may(principal, operation):
        raise Forbidden(
            f"{principal.name} ({principal.role}) may not {operation.replace('_', ' ')}"
        )


Scoped = Annotated[ScopedEngine, Depends(scoped_of)]
Who = Annotated[Principal, Depends(principal_of)]
Engine = Annotated[EscalationEngine, Depends(engine_of)]
