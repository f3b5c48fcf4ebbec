"""Access by unit and role: the engine as one principal may use it (least access).

``engine.scoped(principal)`` returns a ``ScopedEngine``. It allows the reads
and commands of the principal's role only, on the disputes inside its scope,
and records the principal as the actor of every command; anything else is
``Forbidden``, raised before anything is written.

* **Scope.** A principal is bound to units (each with its subtree: a street
  sees its communities) or to a department. A dispute is inside a unit scope
  when it stands at, or was received at, a unit of the subtree; inside a
  department scope when it is routed to that department. Principals of the
  roles ``auditor``, ``rule_owner`` and ``platform`` may have no units: then
  their scope is every unit.
* **Personal data.** Shown to the roles that handle the case (``clerk``,
  ``leader``, ``department``, ``platform``); an ``auditor`` sees it only with
  the explicit grant ``personal_data=True``; a ``rule_owner`` never. Hidden
  fields read ``[restricted]``.

The check and the command are two steps: a dispute that moves out of scope
between them is acted on once more by the principal who held it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState
from escalation.errors import Forbidden, InvalidInput
from escalation.policies.inputs import require_known

if TYPE_CHECKING:
    from escalation.application.engine import EscalationEngine, QueueItem
    from escalation.application.periods import Period
    from projections.changes import Change
    from projections.figures import Figures

RESTRICTED = "[restricted]"

_READS: Final = frozenset({"get", "history", "state_at", "timeline", "queue", "follow_ups"})
#: The centre's desk: registration, mediation, the lifecycle and the whistle (吹哨).
_CASEWORK: Final = frozenset(
    {
        "receive",
        "mediate",
        "escalate",
        "close",
        "reopen",
        "accept",
        "decline",
        "follow_up",
        "pause",
        "resume",
        "summon",
    }
)
#: A leader's besides: supervision, 领导包保, 研判, 交办, erasure.
_LEADING: Final = frozenset({"supervise", "assign_leader", "assess", "remand", "erase"})
_DEPARTMENT: Final = frozenset({"check_in", "report_progress"})
#: What each role may do.
ROLES: Final[dict[str, frozenset[str]]] = {
    "clerk": _READS | _CASEWORK | {"figures", "backlog"},
    "leader": _READS | _CASEWORK | _LEADING | {"figures", "backlog"},
    "department": _READS | _DEPARTMENT,
    "auditor": _READS | {"figures", "backlog", "changes"},
    "rule_owner": frozenset({"queue", "figures", "backlog"}),
    "platform": _READS
    | _CASEWORK
    | _LEADING
    | _DEPARTMENT
    | {"figures", "backlog", "changes", "tick"},
}
#: Roles whose principals may leave ``units`` empty: every unit is then in scope.
UNBOUNDED: Final = frozenset({"auditor", "rule_owner", "platform"})
#: Roles that see personal data (an auditor only with the grant).
SEES_PERSONAL: Final = frozenset({"clerk", "leader", "department", "platform"})


@dataclass(frozen=True)
class Principal:
    """Who acts: a name (recorded as the actor), a role and a scope."""

    name: str
    role: str
    units: tuple[str, ...] = ()
    department: str | None = None
    personal_data: bool = False  # an auditor's explicit grant

    @property
    def sees_personal(self) -> bool:
        return self.role in SEES_PERSONAL or (self.role == "auditor" and self.personal_data)


@dataclass(frozen=True)
class Scope:
    """The units (subtrees expanded) or the department a principal may see."""

    units: frozenset[str] | None  # None: every unit
    department: str | None = None

    def covers(self, state: DisputeState) -> bool:
        if self.department is not None:  # routed to it, or summoned (吹哨报到)
            return state.department == self.department or self.department in state.summoned
        return self.units is None or state.unit in self.units or state.received_unit in self.units

    def covers_unit(self, unit: str) -> bool:
        return self.department is None and (self.units is None or unit in self.units)


@dataclass
class ScopedEngine:
    """The engine's commands and reads for one principal, inside its scope."""

    engine: EscalationEngine
    principal: Principal
    scope: Scope = field(init=False)

    def __post_init__(self) -> None:
        self.scope = _scope_of(self.engine, self.principal)

    # ------------------------------------------------------------- commands

    def receive(self, *, unit: str, **values: Any) -> UUID:
        self._allow("receive")
        if not self.scope.covers_unit(unit):
            raise self._forbidden(f"register a dispute at {unit}")
        return self.engine.receive(unit=unit, **self._as_actor("actor", values))

    def mediate(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("mediate", dispute_id, "mediator", values)

    def escalate(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("escalate", dispute_id, "actor", values)

    def supervise(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("supervise", dispute_id, "actor", values)

    def close(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("close", dispute_id, "actor", values)

    def reopen(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("reopen", dispute_id, "actor", values)

    def erase(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("erase", dispute_id, "actor", values)

    def accept(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("accept", dispute_id, "actor", values)

    def decline(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("decline", dispute_id, "actor", values)

    def follow_up(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("follow_up", dispute_id, "actor", values)

    def pause(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("pause", dispute_id, "actor", values)

    def resume(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("resume", dispute_id, "actor", values)

    def remand(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("remand", dispute_id, "actor", values)

    def summon(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("summon", dispute_id, "actor", values)

    def assign_leader(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("assign_leader", dispute_id, "actor", values)

    def assess(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("assess", dispute_id, "actor", values)

    def check_in(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("check_in", dispute_id, "actor", self._own_department(values))

    def report_progress(self, dispute_id: UUID | str, **values: Any) -> DisputeState:
        return self._act("report_progress", dispute_id, "actor", self._own_department(values))

    def tick(self, now: datetime | None = None) -> Any:
        self._allow("tick")
        return self.engine.tick(now)

    # ---------------------------------------------------------------- reads

    def get(self, dispute_id: UUID | str) -> DisputeState:
        self._allow("get")
        return self._shown(self._in_scope(dispute_id))

    def state_at(self, dispute_id: UUID | str, when: datetime) -> DisputeState:
        self._allow("state_at")
        self._in_scope(dispute_id)
        return self._shown(self.engine.state_at(dispute_id, when))

    def history(self, dispute_id: UUID | str) -> list[Dispute.Event]:
        self._allow("history")
        self._in_scope(dispute_id)
        events = self.engine.history(dispute_id)
        return events if self.principal.sees_personal else [withheld(e) for e in events]

    def timeline(self, dispute_id: UUID | str) -> list[Any]:
        self._allow("timeline")
        self._in_scope(dispute_id)
        return self.engine.timeline(dispute_id, personal_data=self.principal.sees_personal)

    def queue(
        self, unit: str | None = None, tier: str | None = None, *, as_of: datetime | None = None
    ) -> list[QueueItem]:
        self._allow("queue")
        if unit is not None and not self.scope.covers_unit(unit):
            raise self._forbidden(f"read the queue of {unit}")
        items = self.engine.queue(unit=unit, tier=tier, as_of=as_of)
        if self.scope.department is not None:
            return [i for i in items if i.department == self.scope.department]
        units = self.scope.units
        return items if units is None else [i for i in items if i.unit in units]

    def figures(self, period: Period | str, *, unit: str | None = None, **values: Any) -> Figures:
        self._allow("figures")
        if self.scope.units is not None and (unit is None or not self.scope.covers_unit(unit)):
            raise self._forbidden("read figures beyond its units (give unit= inside them)")
        return self.engine.figures(period, unit=unit, **values)

    def backlog(self, period: Period | str) -> Any:
        self._allow("backlog")
        if self.scope.units is not None:
            raise self._forbidden("read the whole district's backlog")
        return self.engine.backlog(period)

    def follow_ups(self, unit: str | None = None, tier: str | None = None) -> list[QueueItem]:
        self._allow("follow_ups")
        if unit is not None and not self.scope.covers_unit(unit):
            raise self._forbidden(f"read the follow-ups of {unit}")
        items = self.engine.follow_ups(unit=unit, tier=tier)
        units = self.scope.units
        if self.scope.department is not None:
            return [i for i in items if i.department == self.scope.department]
        return items if units is None else [i for i in items if i.unit in units]

    def changes(self, after: int = 0, limit: int = 100) -> list[Change]:
        self._allow("changes")
        found = self.engine.changes(after=after, limit=limit)
        units = self.scope.units
        return found if units is None else [c for c in found if c.unit in units]

    # --------------------------------------------- for other scoped readers

    def require(self, operation: str) -> None:
        """Raise ``Forbidden`` unless the principal's role may do ``operation``."""
        self._allow(operation)

    def forbidden(self, what: str) -> Forbidden:
        """The ``Forbidden`` error naming this principal and ``what`` it may not do."""
        return self._forbidden(what)

    # ------------------------------------------------------------ internals

    def _allow(self, operation: str) -> None:
        if operation not in ROLES[self.principal.role]:
            raise self._forbidden(operation.replace("_", " "))

    def _forbidden(self, what: str) -> Forbidden:
        p = self.principal
        where = f"department {p.department}" if p.department else ", ".join(p.units) or "every unit"
        return Forbidden(f"{p.name} ({p.role} of {where}) may not {what}")

    def _in_scope(self, dispute_id: UUID | str) -> DisputeState:
        state = self.engine.get(dispute_id)
        if not self.scope.covers(state):
            raise self._forbidden(f"see dispute {state.id}")
        return state

    def _act(
        self, operation: str, dispute_id: UUID | str, actor_key: str, values: dict[str, Any]
    ) -> DisputeState:
        self._allow(operation)
        self._in_scope(dispute_id)
        state: DisputeState = getattr(self.engine, operation)(
            dispute_id, **self._as_actor(actor_key, values)
        )
        return self._shown(state)

    def _own_department(self, values: dict[str, Any]) -> dict[str, Any]:
        """A department principal checks in and reports for its own department only."""
        own = self.principal.department
        if own is None:
            return values
        given = values.get("department", own)
        if given != own:
            raise self._forbidden(f"act for department {given}")
        return {**values, "department": own}

    def _as_actor(self, key: str, values: dict[str, Any]) -> dict[str, Any]:
        given = {"actor", "mediator"}.intersection(values)
        if given:
            raise InvalidInput(
                f"{min(given)}: a scoped engine records its principal "
                f"({self.principal.name}) as the actor; do not give one"
            )
        return {**values, key: self.principal.name}

    def _shown(self, state: DisputeState) -> DisputeState:
        if self.principal.sees_personal:
            return state
        return replace(state, summary=RESTRICTED, claim=RESTRICTED, location=RESTRICTED, people=())


def withheld(event: Dispute.Event, mark: str = RESTRICTED) -> Dispute.Event:
    """A copy of ``event`` with its personal fields replaced by ``mark`` (lists emptied)."""
    hidden = copy.copy(event)
    for name in event.personal_fields():
        value = getattr(event, name, None)
        object.__setattr__(hidden, name, [] if isinstance(value, list) else mark)
    return hidden


def _scope_of(engine: EscalationEngine, principal: Principal) -> Scope:
    if not isinstance(principal, Principal):
        raise InvalidInput(
            f"a principal is an escalation Principal, not {type(principal).__name__}"
        )
    require_known("role", principal.role, ROLES)
    if not isinstance(principal.name, str) or not principal.name.strip():
        raise InvalidInput("a principal needs a name: it is recorded as the actor")
    rules = engine.rules
    if principal.role == "department":
        if not principal.department:
            raise InvalidInput(f"{principal.name}: a department principal names its department")
        return Scope(None, principal.department)
    if not principal.units:
        if principal.role not in UNBOUNDED:
            raise InvalidInput(
                f"{principal.name}: a {principal.role} is bound to units; give units=[...]"
            )
        return Scope(None)
    for unit in principal.units:
        require_known("unit", unit, rules.units)
    return Scope(frozenset(_subtree(engine, principal.units)))


def _subtree(engine: EscalationEngine, roots: Iterable[str]) -> Iterable[str]:
    stack = list(roots)
    while stack:
        unit = stack.pop()
        yield unit
        stack.extend(engine.rules.children(unit))
