"""The ASGI application: ``create_app(engine, tokens)``, or ``create_app(url=...)``.

Given an engine and a token store (``bootstrap.open_service``), the caller
keeps them and shuts them down; given only a URL, the app opens them through
the composition root when it starts and shuts them down when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from escalation import bootstrap
from escalation.adapters.tokens import TokenStore
from escalation.application.engine import DEFAULT_URL, EscalationEngine
from escalation.http import api, papers_api, problems, rules_api
from escalation.http.auth import TOKEN_TTL, TokenCache
from escalation.http.problems import TooLarge
from escalation.policies.rulebook import RuleBook

#: The largest request body taken (bytes): a receipt with its people fits many times over;
#: a rule book sent to check, diff, simulate or activate is the largest thing sent.
MAX_BODY = 1_048_576


def create_app(
    engine: EscalationEngine | None = None,
    tokens: TokenStore | None = None,
    *,
    url: str = DEFAULT_URL,
    rules: RuleBook | None = None,
    max_body: int = MAX_BODY,
    console: bool = True,
    token_ttl: float = TOKEN_TTL,
) -> FastAPI:
    """The service's ASGI app (the API, its OpenAPI document and the console).

    ``token_ttl``: how long a token found live is taken without asking the store again
    (seconds; 0 asks on every request), so how long a revocation may take to be seen.
    """
    if (engine is None) != (tokens is None):
        raise ValueError("give both engine and tokens (bootstrap.open_service), or neither")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            _serve(app, engine, tokens, token_ttl)
            yield
            return
        _serve(app, *bootstrap.open_service(rules, url), token_ttl)
        try:
            yield
        finally:
            app.state.engine.shutdown()

    app = FastAPI(
        title="escalation",
        version="1",
        summary="Tiered dispute escalation: community → street → district",
        description=(
            "The engine's commands and reads for the principal of a bearer token. "
            "Times are RFC 3339 with an offset; errors are application/problem+json "
            "(RFC 9457) naming the error class in `kind`. See docs/http.md."
        ),
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    if engine is not None:  # usable before the lifespan runs (a host's test client)
        _serve(app, engine, tokens, token_ttl)
    problems.install(app)
    app.include_router(api.router, prefix="/api")
    app.include_router(rules_api.router, prefix="/api")
    app.include_router(rules_api.verify_router, prefix="/api")
    app.include_router(papers_api.router, prefix="/api")
    if console:
        from escalation.http.console import router as console_router  # noqa: PLC0415

        app.include_router(console_router)
    app.add_middleware(BodyLimit, limit=max_body)
    return app


def _serve(
    app: FastAPI, engine: EscalationEngine, tokens: TokenStore | None, token_ttl: float
) -> None:
    assert tokens is not None
    app.state.engine, app.state.tokens = engine, tokens
    if (
        getattr(app.state, "token_cache", None) is None
        or app.state.token_cache.tokens is not tokens
    ):
        app.state.token_cache = TokenCache(tokens, token_ttl)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes (413) before any route reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit, scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise TooLarge(f"the request body is over {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response: Any = problems.problem(
        413, "TooLarge", f"the request body is over {limit} bytes (the service's limit)"
    )
    await response(scope, receive, send)
