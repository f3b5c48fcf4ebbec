"""Access by unit and role: each principal sees and does what its role allows, in its scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation import EscalationEngine, Principal, RuleBook
from escalation.application.access import RESTRICTED, ROLES
from escalation.errors import Forbidden, InvalidInput
from tests.helpers import CASEWORK_RULES, T0, hours

UNITS = ("d1", "s1", "s2", "c11", "c12", "c21")


def receive(engine: Any, unit: str, n: int = 0) -> UUID:
    return engine.receive(  # type: ignore[no-any-return]
        unit=unit,
        category="neighbour",
        source="walk_in",
        summary=f"噪音 {unit} {n}",
        location="文锦路1号",
        received_at=T0 + hours(n),
    )


@pytest.fixture(scope="module")
def store(
    small_rules: RuleBook, module_new_db_url: Callable[[], str]
) -> Iterator[tuple[EscalationEngine, dict[str, UUID]]]:
    with EscalationEngine(small_rules, url=module_new_db_url(), clock=lambda: T0) as engine:
        ids = {unit: receive(engine, unit, n) for n, unit in enumerate(("c11", "c12", "c21"))}
        ids["up"] = receive(engine, "c21", 4)  # received at c21, now at the street s2
        engine.escalate(ids["up"], reason="asked", actor="clerk", at=T0 + hours(5))
        yield engine, ids


def ancestors(engine: EscalationEngine, unit: str) -> set[str]:
    """The unit and every unit above it: an oracle walking up, not down like the code."""
    found = {unit}
    while (parent := engine.rules.parent(unit)) is not None:
        found.add(parent)
        unit = parent
    return found


def test_a_street_clerk_sees_its_communities_and_not_the_next_street(
    store: tuple[EscalationEngine, dict[str, UUID]],
) -> None:
    engine, ids = store
    clerk = engine.scoped(Principal("张三", "clerk", units=("s1",)))
    assert clerk.get(ids["c11"]).unit == "c11"
    assert clerk.get(ids["c12"]).summary.startswith("噪音")  # personal data: its own cases
    with pytest.raises(Forbidden, match=r"张三 \(clerk of s1\) may not see dispute"):
        clerk.get(ids["c21"])
    with pytest.raises(Forbidden):
        clerk.history(ids["up"])
    assert {i.unit for i in clerk.queue()} == {"c11", "c12"}
    with pytest.raises(Forbidden, match="queue of c21"):
        clerk.queue(unit="c21")
    with pytest.raises(Forbidden, match="register a dispute at c21"):
        receive(clerk, "c21")


def test_commands_record_the_principal_and_refuse_outside_the_scope(
    small_rules: RuleBook, db_url: str
) -> None:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        mine, theirs = receive(engine, "c11"), receive(engine, "c21")
        clerk = engine.scoped(Principal("李调解员", "clerk", units=("c11",)))
        clerk.mediate(mine, outcome="failed", at=T0 + hours(1))
        mediated = [e for e in engine.history(mine) if type(e).__name__ == "Mediated"]
        assert [e.actor for e in mediated] == ["李调解员"]
        before = len(engine.history(theirs))
        with pytest.raises(Forbidden):
            clerk.mediate(theirs, outcome="failed", at=T0 + hours(1))
        with pytest.raises(Forbidden, match="may not supervise"):
            clerk.supervise(mine, notice="warning", at=T0 + hours(2))
        with pytest.raises(InvalidInput, match="records its principal"):
            clerk.close(mine, outcome="withdrawn", actor="someone else", at=T0 + hours(2))
        assert len(engine.history(theirs)) == before  # nothing written
        did = receive(clerk, "c11", 3)
        assert engine.history(did)[0].actor == "李调解员"


def test_an_auditor_sees_procedure_and_personal_data_only_with_a_grant(
    store: tuple[EscalationEngine, dict[str, UUID]],
) -> None:
    engine, ids = store
    auditor = engine.scoped(Principal("审计", "auditor"))
    state = auditor.get(ids["up"])
    assert (state.unit, state.summary, state.location) == ("s2", RESTRICTED, RESTRICTED)
    received = auditor.history(ids["up"])[0]
    assert received.summary == RESTRICTED  # type: ignore[attr-defined]
    assert engine.history(ids["up"])[0].summary != RESTRICTED  # type: ignore[attr-defined]
    assert auditor.timeline(ids["up"])[0].event == "Received"
    assert auditor.changes(limit=1000)
    with pytest.raises(Forbidden, match="may not mediate"):
        auditor.mediate(ids["c11"], outcome="failed", at=T0 + hours(9))
    granted = engine.scoped(Principal("审计", "auditor", personal_data=True))
    assert granted.get(ids["up"]).summary.startswith("噪音")


def test_a_rule_owner_reads_figures_and_no_dispute(
    store: tuple[EscalationEngine, dict[str, UUID]],
) -> None:
    engine, ids = store
    owner = engine.scoped(Principal("规则", "rule_owner"))
    assert owner.figures("2026-03").received == len(ids)
    with pytest.raises(Forbidden, match="may not get"):
        owner.get(ids["c11"])


def test_a_department_sees_what_was_routed_to_it(
    store: tuple[EscalationEngine, dict[str, UUID]],
) -> None:
    engine, ids = store
    routed = {did: engine.get(did).department for did in ids.values()}
    for department in {d for d in routed.values() if d}:
        view = engine.scoped(Principal("科员", "department", department=department))
        for did, theirs in routed.items():
            if theirs == department:
                assert view.get(did).department == department
            else:
                with pytest.raises(Forbidden):
                    view.get(did)
    nobody = engine.scoped(Principal("科员", "department", department="nowhere_bureau"))
    assert nobody.queue() == []


@pytest.mark.parametrize(
    "principal",
    [
        Principal("x", "clerk"),
        Principal("x", "leader", units=()),
        Principal("x", "department"),
        Principal("", "clerk", units=("c11",)),
        Principal("x", "janitor", units=("c11",)),
        Principal("x", "clerk", units=("c99",)),
    ],
)
def test_a_principal_without_a_scope_or_role_is_refused(
    store: tuple[EscalationEngine, dict[str, UUID]], principal: Principal
) -> None:
    engine, _ = store
    with pytest.raises(InvalidInput):
        engine.scoped(principal)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    role=st.sampled_from(["clerk", "leader", "auditor", "platform"]),
    units=st.lists(st.sampled_from(UNITS), max_size=3, unique=True),
)
def test_no_scoped_read_returns_a_dispute_outside_the_scope(
    store: tuple[EscalationEngine, dict[str, UUID]], role: str, units: list[str]
) -> None:
    engine, ids = store
    if not units and role in ("clerk", "leader"):
        return  # refused: the test above
    view = engine.scoped(Principal("p", role, units=tuple(units)))
    for did in ids.values():
        state = engine.get(did)
        inside = not units or bool(
            (ancestors(engine, state.unit) | ancestors(engine, state.received_unit)) & set(units)
        )
        if inside:
            assert view.get(did).id == did
        else:
            with pytest.raises(Forbidden):
                view.get(did)
    for item in view.queue():
        assert not units or ancestors(engine, item.unit) & set(units)
    assert "get" in ROLES[role]


def test_a_department_works_on_what_it_was_summoned_to(db_url: str) -> None:
    rules = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
    with EscalationEngine(rules, url=db_url, clock=lambda: T0) as engine:
        summoned, other = receive(engine, "c11"), receive(engine, "c12", 1)
        desk = engine.scoped(Principal("中心前台", "clerk", units=("d1",)))
        desk.summon(summoned, lead="court", at=T0 + hours(2))
        court = engine.scoped(Principal("法院李", "department", department="court"))
        assert court.get(summoned).summoned == ("court",)
        court.check_in(summoned, at=T0 + hours(3))
        checked = [e for e in engine.history(summoned) if type(e).__name__ == "CheckedIn"]
        assert [(e.actor, e.department) for e in checked] == [("法院李", "court")]  # type: ignore[attr-defined]
        with pytest.raises(Forbidden, match="act for department human_resources_bureau"):
            court.check_in(summoned, department="human_resources_bureau", at=T0 + hours(3))
        with pytest.raises(Forbidden, match="may not close"):
            court.close(summoned, outcome="withdrawn", at=T0 + hours(4))
        with pytest.raises(Forbidden, match="may not see dispute"):
            court.get(other)
