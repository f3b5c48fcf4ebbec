"""Errors as ``application/problem+json`` (RFC 9457).

The body names the ``EscalationError`` class (``kind``) and carries its
message, which is written for the person who reads it. Anything else that
goes wrong is a bare 500: no stack trace, no SQL, no input echoed back.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from escalation.errors import (
    ConcurrencyError,
    EscalationError,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    RequestConflict,
    RuleEvaluationError,
    RulesError,
    StorageError,
    UnknownDispute,
)

MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("escalation.http")

#: The status of each error class (the first match along the class's MRO wins).
STATUS: dict[type[EscalationError], int] = {
    Forbidden: 403,
    UnknownDispute: 404,
    RequestConflict: 409,
    ConcurrencyError: 409,
    IllegalTransition: 409,
    InvalidInput: 422,
    RulesError: 422,
    RuleEvaluationError: 422,
    StorageError: 503,
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Unauthorized(EscalationError):
    """No bearer token, or one that is unknown or revoked."""


class TooLarge(EscalationError):
    """The request body is larger than the service accepts."""


def status_of(exc: EscalationError) -> int:
    if isinstance(exc, Unauthorized):
        return 401
    if isinstance(exc, TooLarge):
        return 413
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:escalation:problem:{kind}",
        "title": TITLES.get(status, kind),
        "status": status,
        "kind": kind,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="escalation"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def escalation_problem(exc: EscalationError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc, RulesError):
        extra["problems"] = [
            {"file": f, "line": line, "key": k, "message": m} for f, line, k, m in exc.problems
        ]
    return problem(status_of(exc), type(exc).__name__, str(exc), **extra)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    async def on_escalation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EscalationError)
        return escalation_problem(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Where and what, never the value given (it may be a person's name).
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return problem(422, "InvalidInput", f"the request is not valid: {where}", errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = "Unauthorized" if exc.status_code == 401 else TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, kind.replace(" ", ""), str(exc.detail))

    app.add_exception_handler(EscalationError, on_escalation)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAll)


class CatchAll:
    """Anything unexpected: a bare 500, and only the error's class in the log.

    Its message could quote SQL with its parameters, or a person's words: it
    is neither sent nor logged, and the exception goes no further (the
    server would log it with its traceback).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the last line of defence, by design
            # Not log.exception: the traceback carries the message this keeps out of the log.
            log.error("request.failed", path=scope.get("path"), error=type(exc).__name__)  # noqa: TRY400 - see above
            if scope["type"] == "http" and not started:
                response = problem(
                    500, "InternalError", "the service failed on this request; see its log"
                )
                await response(scope, receive, send)
