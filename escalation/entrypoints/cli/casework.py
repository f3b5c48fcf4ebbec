"""Commands of the centre's casework: 吹哨报到, 领导包保, 研判, reviews' decisions.

summon, check-in, report-progress, assign-leader, assess, review-decide, departments.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from escalation.application.engine import DEFAULT_URL
from escalation.application.periods import Period
from escalation.entrypoints.cli.disputes import record
from escalation.entrypoints.cli.options import (
    AtOption,
    DbOption,
    RulesOption,
    app,
    console,
    open_engine,
)
from escalation.policies.rulebook import RuleBook
from projections.department_figures import DepartmentFigures


@app.command()
def summon(
    dispute: str,
    lead: Annotated[str, typer.Option(help="The lead department (牵头部门).")],
    actor: Annotated[str, typer.Option()],
    participant: Annotated[
        list[str] | None, typer.Option(help="Another department summoned (repeat it).")
    ] = None,
    reason: str = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """中心吹哨: summon departments to a dispute; each must check in in time."""
    record(
        db,
        rules,
        lambda engine: engine.summon(
            dispute,
            lead=lead,
            participants=participant or [],
            actor=actor,
            reason=reason,
            request_id=request_id,
            at=at,
        ),
        dispute,
    )


@app.command("check-in")
def check_in(
    dispute: str,
    department: Annotated[str, typer.Option()],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """部门报到: a summoned department checks in."""
    record(
        db,
        rules,
        lambda engine: engine.check_in(
            dispute, department=department, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("report-progress")
def report_progress(
    dispute: str,
    department: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option()],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """反馈: a department that checked in reports its progress."""
    record(
        db,
        rules,
        lambda engine: engine.report_progress(
            dispute, department=department, note=note, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("assign-leader")
def assign_leader(
    dispute: str,
    leader: Annotated[str, typer.Option(help="The leader's id (or name) in the rule book.")],
    plan: Annotated[str, typer.Option(help="The plan for the case (一案一策).")],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """领导包保: a leader answers for the case, with the plan."""
    record(
        db,
        rules,
        lambda engine: engine.assign_leader(
            dispute, leader=leader, plan=plan, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command()
def assess(
    dispute: str,
    level: Annotated[str, typer.Option(help="low, medium or high.")],
    reason: Annotated[str, typer.Option()],
    actor: Annotated[str, typer.Option()],
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """研判: record a person's risk judgement; it stands over the rules' until changed."""
    record(
        db,
        rules,
        lambda engine: engine.assess(
            dispute, level=level, reason=reason, actor=actor, request_id=request_id, at=at
        ),
        dispute,
    )


@app.command("review-decide")
def review_decide(
    dispute: Annotated[list[str], typer.Argument(help="The disputes it concerns.")],
    review: Annotated[str, typer.Option(help='The meeting, e.g. "weekly 2026-W36".')],
    decision: Annotated[
        str, typer.Option(help="assignment, supervision, class_governance or other.")
    ],
    note: Annotated[str, typer.Option(help="What the meeting decided.")],
    actor: Annotated[str, typer.Option()],
    cluster: Annotated[
        str, typer.Option(help="The weak-signal cluster (类案治理), e.g. location:…/wage_arrears.")
    ] = "",
    request_id: str | None = None,
    at: AtOption = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Record what a review meeting (日研判/周会商/…) decided on the disputes concerned."""
    with open_engine(db, rules) as engine:
        states = engine.record_review(
            dispute,
            review=review,
            decision=decision,
            note=note,
            actor=actor,
            cluster=cluster,
            request_id=request_id,
            at=at,
        )
        label = engine.rules.label
    for s in states:
        console.print(
            f"{s.id}  {s.status}  at {label('tiers', s.tier)} {s.unit}: {decision} recorded",
            markup=False,
        )


@app.command()
def departments(
    period: Annotated[str, typer.Option(help="2026-09-03, 2026-W36, 2026-09, 2026-Q3, …")],
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    db: DbOption = DEFAULT_URL,
    rules: RulesOption = None,
) -> None:
    """Per department, for summons made in the period: check-in and on-time feedback rates."""
    with open_engine(db, rules) as engine:
        chosen = Period.parse(period)
        rows = engine.department_figures(chosen, department=department)
        console.print(departments_table(rows, engine.rules, f"departments {chosen}"))


def departments_table(rows: list[DepartmentFigures], rules: RuleBook, title: str) -> Table:
    """The department figures (吹哨报到) as a table: one row per department."""
    table = Table(title=Text(title), title_justify="left")
    for col in ("department", "summoned", "led", "owed", "checked in", "报到率", "按时反馈率"):
        table.add_column(col, justify="left" if col == "department" else "right")
    for f in rows:
        table.add_row(
            Text(rules.label("departments", f.department)),
            f"{f.summoned:,}",
            f"{f.led:,}",
            f"{f.check_ins_owed:,}",
            f"{f.checked_in:,}",
            _percent(f.check_in_rate),
            _percent(f.on_time_feedback_rate),
        )
    return table


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"
