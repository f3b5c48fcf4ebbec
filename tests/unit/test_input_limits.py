"""The one table of input limits: the read models and the rule book agree with it."""

from __future__ import annotations

import pytest
from sqlalchemy import String, Text

from escalation.errors import RulesError
from escalation.policies.inputs import LIMITS
from escalation.policies.rulebook import RuleBook
from projections.departments import summons
from projections.disputes import casework, disputes, timeline
from tests.helpers import SMALL_RULES

# Each read-model text column and the input field whose values fill it.
FILLED_BY = {
    (disputes, "unit"): "unit",
    (disputes, "received_unit"): "unit",
    (disputes, "tier"): "tier",
    (disputes, "category"): "category",
    (disputes, "source"): "source",
    (disputes, "department"): "department",
    (disputes, "risk_rule"): "rule_id",
    (disputes, "outcome"): "outcome",
    (timeline, "actor"): "actor",
    (timeline, "rule_id"): "rule_id",
    (timeline, "reason"): "reason",
    (timeline, "unit"): "unit",
    (timeline, "received_unit"): "unit",
    (timeline, "tier"): "tier",
    (timeline, "category"): "category",
    (timeline, "source"): "source",
    (timeline, "department"): "department",
    (disputes, "risk"): "risk",
    (casework, "lead_department"): "department",
    (casework, "leader"): "leader",
    (casework, "risk_assessor"): "actor",
    (summons, "department"): "department",
}


@pytest.mark.parametrize(
    ("table", "column", "field"),
    [(t, c, f) for (t, c), f in FILLED_BY.items()],
    ids=[f"{t.name}.{c}" for (t, c) in FILLED_BY],
)
def test_every_read_model_column_holds_the_longest_value_its_field_accepts(
    table: object, column: str, field: str
) -> None:
    kind = table.c[column].type  # type: ignore[attr-defined]
    assert isinstance(kind, String)
    if isinstance(kind, Text) or kind.length is None:
        return  # unbounded
    assert kind.length >= LIMITS[field], f"{column} holds {kind.length}, {field} allows more"


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("{id: c21, name:", "{id: " + "c" * 65 + ", name:", "unit"),
        ("  - name: district\n", "  - name: " + "d" * 33 + "\n", "tier"),
        ("department: governance_centre", "department: " + "g" * 65, "department"),
        ("{id: rest,", "{id: " + "r" * 65 + ",", "rule_id"),
        ("sources: [walk_in,", "sources: [" + "w" * 65 + ", walk_in,", "source"),
        ("categories: [wage_arrears,", "categories: [" + "x" * 65 + ", wage_arrears,", "category"),
    ],
)
def test_rule_book_ids_longer_than_their_columns_are_refused(old: str, new: str, kind: str) -> None:
    assert old in SMALL_RULES
    with pytest.raises(RulesError, match=f"a {kind} id has at most {LIMITS[kind]}"):
        RuleBook.from_yaml(SMALL_RULES.replace(old, new, 1), source="long.yaml")


def test_rule_book_ids_at_their_limits_are_accepted() -> None:
    text = SMALL_RULES.replace("{id: c21, name:", "{id: " + "c" * 64 + ", name:", 1)
    assert "c" * 64 in RuleBook.from_yaml(text, source="long.yaml").units
