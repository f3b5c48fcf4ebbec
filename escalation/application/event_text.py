"""One line for people on what an event did: the one text of every event.

``escalation history``, the audit timeline (CLI table, HTML report, export
readers) and the what-if timelines and forecasts all show events through
``describe``, so an event reads the same wherever it is shown.

The line says *what* happened, from the event's own fields: where (tier and
unit), to what (risk level, department, outcome, notice), from where to where.
It never says *why* (``reason``): the tables that show it have a column for
that, and what-if compares the lines of two rule books whose reasons are
worded differently. Options add to it:

* ``detail`` — what auditors read as well: the free text people wrote (the
  summary of a receipt, the note of a mediation or close), the amount, every
  risk rule that matched;
* ``rule`` — the rule behind a decision, ``[rule id]``, or ``[by hand]`` when
  a person took a step a rule could have taken (for views without a rule column).

Every dispute event of the catalogue has its line here (a test holds this
against ``escalation.aggregates.catalogue.DISPUTE_EVENTS``); an event class this
module does not know is shown by its name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rules_applied import RulesApplied


def describe(event: Dispute.Event, *, detail: bool = False, rule: bool = False) -> str:
    """What ``event`` did, in one line (see the module's docstring for the options)."""
    line = LINES.get(type(event))
    text = line(event, detail) if line is not None else type(event).__name__
    by = decided_by(event) if rule else None
    return f"{text} [{by}]" if by is not None else text


def decided_by(event: Dispute.Event) -> str | None:
    """The rule that decided ``event``, or None for facts only people record.

    "by hand" for a person's step that a rule could have taken (a manual escalation
    or notice).
    """
    rule_id = getattr(event, "rule_id", _NO_RULE_FIELD)
    if rule_id is _NO_RULE_FIELD:
        return None
    return str(rule_id) if rule_id else "by hand"


_NO_RULE_FIELD = object()


def _at(e: Any) -> str:
    return f"{e.tier} {e.unit}"


def _note(e: Any, detail: bool) -> str:
    return f": {e.note}" if detail and e.note else ""


def _received(e: Any, detail: bool) -> str:
    text = f"{e.category} from {e.source} at {_at(e)}, {e.parties} parties"
    if detail:
        text += (f", ¥{e.amount:,.0f}" if e.amount else "") + f": {e.summary}"
    return text


def _risk(e: Any, detail: bool) -> str:
    matched = f" (matched {', '.join(e.matched)})" if detail and e.matched else ""
    return f"risk {e.level}{matched}"


def _escalated(e: Any, detail: bool) -> str:
    return f"{e.mode} {e.from_tier} {e.from_unit} → {e.to_tier} {e.to_unit}"


def _remanded(e: Any, detail: bool) -> str:
    text = f"remanded {e.from_tier} {e.from_unit} → {e.to_tier} {e.to_unit}"
    return text + (f": {e.instructions}" if detail else "")


def _settled(e: Any, detail: bool) -> str:
    what = "settled (agreement)" if e.settles else f"mediation {e.outcome}"
    return f"{what} at {_at(e)}{_note(e, detail)}"


def _rules_applied(e: Any, detail: bool) -> str:
    return f"rules applied ({e.in_flight}): due {e.due_at.astimezone(UTC):%Y-%m-%d %H:%M}Z"


def _summoned(e: Any, detail: bool) -> str:
    others = f" with {', '.join(e.participants)}" if e.participants else ""
    return f"summoned {e.lead} (lead){others}"


def _progress(e: Any, detail: bool) -> str:
    return f"progress reported by {e.department}{_note(e, detail)}"


def _leader_required(e: Any, detail: bool) -> str:
    if not e.required:
        return "leader no longer required"
    return f"leader required by {e.leader_due.astimezone(UTC):%Y-%m-%d %H:%M}Z"


def _leader_assigned(e: Any, detail: bool) -> str:
    return f"leader {e.leader}" + (f": {e.plan}" if detail else "")


def _assessed(e: Any, detail: bool) -> str:
    before = f" (was {e.previous})" if e.previous else ""
    return f"risk {e.level} by {e.actor}{before}"


def _notified(e: Any, detail: bool) -> str:
    what = {"check_in": "check-in", "feedback": "progress report", "leader": "leader"}
    return f"{what.get(e.duty, e.duty)} overdue: notice to {e.addressee}"


#: Event class -> its line (event, detail). Complete over the catalogue's dispute events.
LINES: dict[type[Dispute.Event], Callable[[Any, bool], str]] = {
    Dispute.Received: _received,
    Dispute.RiskAssessed: _risk,
    Dispute.Routed: lambda e, detail: f"routed to {e.department}",
    Dispute.Mediated: _settled,
    Dispute.Escalated: _escalated,
    Dispute.Supervised: lambda e, detail: f"{e.notice} notice at {_at(e)}",
    Dispute.Closed: lambda e, detail: f"closed: {e.outcome} at {_at(e)}{_note(e, detail)}",
    Dispute.Reopened: lambda e, detail: f"reopened at {_at(e)}",
    Dispute.Erased: lambda e, detail: "personal data erased",
    RulesApplied: _rules_applied,
    Dispute.Summoned: _summoned,
    Dispute.CheckedIn: lambda e, detail: f"{e.department} checked in",
    Dispute.ProgressReported: _progress,
    Dispute.LeaderRequired: _leader_required,
    Dispute.LeaderAssigned: _leader_assigned,
    Dispute.Assessed: _assessed,
    Dispute.Notified: _notified,
    Dispute.ReviewDecided: lambda e, detail: (
        f"{e.review}: {e.decision.replace('_', ' ')}" + (f": {e.note}" if detail else "")
    ),
    lifecycle.Accepted: lambda e, detail: f"accepted (受理) at {_at(e)}",
    lifecycle.Declined: lambda e, detail: f"declined (不予受理) at {_at(e)}",
    lifecycle.FollowedUp: lambda e, detail: f"follow-up {e.outcome} at {_at(e)}{_note(e, detail)}",
    lifecycle.Paused: lambda e, detail: f"paused (中止) at {_at(e)}",
    lifecycle.Resumed: lambda e, detail: f"resumed at {_at(e)}",
    lifecycle.Remanded: _remanded,
}
