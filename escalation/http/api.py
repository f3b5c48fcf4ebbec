"""The JSON API: the engine's commands and reads for the token's principal.

Every route acts through ``engine.scoped(principal)``: the role's operations,
inside its scope, with the principal recorded as the actor. The header
``Idempotency-Key`` becomes the command's ``request_id``: a repeated request
is answered with its first result and writes nothing more.
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from escalation.application.access import ScopedEngine
from escalation.errors import Forbidden, InvalidInput
from escalation.http import models
from escalation.http.auth import Engine, Scoped, require
from escalation.http.jsonable import jsonable, state_json
from projections.changes import Change

router = APIRouter()
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes the command safe to repeat: it becomes the command's request_id.",
        max_length=200,
    ),
]
#: The longest a long-poll or an event stream waits for news (seconds).
MAX_WAIT = 60.0
POLL_EVERY = 0.5


def _values(body: Any, key: str | None) -> dict[str, Any]:
    values = {k: v for k, v in body.model_dump().items() if v is not None}
    if key is not None:
        values["request_id"] = key
    return values


# ------------------------------------------------------------------ commands


@router.post(
    "/disputes",
    status_code=201,
    tags=["commands"],
    summary="Register a dispute (登记)",
    description="Answers the new dispute's id; `Location` is where to read it.",
    response_model=dict[str, str],
)
def receive(body: models.Receive, scoped: Scoped, key: IdempotencyKey = None) -> Response:
    dispute_id = scoped.receive(**_values(body, key))
    # Only the id: reading the dispute back would cost as much again as a third of the
    # receipt itself, and most callers (a hotline's intake) need no more. The answer is
    # written here, not validated against the response model: the busiest route skips
    # that step (response_model still documents it in the OpenAPI document).
    return Response(
        f'{{"id":"{dispute_id}"}}',
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/api/disputes/{dispute_id}"},
    )


def _command(operation: str, model: type[Any], summary: str) -> None:
    def handler(
        dispute_id: UUID,
        body: model,  # type: ignore[valid-type]
        scoped: Scoped,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        values = _values(body, key)
        departmental = operation in ("check_in", "report_progress")
        if departmental and "department" not in values and scoped.principal.department is None:
            raise InvalidInput(f"{operation.replace('_', ' ')}: name the department")
        act: Callable[..., Any] = getattr(scoped, operation)
        return state_json(act(dispute_id, **values))

    handler.__name__ = operation
    path = f"/disputes/{{dispute_id}}/{operation.replace('_', '-')}"
    router.add_api_route(
        path, handler, methods=["POST"], tags=["commands"], summary=summary, name=operation
    )


COMMANDS: dict[str, tuple[type[Any], str]] = {
    "accept": (models.Accept, "Accept a dispute (受理)"),
    "decline": (models.Decline, "Decline a dispute (不予受理)"),
    "mediate": (models.Mediate, "Record a mediation (调解)"),
    "follow_up": (models.FollowUp, "Record the follow-up of a settled dispute (回访)"),
    "summon": (models.Summon, "Summon departments (吹哨)"),
    "check_in": (models.CheckIn, "A summoned department checks in (报到)"),
    "report_progress": (models.Progress, "A department reports progress"),
    "assign_leader": (models.AssignLeader, "Assign a leader (领导包保)"),
    "assess": (models.Assess, "Assess the risk (研判)"),
    "escalate": (models.Escalate, "Escalate to the next tier (上报)"),
    "supervise": (models.Supervise, "Issue a notice (督办)"),
    "close": (models.Close, "Close (办结)"),
    "reopen": (models.Reason, "Reopen"),
    "erase": (models.Reason, "Erase the personal data"),
    "pause": (models.Reason, "Pause the clock (中止)"),
    "resume": (models.Resume, "Resume the clock"),
    "remand": (models.Remand, "Hand back to a lower unit (交办)"),
}
for _operation, (_model, _summary) in COMMANDS.items():
    _command(_operation, _model, _summary)


@router.post("/tick", tags=["commands"], summary="Apply what is due (notices, escalations)")
def tick(body: models.Tick, scoped: Scoped) -> dict[str, Any]:
    report = scoped.tick(body.now)
    return {"now": jsonable(report.now), "disputes": report.disputes, "events": report.events}


# --------------------------------------------------------------------- reads


@router.get("/disputes/{dispute_id}", tags=["reads"], summary="A dispute as it stands")
def get(dispute_id: UUID, scoped: Scoped, at: datetime | None = None) -> dict[str, Any]:
    state = scoped.state_at(dispute_id, at) if at is not None else scoped.get(dispute_id)
    return state_json(state)


@router.get("/disputes/{dispute_id}/history", tags=["reads"], summary="The dispute's events")
def history(dispute_id: UUID, scoped: Scoped) -> list[dict[str, Any]]:
    return [
        {
            "event": type(e).__name__,
            "version": e.originator_version,
            "occurred_at": jsonable(e.occurred_at),
            "fields": {
                k: jsonable(v)
                for k, v in vars(e).items()
                if k not in ("originator_id", "originator_version", "timestamp", "occurred_at")
            },
        }
        for e in scoped.history(dispute_id)
    ]


@router.get("/disputes/{dispute_id}/timeline", tags=["reads"], summary="The why-trail")
def timeline(dispute_id: UUID, scoped: Scoped) -> list[Any]:
    return [jsonable(row) for row in scoped.timeline(dispute_id)]


@router.get("/queue", tags=["reads"], summary="Open disputes, earliest due first")
def queue(
    scoped: Scoped,
    engine: Engine,
    unit: str | None = None,
    tier: str | None = None,
    as_of: datetime | None = None,
    department: str | None = None,
) -> list[Any]:
    if department is None:
        items = scoped.queue(unit, tier, as_of=as_of)
    else:
        department_queue_allowed(scoped, department)
        items = engine.queue(department=department)
    return [{**jsonable(i), "colour": i.colour} for i in items]


def department_queue_allowed(scoped: ScopedEngine, department: str) -> None:
    require(scoped.principal, "queue")
    own = scoped.scope.department
    if (own is not None and own != department) or (own is None and scoped.scope.units is not None):
        raise Forbidden(f"{scoped.principal.name} may not read the queue of {department}")


@router.get("/follow-ups", tags=["reads"], summary="Settled disputes awaiting follow-up")
def follow_ups(scoped: Scoped, unit: str | None = None, tier: str | None = None) -> list[Any]:
    return [{**jsonable(i), "colour": i.colour} for i in scoped.follow_ups(unit, tier)]


@router.get("/figures", tags=["reads"], summary="A period's figures")
def figures(
    scoped: Scoped,
    period: Annotated[str, Query(description="2026-03, 2026-Q1, 2026 or a day", max_length=40)],
    unit: str | None = None,
    as_of: datetime | None = None,
) -> Any:
    return jsonable(scoped.figures(period, unit=unit, as_of=as_of))


@router.get("/backlog", tags=["reads"], summary="Open disputes per tier at each day's close")
def backlog(scoped: Scoped, period: Annotated[str, Query(max_length=40)]) -> list[dict[str, Any]]:
    days, counts = scoped.backlog(period)
    return [{"day": d.isoformat(), "open": c} for d, c in zip(days, counts, strict=True)]


@router.get("/changes", tags=["changes"], summary="The change feed (long-poll)")
def changes(
    scoped: Scoped,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for news")] = 0,
) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        found, after = _visible(scoped, after, limit)
        if found or time.monotonic() >= deadline:
            break
        time.sleep(POLL_EVERY)
    return {"changes": [jsonable(c) for c in found], "next": after}


def _visible(scoped: ScopedEngine, after: int, limit: int) -> tuple[list[Change], int]:
    """The changes after ``after`` inside the scope, and the position read up to.

    The position moves past changes outside the scope too, so that a principal
    of some units is never stuck behind a page of others' changes.
    """
    scoped.changes(after=after, limit=1)  # the role may read the feed (else Forbidden)
    page = scoped.engine.changes(after=after, limit=limit)
    units = scoped.scope.units
    shown = page if units is None else [c for c in page if c.unit in units]
    return shown, page[-1].position if page else after


@router.get(
    "/changes/stream",
    tags=["changes"],
    summary="The change feed as server-sent events",
    response_class=StreamingResponse,
)
def changes_stream(
    request: Request,
    scoped: Scoped,
    after: Annotated[int, Query(ge=0)] = 0,
    seconds: Annotated[float, Query(gt=0, le=3600, description="Close after this long")] = 300,
    most: Annotated[int | None, Query(ge=1, description="Close after this many events")] = None,
) -> StreamingResponse:
    resume = request.headers.get("last-event-id", "")
    start = int(resume) if resume.isdigit() else after
    scoped.changes(after=start, limit=1)  # refuse now, before the stream starts
    return StreamingResponse(_events(scoped, start, seconds, most), media_type="text/event-stream")


def _events(scoped: ScopedEngine, after: int, seconds: float, most: int | None) -> Iterator[str]:
    """``id: position`` with each change: a client resumes with ``Last-Event-ID``."""
    import json  # noqa: PLC0415 - only the stream needs it

    deadline = time.monotonic() + seconds
    sent = 0
    yield ": escalation change feed\n\n"
    while time.monotonic() < deadline and (most is None or sent < most):
        found, read_to = _visible(scoped, after, 100)
        if most is not None and len(found) > most - sent:
            found = found[: most - sent]
            read_to = found[-1].position
        for change in found:
            data = json.dumps(jsonable(change), ensure_ascii=False)
            yield f"id: {change.position}\nevent: change\ndata: {data}\n\n"
            sent += 1
        if read_to == after:
            time.sleep(POLL_EVERY)
        after = read_to
