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
  a person took a step a rule could have taken (for views without a rule column);
* ``label`` — display names from the rule book (``rules.label``) instead of
  codes, for what people read; the API and ``--json`` keep the codes;
* ``zone`` — the times in the line in the rule book's zone, with the offset.

Every dispute event of the catalogue has its line here (a test holds this
against ``escalation.aggregates.catalogue.DISPUTE_EVENTS``); an event class this
module does not know is shown by its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.rules_applied import RulesApplied
from escalation.policies.rulebook.schema import NOTICES

#: ``RuleBook.label``: (kind, code) -> what people read. None keeps the codes.
Labeller = Callable[[str, str | None], str]


def codes(kind: str, code: str | None) -> str:
    """The code itself: what the API, the events and ``--json`` show."""
    return code if code is not None else "-"


def in_ladder_order(notices: Iterable[str]) -> list[str]:
    """Notices as the ladder climbs (催办 → 提示 → 预警 → 督办), not alphabetically."""
    return sorted(notices, key=lambda n: (NOTICES.index(n) if n in NOTICES else len(NOTICES), n))


def describe(
    event: Dispute.Event,
    *,
    detail: bool = False,
    rule: bool = False,
    label: Labeller | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """What ``event`` did, in one line (see the module's docstring for the options).

    ``label`` (pass ``rules.label``) names categories, sources, tiers, risks,
    departments, outcomes and notices as people read them; None keeps the codes.
    ``zone`` shows the times in the line (a due time) there, with the offset;
    None keeps them in UTC (``2026-03-04 01:00Z``).
    """
    line = LINES.get(type(event))
    show = Shown(label or codes, zone)
    text = line(event, detail, show) if line is not None else type(event).__name__
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


def local_time(
    value: datetime | None, zone: ZoneInfo, *, seconds: bool = False, none: str = "-"
) -> str:
    """A time as people read it: in the rule book's zone, with its offset (2026-03-02 09:30 +08:00).

    Never a bare local time, a ``Z`` or a zone abbreviation (CST is three zones).
    """
    if value is None:
        return none
    local = value.astimezone(zone)
    offset = local.strftime("%z") or "+0000"
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {offset[:3]}:{offset[3:]}"


@dataclass(frozen=True)
class Shown:
    """How a line names codes (``label``) and shows times (in ``zone``, else UTC)."""

    label: Labeller
    zone: ZoneInfo | None = None

    def when(self, at: datetime) -> str:
        if self.zone is None:
            return f"{at.astimezone(UTC):%Y-%m-%d %H:%M}Z"
        return local_time(at, self.zone)


def _at(e: Any, show: Shown) -> str:
    return f"{show.label('tiers', e.tier)} {e.unit}"


def _note(e: Any, detail: bool) -> str:
    return f": {e.note}" if detail and e.note else ""


def _received(e: Any, detail: bool, show: Shown) -> str:
    what = f"{show.label('categories', e.category)} from {show.label('sources', e.source)}"
    text = f"{what} at {_at(e, show)}, {e.parties} {'party' if e.parties == 1 else 'parties'}"
    if detail:
        text += (f", ¥{e.amount:,.0f}" if e.amount else "") + f": {e.summary}"
    return text


def _risk(e: Any, detail: bool, show: Shown) -> str:
    matched = f" (matched {', '.join(e.matched)})" if detail and e.matched else ""
    return f"risk {show.label('risks', e.level)}{matched}"


def _moved(e: Any, show: Shown) -> str:
    tiers = show.label("tiers", e.from_tier), show.label("tiers", e.to_tier)
    return f"{tiers[0]} {e.from_unit} → {tiers[1]} {e.to_unit}"


def _escalated(e: Any, detail: bool, show: Shown) -> str:
    return f"{e.mode} {_moved(e, show)}"


def _remanded(e: Any, detail: bool, show: Shown) -> str:
    text = f"remanded {_moved(e, show)}"
    return text + (f": {e.instructions}" if detail else "")


def _settled(e: Any, detail: bool, show: Shown) -> str:
    what = "settled (agreement)" if e.settles else f"mediation {show.label('outcomes', e.outcome)}"
    return f"{what} at {_at(e, show)}{_note(e, detail)}"


def _rules_applied(e: Any, detail: bool, show: Shown) -> str:
    return f"rules applied ({e.in_flight}): due {show.when(e.due_at)}"


def _summoned(e: Any, detail: bool, show: Shown) -> str:
    participants = [show.label("departments", d) for d in e.participants]
    others = f" with {', '.join(participants)}" if participants else ""
    return f"summoned {show.label('departments', e.lead)} (lead){others}"


def _progress(e: Any, detail: bool, show: Shown) -> str:
    return f"progress reported by {show.label('departments', e.department)}{_note(e, detail)}"


def _leader_required(e: Any, detail: bool, show: Shown) -> str:
    if not e.required:
        return "leader no longer required"
    return f"leader required by {show.when(e.leader_due)}"


def _leader_assigned(e: Any, detail: bool, show: Shown) -> str:
    return f"leader {show.label('leaders', e.leader)}" + (f": {e.plan}" if detail else "")


def _assessed(e: Any, detail: bool, show: Shown) -> str:
    before = f" (was {show.label('risks', e.previous)})" if e.previous else ""
    return f"risk {show.label('risks', e.level)} by {e.actor}{before}"


def _notified(e: Any, detail: bool, show: Shown) -> str:
    what = {"check_in": "check-in", "feedback": "progress report", "leader": "leader"}
    # The addressee is the department that owes the duty, or the unit holding the case.
    to = show.label("departments", e.addressee) if e.addressee == e.department else e.addressee
    return f"{what.get(e.duty, e.duty)} overdue: notice to {to}"


def _supervised(e: Any, detail: bool, show: Shown) -> str:
    name = show.label("notices", e.notice)  # 催办函 names itself; a bare code needs "notice"
    return f"{name if name != e.notice else f'{name} notice'} at {_at(e, show)}"


def _closed(e: Any, detail: bool, show: Shown) -> str:
    return f"closed: {show.label('outcomes', e.outcome)} at {_at(e, show)}{_note(e, detail)}"


def _review(e: Any, detail: bool, show: Shown) -> str:
    return f"{e.review}: {e.decision.replace('_', ' ')}" + (f": {e.note}" if detail else "")


def _followed_up(e: Any, detail: bool, show: Shown) -> str:
    outcome = show.label("outcomes", e.outcome)
    return f"follow-up {outcome} at {_at(e, show)}{_note(e, detail)}"


#: Event class -> its line (event, detail, how). Complete over the catalogue's dispute events.
LINES: dict[type[Dispute.Event], Callable[[Any, bool, Shown], str]] = {
    Dispute.Received: _received,
    Dispute.RiskAssessed: _risk,
    Dispute.Routed: lambda e, detail, show: f"routed to {show.label('departments', e.department)}",
    Dispute.Mediated: _settled,
    Dispute.Escalated: _escalated,
    Dispute.Supervised: _supervised,
    Dispute.Closed: _closed,
    Dispute.Reopened: lambda e, detail, show: f"reopened at {_at(e, show)}",
    Dispute.Erased: lambda e, detail, show: "personal data erased",
    RulesApplied: _rules_applied,
    Dispute.Summoned: _summoned,
    Dispute.CheckedIn: lambda e, detail, show: (
        f"{show.label('departments', e.department)} checked in"
    ),
    Dispute.ProgressReported: _progress,
    Dispute.LeaderRequired: _leader_required,
    Dispute.LeaderAssigned: _leader_assigned,
    Dispute.Assessed: _assessed,
    Dispute.Notified: _notified,
    Dispute.ReviewDecided: _review,
    lifecycle.Accepted: lambda e, detail, show: f"accepted (受理) at {_at(e, show)}",
    lifecycle.Declined: lambda e, detail, show: f"declined (不予受理) at {_at(e, show)}",
    lifecycle.FollowedUp: _followed_up,
    lifecycle.Paused: lambda e, detail, show: f"paused (中止) at {_at(e, show)}",
    lifecycle.Resumed: lambda e, detail, show: f"resumed at {_at(e, show)}",
    lifecycle.Remanded: _remanded,
}
