"""Rule books and verification over HTTP.

What ``escalation rules …``, ``simulate`` and ``verify`` do on the command
line, through the same application functions.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from escalation.application.activation import activate as activate_on
from escalation.application.audit.verify import verify as verify_log
from escalation.application.whatif.rule_diff import diff_rules
from escalation.application.whatif.simulate import simulate as simulate_on
from escalation.errors import InvalidInput
from escalation.http import models
from escalation.http.auth import Engine, Who, require
from escalation.http.jsonable import jsonable
from escalation.policies.rulebook import RuleBook

router = APIRouter(prefix="/rules", tags=["rules"])
verify_router = APIRouter(tags=["audit"])
_VERSION = re.compile(r"^[0-9a-f]{16}$")


def summary_of(book: RuleBook) -> dict[str, Any]:
    return {
        "version": book.version,
        "tiers": list(book.tiers),
        "units": len(book.units),
        "risk_rules": len(book.risk_rules),
        "elevate_rules": len(book.elevate_rules),
        "routing_rules": len(book.routing_rules),
        "departments": len(book.departments),
        "timezone": book.calendar.timezone,
    }


@router.post("/check", summary="Validate a rule book")
def check(body: models.RulesText, who: Who) -> dict[str, Any]:
    require(who, "rules")
    return {"ok": True, **summary_of(RuleBook.from_yaml(body.rules, source="request"))}


@router.get("", summary="The rule books this store has run with")
def history(who: Who, engine: Engine) -> dict[str, Any]:
    require(who, "rules")
    log = engine.rulebooks.log()
    if log is None:
        return {"active": None, "books": []}
    return {
        "active": log.active.version if log.active is not None else None,
        "books": [
            {
                "version": version,
                "source": book.source,
                "stored_at": jsonable(book.stored_at),
                "stored_by": book.stored_by,
                "activations": [
                    {"at": jsonable(a.at), "by": a.by, "in_flight": a.in_flight, "note": a.note}
                    for a in log.activations
                    if a.version == version
                ],
            }
            for version, book in log.books.items()
        ],
    }


@router.get("/{version}", summary="The exact text of a stored rule book")
def show(version: str, who: Who, engine: Engine) -> PlainTextResponse:
    require(who, "rules")
    return PlainTextResponse(engine.rulebooks.stored(version).text, media_type="application/yaml")


def book_of(ref: str, engine: Any) -> RuleBook:
    if _VERSION.match(ref.strip()):
        book: RuleBook = engine.rulebooks.book(ref.strip())
        return book
    return RuleBook.from_yaml(ref, source="request")


@router.post("/diff", summary="What changes from rule book a to b, in rule terms")
def diff(body: models.RulesDiff, who: Who, engine: Engine) -> dict[str, Any]:
    require(who, "rules")
    old, new = book_of(body.a, engine), book_of(body.b, engine)
    return {
        "a": old.version,
        "b": new.version,
        "changes": [{**jsonable(c), "text": str(c)} for c in diff_rules(old, new)],
    }


@router.post("/simulate", summary="Replay the log under a candidate rule book (what-if)")
def simulate(body: models.Simulate, who: Who, engine: Engine) -> dict[str, Any]:
    require(who, "rules")
    candidate = RuleBook.from_yaml(body.rules, source="request")
    zone = ZoneInfo(candidate.calendar.timezone)
    run = simulate_on(
        engine.store,
        candidate,
        start=_day(body.start, "start", zone),
        end=_day(body.end, "end", zone, end_of_day=True),
        keep=max(body.limit, 1),
    )
    comparison = run.comparison
    return {
        "candidate": candidate.version,
        "disputes": run.disputes,
        "horizon": jsonable(run.window.horizon),
        "seconds": round(run.seconds, 3),
        "comparison": jsonable(_public(comparison)),
    }


def _public(comparison: Any) -> dict[str, Any]:
    keys = ("current", "candidate", "changed", "decisions_differ", "changes", "skipped_count")
    return {k: getattr(comparison, k) for k in keys}


@router.post("/activate", summary="Make a rule book the store's active one")
def activate(body: models.Activate, who: Who, engine: Engine) -> dict[str, Any]:
    require(who, "activate")
    book = RuleBook.from_yaml(body.rules, source="request")
    report = activate_on(
        engine.storage,
        book,
        by=who.name,
        at=body.at,
        in_flight=body.in_flight,
        note=body.note,
        clock=engine.clock,
    )
    return {**jsonable(report), "note": "running services keep their rule book until restarted"}


@verify_router.get("/verify", summary="Re-read the whole log and prove it unaltered")
def verify(who: Who, engine: Engine) -> dict[str, Any]:
    require(who, "verify")
    report = verify_log(engine)
    return {
        "ok": report.ok,
        "events": report.events,
        "disputes": report.disputes,
        "checkpoints": report.checkpoints,
        "log_position": report.log_position,
        "log_digest": report.log_digest,
        "findings": [jsonable(f) for f in report.findings],
        "dropped": report.dropped,
    }


def _day(
    text: str | None, name: str, zone: ZoneInfo, *, end_of_day: bool = False
) -> datetime | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a date; write it like 2026-09-30") from None
    if end_of_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
