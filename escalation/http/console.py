"""The operations console: server-rendered pages (Jinja2), no JavaScript to build.

Login is by token (kept in an HttpOnly, SameSite=Strict cookie, so another
site cannot post a form with it). Every page reads and acts through
``engine.scoped(principal)``, exactly as the API does. Chinese by default;
``?lang=en`` switches to English (and is remembered in a cookie).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from escalation.aggregates.dispute import CLOSE_OUTCOMES, MEDIATION_OUTCOMES
from escalation.aggregates.lifecycle import FOLLOW_UP_OUTCOMES
from escalation.aggregates.permitted import permitted
from escalation.application.access import Principal
from escalation.application.audit.report import dispute_report
from escalation.application.audit.verify import verify as verify_log
from escalation.application.engine import EscalationEngine
from escalation.application.event_text import local_time
from escalation.application.reviews import build_review, previous_period, render_html
from escalation.application.whatif.report_html import html_report
from escalation.application.whatif.rule_diff import diff_rules
from escalation.application.whatif.simulate import simulate
from escalation.errors import EscalationError, Forbidden, InvalidInput, shown
from escalation.http.api import department_queue_allowed
from escalation.http.auth import COOKIE, TokenCache, may, require, token_of
from escalation.http.problems import TooLarge, Unauthorized, status_of
from escalation.http.texts import TEXTS
from escalation.policies.rulebook import RuleBook
from escalation.policies.rulebook.schema import NOTICES, RISK_LEVELS

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LANGS = ("zh", "en")
#: The buttons of the dispute page: the operation and the fields its form asks for.
#: Shown only where the role may take it and the dispute's state allows it (``permitted``).
ACTIONS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "decline": ("reason",),
    "follow_up": ("outcome", "note"),
    "mediate": ("outcome", "note"),
    "escalate": ("reason",),
    "close": ("outcome", "note"),
    "reopen": ("reason",),
    "pause": ("reason",),
    "resume": (),
    "supervise": ("notice", "reason"),
    "assess": ("level", "reason"),
    "assign_leader": ("leader", "plan"),
    "summon": ("lead", "reason"),
    "check_in": ("department",),
    "report_progress": ("department", "note"),
}
#: The largest candidate rule book the console takes, pasted or uploaded (bytes of UTF-8);
#: the default book is under 10 KiB. (The API's limit is the service's body limit.)
MAX_CANDIDATE = 262_144
#: The console lists red cases first, then yellow, then blue; earliest due first within each.
COLOUR_ORDER = {"red": 0, "yellow": 1, "blue": 2}
#: The label kind of each field with choices.
KINDS = {"outcome": "outcomes", "notice": "notices", "level": "risks"}
CHOICES = {
    ("mediate", "outcome"): MEDIATION_OUTCOMES,
    ("close", "outcome"): CLOSE_OUTCOMES,
    ("follow_up", "outcome"): FOLLOW_UP_OUTCOMES,
    ("supervise", "notice"): NOTICES,
    ("assess", "level"): RISK_LEVELS,
}


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return asked if asked in LANGS else "zh"


def _who(request: Request) -> Principal | None:
    token = token_of(request)
    if not token:
        return None
    cache: TokenCache = request.app.state.token_cache
    return cache.principal(token, request.app.state.engine.clock())


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    rules = _engine(request).rules

    def label(kind: str, code: str | None) -> str:  # codes as people read them
        return rules.label(kind, code, english=lang == "en")

    response = templates.TemplateResponse(
        request,
        name,
        {"t": TEXTS[lang], "lang": lang, "who": _who(request), "label": label, **context},
        status_code=status,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("lang", lang, samesite="strict")
    return response


def _error(request: Request, exc: EscalationError) -> HTMLResponse:
    status = status_of(exc)
    return _page(request, "error.html", status, kind=type(exc).__name__, detail=str(exc))


def _engine(request: Request) -> EscalationEngine:
    engine: EscalationEngine = request.app.state.engine
    return engine


def _local(engine: EscalationEngine) -> Any:
    """Times as people read them: in the rule book's zone, with its offset."""
    zone = ZoneInfo(engine.rules.calendar.timezone)
    return lambda value: local_time(value, zone, none="—")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if _who(request) is None:
        return _page(request, "login.html")
    return RedirectResponse("/queue", status_code=303)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
    if request.app.state.tokens.principal(token.strip(), _engine(request).clock()) is None:
        return _error(request, Unauthorized("the token is unknown, revoked or expired"))
    response = RedirectResponse("/queue", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    unit: str | None = None,
    tier: str | None = None,
    as_of: str | None = None,
    department: str | None = None,
) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    try:
        when = _as_of(as_of, engine)
        if department:  # the disputes it was summoned to (as GET /api/queue?department=)
            department_queue_allowed(engine.scoped(who), department)
            if unit or tier or when:
                raise InvalidInput("choose a department alone (no unit, tier or as of)")
            found = engine.queue(department=department)
        else:
            found = engine.scoped(who).queue(unit or None, tier or None, as_of=when)
        items = sorted(
            found,
            key=lambda i: COLOUR_ORDER.get(i.colour, len(COLOUR_ORDER)),  # stable: due stays
        )
        follow = engine.scoped(who).follow_ups() if may(who, "follow_ups") and not when else []
    except EscalationError as exc:
        return _error(request, exc)
    return _page(
        request,
        "queue.html",
        items=items,
        follow_ups=follow,
        local=_local(engine),
        units=engine.rules.units,
        tiers=engine.rules.tiers,
        departments=engine.rules.departments,
        leaders=engine.rules.leaders.people,
        department=department or "",
        unit=unit or "",
        tier=tier or "",
        as_of=as_of or "",
    )


def _as_of(text: str | None, engine: EscalationEngine) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"as of {shown(text)}: write a date and time like 2026-03-01T18:00"
        ) from None
    zone = ZoneInfo(engine.rules.calendar.timezone)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


@router.get("/d/{dispute_id}", response_class=HTMLResponse)
def dispute(request: Request, dispute_id: UUID) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    scoped = engine.scoped(who)
    try:
        state = scoped.get(dispute_id)
        rows = scoped.timeline(dispute_id)
    except EscalationError as exc:
        return _error(request, exc)
    allowed = permitted(state, engine.rules.tiers, who.department)
    actions = [
        (op, tuple(f for f in fields if not (f == "department" and who.department)))
        for op, fields in ACTIONS.items()
        if may(who, op) and op in allowed
    ]
    return _page(
        request,
        "dispute.html",
        state=state,
        rows=rows,
        actions=actions,
        choices=CHOICES,
        kinds=KINDS,
        local=_local(engine),
        report=who.sees_personal,
        message=request.query_params.get("done", ""),
    )


@router.get("/d/{dispute_id}/report", response_class=HTMLResponse)
def report(request: Request, dispute_id: UUID) -> Response:
    """The audit report's chart and why-table (for the roles that see personal data)."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    try:
        engine.scoped(who).get(dispute_id)  # role and scope
        if not who.sees_personal:
            raise Forbidden("the full audit report holds personal data this role may not see")
        html = dispute_report(engine, dispute_id)
    except EscalationError as exc:
        return _error(request, exc)
    return HTMLResponse(html)


@router.post("/d/{dispute_id}/{operation}")
async def act(request: Request, dispute_id: UUID, operation: str) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    form = await request.form()
    if operation not in ACTIONS:
        return _error(request, InvalidInput(f"no button {shown(operation)}"))
    values = {k: str(form.get(k, "")) for k in ACTIONS[operation]}
    if not values.get("department"):  # a department principal acts for its own
        values.pop("department", None)
    scoped = _engine(request).scoped(who)
    try:
        getattr(scoped, operation)(dispute_id, **values)
    except EscalationError as exc:
        return _error(request, exc)
    return RedirectResponse(f"/d/{dispute_id}?done={operation}", status_code=303)


@router.get("/rules", response_class=HTMLResponse)
def rules(request: Request) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    log = engine.rulebooks.log() if may(who, "rules") else None
    return _page(request, "rules.html", log=log, allowed=may(who, "rules"), rules=engine.rules)


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request) -> Response:
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    if not may(who, "verify"):
        return _page(request, "verify.html", status=403, report=None)
    return _page(request, "verify.html", report=verify_log(_engine(request)))


@router.get("/rules/diff", response_class=HTMLResponse)
def rules_diff(request: Request, a: str, b: str) -> Response:
    """What changes from stored version ``a`` to ``b``, in rule terms."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    try:
        require(who, "rules")
        changes = diff_rules(engine.rulebooks.book(a), engine.rulebooks.book(b))
    except EscalationError as exc:
        return _error(request, exc)
    return _page(request, "diff.html", a=a, b=b, changes=changes)


@router.get("/rules/whatif", response_class=HTMLResponse)
def rules_whatif(request: Request, version: str) -> Response:
    """The what-if report: the whole log replayed under a stored rule book."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    try:
        require(who, "rules")
        candidate = engine.rulebooks.book(version)
        run = simulate(engine.store, candidate)
    except EscalationError as exc:
        return _error(request, exc)
    return HTMLResponse(html_report(run, candidate.tiers))


@router.get("/reviews", response_class=HTMLResponse)
def reviews(request: Request, kind: str = "weekly", period: str | None = None) -> Response:
    """A review (研判) of the whole district: for the roles that see every unit."""
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    engine = _engine(request)
    try:
        require(who, "backlog")
        if who.units or who.department:
            raise Forbidden(f"{who.name}: a review covers the whole district")
        zone = ZoneInfo(engine.rules.calendar.timezone)
        chosen = period or str(previous_period(kind, engine.clock().astimezone(zone).date()))
        review = build_review(engine, kind, chosen, generated_at=engine.clock())
    except EscalationError as exc:
        return _error(request, exc)
    return HTMLResponse(render_html(review, label=engine.rules.label))


@router.post("/rules/candidate", response_class=HTMLResponse)
async def rules_candidate(request: Request) -> Response:
    """A candidate rule book, pasted or uploaded: its check, its diff and its what-if report.

    Reads only: nothing is stored or activated (that is ``escalation rules activate``
    or ``POST /api/rules/activate``). A form like the others: the login cookie is
    SameSite=Strict, so another site cannot post it.
    """
    who = _who(request)
    if who is None:
        return RedirectResponse("/", status_code=303)
    try:
        require(who, "rules")
        text = await _candidate_text(request)
        page = await run_in_threadpool(_candidate_page, request, _engine(request), text)
    except EscalationError as exc:
        return _error(request, exc)
    return page


async def _candidate_text(request: Request) -> str:
    too_large = TooLarge(f"the candidate rule book is over {MAX_CANDIDATE} bytes")
    # The parser's own bound only keeps memory in check (a Chinese character is 3 bytes);
    # the limit that is told to the person is checked below, on the bytes.
    bound = 4 * MAX_CANDIDATE
    async with request.form(max_files=1, max_fields=4, max_part_size=bound) as form:
        field, upload = form.get("yaml") or "", form.get("file")
        if isinstance(field, UploadFile):
            raise InvalidInput("yaml: paste the rule book's text into the box")
        pasted: str = field
        raw = b""
        if isinstance(upload, UploadFile):
            raw = await upload.read(MAX_CANDIDATE + 1)
    if len(raw) > MAX_CANDIDATE or len(pasted.encode()) > MAX_CANDIDATE:
        raise too_large
    if raw and pasted.strip():
        raise InvalidInput("give the rule book once: paste it or upload a file, not both")
    try:
        text = raw.decode("utf-8") if raw else pasted
    except UnicodeDecodeError:
        raise InvalidInput("the uploaded file is not UTF-8 text; save the YAML as UTF-8") from None
    if not text.strip():
        raise InvalidInput("paste a candidate rule book (YAML) or choose its file")
    return text


def _candidate_page(request: Request, engine: EscalationEngine, text: str) -> HTMLResponse:
    candidate = RuleBook.from_yaml(text, source="candidate")  # RulesError: the problems, by line
    run = simulate(engine.store, candidate)
    return _page(
        request,
        "candidate.html",
        candidate=candidate,
        active=engine.rules,
        changes=diff_rules(engine.rules, candidate),
        report=html_report(run, candidate.tiers),
    )
