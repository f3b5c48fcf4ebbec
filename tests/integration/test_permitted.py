"""``permitted(state)`` against the engine: what it leaves out is refused, what it lists is not.

For every state in the table a fresh dispute is brought there through the
engine, then every command is tried on a copy of it with arguments that are
valid in themselves. A command ``permitted`` leaves out must raise
``IllegalTransition`` and write nothing; one it lists must go through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from escalation import bootstrap
from escalation.aggregates.permitted import COMMANDS, permitted
from escalation.application.engine import EscalationEngine
from escalation.errors import IllegalTransition
from escalation.policies.rulebook import RuleBook
from tests.helpers import CASEWORK_RULES, T0, hours

RULES = CASEWORK_RULES + "acceptance: {mode: explicit, within: 1 day}\n"
Step = Callable[[EscalationEngine, UUID], Any]


def _accept(e: EscalationEngine, d: UUID) -> Any:
    return e.accept(d, actor="受理员")


#: How each state is reached from a receipt at the street s1 (or the district d1 for "top").
STATES: dict[str, tuple[str, tuple[Step, ...]]] = {
    "pending": ("s1", ()),
    "paused while pending": ("s1", (lambda e, d: e.pause(d, reason="等材料", actor="a"),)),
    "declined": ("s1", (lambda e, d: e.decline(d, reason="不属受理范围", actor="a"),)),
    "open": ("s1", (_accept,)),
    "at the top tier": ("d1", (_accept,)),
    "paused": ("s1", (_accept, lambda e, d: e.pause(d, reason="鉴定中", actor="a"))),
    "summoned": ("s1", (_accept, lambda e, d: e.summon(d, lead="court", actor="a"))),
    "checked in": (
        "s1",
        (
            _accept,
            lambda e, d: e.summon(d, lead="court", actor="a"),
            lambda e, d: e.check_in(d, department="court", actor="法院"),
        ),
    ),
    "settled": ("s1", (_accept, lambda e, d: e.mediate(d, outcome="resolved", mediator="m"))),
    "closed": ("s1", (_accept, lambda e, d: e.close(d, outcome="withdrawn", actor="a"))),
    "closed and erased": (
        "s1",
        (
            _accept,
            lambda e, d: e.close(d, outcome="withdrawn", actor="a"),
            lambda e, d: e.erase(d, reason="保存期满", actor="a"),
        ),
    ),
}

#: Each command with arguments valid in themselves (s1 is a street with c11 below it).
ARGUMENTS: dict[str, dict[str, Any]] = {
    "accept": {"actor": "a"},
    "decline": {"reason": "r", "actor": "a"},
    "mediate": {"outcome": "failed", "mediator": "m"},
    "follow_up": {"outcome": "settled", "actor": "a"},
    "summon": {"lead": "human_resources_bureau", "actor": "a"},
    "check_in": {"department": "court", "actor": "a"},
    "report_progress": {"department": "court", "note": "n", "actor": "a"},
    "assign_leader": {"leader": "wang", "plan": "p", "actor": "a"},
    "assess": {"level": "medium", "reason": "r", "actor": "a"},
    "escalate": {"reason": "r", "actor": "a"},
    "supervise": {"notice": "reminder", "actor": "a"},
    "close": {"outcome": "agreement", "actor": "a"},
    "reopen": {"reason": "r", "actor": "a"},
    "pause": {"reason": "r", "actor": "a"},
    "resume": {"actor": "a"},
    "remand": {"to_unit": "c11", "instructions": "i", "actor": "a"},
    "erase": {"reason": "r", "actor": "a"},
}

PERSONAL_TEXT = ("reason", "note", "plan", "instructions")


@pytest.fixture
def engine(db_url: str) -> Iterator[EscalationEngine]:
    rules = RuleBook.from_yaml(RULES, source="permitted.yaml")
    engine = bootstrap.open_engine(rules, db_url, clock=lambda: T0 + hours(1))
    try:
        yield engine
    finally:
        engine.shutdown()


def reach(engine: EscalationEngine, name: str) -> UUID:
    unit, steps = STATES[name]
    dispute = engine.receive(
        unit=unit, category="neighbour", source="walk_in", summary="s", received_at=T0
    )
    for step in steps:
        step(engine, dispute)
    return dispute


def test_every_command_has_arguments_here() -> None:
    assert set(ARGUMENTS) == set(COMMANDS)


@pytest.mark.parametrize("name", list(STATES))
def test_what_permitted_leaves_out_is_refused_and_what_it_lists_goes_through(
    engine: EscalationEngine, name: str
) -> None:
    allowed = permitted(engine.get(reach(engine, name)), engine.rules.tiers)
    wrong = []
    for command in COMMANDS:
        dispute = reach(engine, name)
        version = engine.get(dispute).version
        arguments = ARGUMENTS[command]
        if command in allowed and engine.get(dispute).erased:  # it takes no personal text
            arguments = {k: "" if k in PERSONAL_TEXT else v for k, v in arguments.items()}
        try:
            getattr(engine, command)(dispute, **arguments)
        except IllegalTransition as exc:
            if command in allowed:
                wrong.append(f"{command}: listed, but refused: {exc}")
            elif engine.get(dispute).version != version:
                wrong.append(f"{command}: refused, but wrote")
        else:
            if command not in allowed:
                wrong.append(f"{command}: left out, but went through")
    assert wrong == []
