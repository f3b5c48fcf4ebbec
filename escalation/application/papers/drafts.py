"""What each paper says, read from a dispute's events (pure: no clock, no I/O).

A paper belongs to one event: the event that made it due (a receipt, an
acceptance, a transfer, a notice, a close). Its date is the event's; its time
limit is the one the dispute stood under right after the event. The same
history therefore always gives the same drafts; numbering is done apart
(``numbers``), once per (dispute, event, kind).

Who issues and who must act:

* a notice of the supervision ladder (``Supervised``) is addressed to the unit
  holding the case (``Supervised.unit``) and issued by the centre one tier up
  (the top tier's centre supervises its own cases);
* a duty notice (``Notified``) goes to its ``addressee``: a summoned
  department, issued by the centre holding the case; or, for a missing leader,
  the unit holding the case, issued as above. It is a 催办函;
* a transfer (转送: ``Escalated``; 交办: ``Remanded``; 分类流转: ``Routed``;
  吹哨: ``Summoned``) is issued by the unit handing the case on, to the unit or
  department taking it;
* the registration form, the acceptance notice and the result notice are the
  receiving or closing unit's, the latter two addressed to the parties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.lifecycle import Accepted, Declined, Remanded
from escalation.aggregates.state import DisputeState
from escalation.policies.rulebook import RuleBook

#: What a duty notice (``Notified.duty``) asks of its addressee.
DUTY_ASKED: Mapping[str, str] = {
    "check_in": "该事项已由中心吹哨，贵单位尚未报到。请于下列时限前到中心报到，并按职责参与化解。",
    "feedback": "贵单位尚未按时反馈办理进展。请于下列时限前书面反馈办理情况。",
    "leader": "该事项须落实领导包保（一案一策），尚未明确包案领导。"
    "请于下列时限前明确包案领导及化解方案。",
}
#: What each letter of the supervision ladder asks of the unit holding the case.
NOTICE_ASKED: Mapping[str, str] = {
    "reminder": "该事项办理时限已过半。请抓紧办理，于下列时限前办结并反馈结果。",
    "prompt": "该事项办理时限已大部分用去，请重点关注。请于下列时限前办结并反馈结果。",
    "warning": "该事项即将超出办理时限，存在超期风险。请立即采取措施，于下列时限前办结并反馈结果。",
    "supervision": "该事项已列为重点督办事项。请主要负责同志亲自过问，"
    "于下列时限前办结并书面报告办理结果。",
}
#: What a step's notice is about, when it is not the visit's time limit.
STEP_ASKED: Mapping[str, str] = {
    "acceptance": "该事项登记后尚未作出是否受理的决定。请于下列时限前依规作出受理决定。",
    "follow_up": "该事项已达成协议，尚未回访。请于下列时限前回访当事人，核实协议履行情况。",
}
OUTCOMES: Mapping[str, str] = {
    "resolved": "经调解，该事项已化解。",
    "agreement": "经调解，双方达成调解协议，协议已履行，经回访确认案结事了。",
    "judicial_confirmation": "双方达成的调解协议已经人民法院司法确认。",
    "litigation": "该事项已引导通过诉讼途径解决。",
    "withdrawn": "当事人已撤回该事项。",
    "declined": "该事项不属于本中心受理范围，不予受理。",
}
PARTIES = "当事人"


@dataclass(frozen=True)
class Draft:
    """One paper before it has a number: who, to whom, what, by when, on which day."""

    dispute_id: UUID
    version: int  # the event's position in the dispute's history
    kind: str
    at: datetime  # the event's business time (UTC): the paper's date
    issuer: str  # unit id: whose centre issues (and numbers) it
    addressee: str  # who must act, as written on the paper
    addressee_code: str  # the unit or department id ("" for the parties)
    asked: str
    time_limit: datetime | None
    lines: tuple[tuple[str, str], ...] = ()  # label -> value, the paper's table
    copy_to: tuple[str, ...] = ()  # 抄送 / 协办
    personal: Mapping[str, Any] = field(default_factory=dict)  # opened only with the key


def name_of(rules: RuleBook, code: str) -> str:
    """A unit's or department's name as the centre writes it (its id if it has none)."""
    if code in rules.units:
        return rules.units[code].name
    return rules.departments.get(code, code)


def _supervisor(rules: RuleBook, unit: str) -> str:
    if unit not in rules.units:
        return unit
    return rules.units[unit].parent or unit


def _summoned_with(events: Sequence[Dispute.Event], routed: Any) -> bool:
    """True if the routing summoned its department at once (one slip, the summons)."""
    return any(
        isinstance(e, Dispute.Summoned)
        and e.occurred_at == routed.occurred_at
        and routed.department in (e.lead, *e.participants)
        for e in events
    )


def drafts(events: Sequence[Dispute.Event], rules: RuleBook) -> list[Draft]:
    """Every paper the history calls for, in the order of its events."""
    out: list[Draft] = []
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
        draft = _draft(event, aggregate.state, events, rules)
        if draft is not None:
            out.append(draft)
    return out


def _common(event: Dispute.Event, state: DisputeState) -> dict[str, Any]:
    return {"dispute_id": state.id, "version": event.originator_version, "at": event.occurred_at}


def _case_lines(state: DisputeState, rules: RuleBook) -> tuple[tuple[str, str], ...]:
    return (
        ("事项编号", str(state.id)),
        ("纠纷类型", rules.label("categories", state.category)),
        ("来源渠道", rules.label("sources", state.source)),
        ("登记单位", name_of(rules, state.received_unit)),
        ("当前承办", f"{name_of(rules, state.unit)}（{rules.label('tiers', state.tier)}）"),
    )


def _draft(
    e: Dispute.Event, s: DisputeState, events: Sequence[Dispute.Event], rules: RuleBook
) -> Draft | None:
    base = _common(e, s)
    lines = _case_lines(s, rules)
    if isinstance(e, Dispute.Received):
        people = [p.get("name", "") for p in e.people if p.get("name")]
        return Draft(
            **base,
            kind="registration",
            issuer=e.unit,
            addressee=name_of(rules, e.unit),
            addressee_code=e.unit,
            asked="请依规作出受理决定，并在办理时限内就地化解。",
            time_limit=e.acceptance_due_at or e.due_at,
            lines=(*lines, ("涉及人数", str(e.parties)), ("涉及金额（元）", f"{e.amount:,.2f}")),
            personal={"names": people, "summary": e.summary, "claim": e.claim},
        )
    if isinstance(e, Accepted):
        return Draft(
            **base,
            kind="acceptance_notice",
            issuer=e.unit,
            addressee=PARTIES,
            addressee_code="",
            asked="您反映的事项已依法受理，本中心将在下列时限内办理并告知结果。",
            time_limit=s.due_at,
            lines=lines,
            personal={"names": _names(s)},
        )
    if isinstance(e, Declined):
        return Draft(
            **base,
            kind="acceptance_notice",
            issuer=e.unit,
            addressee=PARTIES,
            addressee_code="",
            asked="经审查，您反映的事项不予受理。如有异议，可依法通过其他途径反映。",
            time_limit=None,
            lines=lines,
            personal={"names": _names(s), "reason": e.reason},
        )
    if isinstance(e, Dispute.Escalated):
        how = "提级管理" if e.mode == "elevated" else "逐级上报"
        return Draft(
            **base,
            kind="assignment",
            issuer=e.from_unit,
            addressee=name_of(rules, e.to_unit),
            addressee_code=e.to_unit,
            asked=f"该事项经{how}转送贵单位，请接收并在下列时限内办理。",
            time_limit=e.due_at,
            lines=lines,
        )
    if isinstance(e, Remanded):
        return Draft(
            **base,
            kind="assignment",
            issuer=e.from_unit,
            addressee=name_of(rules, e.to_unit),
            addressee_code=e.to_unit,
            asked="该事项交由贵单位办理，请按交办意见在下列时限内办结并反馈。",
            time_limit=e.due_at,
            lines=lines,
            personal={"instructions": e.instructions},
        )
    if isinstance(e, Dispute.Routed) and e.department and not _summoned_with(events, e):
        return Draft(
            **base,
            kind="assignment",
            issuer=s.unit,
            addressee=name_of(rules, e.department),
            addressee_code=e.department,
            asked="该事项按职责分类流转贵单位，请依法办理并在下列时限内反馈。",
            time_limit=s.due_at,
            lines=lines,
        )
    if isinstance(e, Dispute.Summoned):
        others = tuple(name_of(rules, d) for d in e.participants if d != e.lead)
        return Draft(
            **base,
            kind="assignment",
            issuer=s.unit,
            addressee=name_of(rules, e.lead),
            addressee_code=e.lead,
            asked="中心就该事项吹哨，请贵单位牵头办理，于下列时限前到中心报到。",
            time_limit=e.check_in_due,
            lines=lines,
            copy_to=others,
        )
    if isinstance(e, Dispute.Supervised):
        asked = (
            STEP_ASKED.get(e.about, NOTICE_ASKED[e.notice]) if e.about else NOTICE_ASKED[e.notice]
        )
        return Draft(
            **base,
            kind=e.notice,
            issuer=_supervisor(rules, e.unit),
            addressee=name_of(rules, e.unit),
            addressee_code=e.unit,
            asked=asked,
            time_limit=s.step_due_at if e.about else s.due_at,
            lines=lines,
        )
    if isinstance(e, Dispute.Notified):
        is_unit = e.addressee in rules.units
        return Draft(
            **base,
            kind="reminder",
            issuer=_supervisor(rules, e.addressee) if is_unit else s.unit,
            addressee=name_of(rules, e.addressee),
            addressee_code=e.addressee,
            asked=f"（第{e.count}次催办）" + DUTY_ASKED.get(e.duty, "请于下列时限前办理。"),
            time_limit=e.next_due,
            lines=lines,
        )
    if isinstance(e, Dispute.Closed):
        return Draft(
            **base,
            kind="result_notice",
            issuer=e.unit,
            addressee=PARTIES,
            addressee_code="",
            asked=OUTCOMES.get(e.outcome, e.outcome),
            time_limit=None,
            lines=lines,
            personal={"names": _names(s)},
        )
    return None


def _names(state: DisputeState) -> list[str]:
    return [p.get("name", "") for p in state.people if p.get("name")]
