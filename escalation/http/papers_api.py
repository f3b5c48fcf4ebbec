"""The papers (一表两单四函一书) over HTTP, for the token's principal.

A paper's number is given the first time the paper is read, once per
(dispute, event, kind), so reading again is safe: the same paper, the same
number. The desk works for the principal (``PaperDesk(principal=)``): its
disputes, its units' letters, personal data only if its role sees it.
"""

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from escalation.application.access import ScopedEngine
from escalation.application.papers import Paper, PaperDesk
from escalation.http.auth import Scoped
from escalation.http.jsonable import jsonable

router = APIRouter()


def _desk(scoped: ScopedEngine) -> PaperDesk:
    return PaperDesk(scoped.engine, principal=scoped.principal)


def _summary(paper: Paper) -> dict[str, Any]:
    return {
        "dispute_id": str(paper.dispute_id),
        "version": paper.version,
        "kind": paper.kind,
        "title": paper.title,
        "number": paper.number,
        "issuer": paper.issuer,
        "addressee": paper.addressee_code,
        "addressee_name": paper.addressee,
        "asked": paper.asked,
        "time_limit": jsonable(paper.time_limit_at),
        "at": jsonable(paper.at),
    }


@router.get(
    "/disputes/{dispute_id}/papers",
    tags=["papers"],
    summary="Every paper of a dispute, numbered (登记表, 告知单, 交办单, 函, 告知书)",
)
def papers(dispute_id: UUID, scoped: Scoped) -> list[dict[str, Any]]:
    return [_summary(p) for p in _desk(scoped).papers(dispute_id)]


@router.get(
    "/disputes/{dispute_id}/papers/{kind}",
    tags=["papers"],
    summary="One paper as HTML (A4 print CSS) or PDF",
    description="The latest paper of `kind`, or the one of event `version`.",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def paper(
    dispute_id: UUID,
    kind: Annotated[str, Path(max_length=40)],
    scoped: Scoped,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Literal["html", "pdf"] = "html",
) -> Response:
    found = _desk(scoped).paper(dispute_id, kind, version=version)
    if format == "pdf":
        name = f"{found.kind}-{found.dispute_id}-{found.version}.pdf"
        return Response(
            found.pdf(),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )
    return HTMLResponse(found.html)


@router.get("/papers", tags=["papers"], summary="A unit's letters of a local day, to send")
def day(
    scoped: Scoped,
    unit: Annotated[str, Query(max_length=64)],
    on: Annotated[date, Query(alias="date", description="The local day, e.g. 2026-03-12")],
) -> list[dict[str, Any]]:
    return [_summary(p) for p in _desk(scoped).day(unit, on)]
