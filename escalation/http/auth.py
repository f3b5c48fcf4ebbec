"""Who makes a request: the principal of its bearer token (or of the console's cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from escalation.adapters.tokens import TokenStore
from escalation.application.access import ROLES, Principal, ScopedEngine
from escalation.application.engine import EscalationEngine
from escalation.errors import Forbidden
from escalation.http.problems import Unauthorized

COOKIE = "escalation_token"

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


def principal_of(request: Request) -> Principal:
    token = token_of(request)
    if token is None:
        raise Unauthorized("give a bearer token (Authorization: Bearer …); see escalation tokens")
    tokens: TokenStore = request.app.state.tokens
    principal = tokens.principal(token, request.app.state.engine.clock())
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
