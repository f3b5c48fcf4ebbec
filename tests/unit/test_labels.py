"""Display names (``labels:``): what people read instead of codes."""

from __future__ import annotations

import pytest

from escalation.application.whatif.rule_diff import diff_rules
from escalation.errors import RulesError
from escalation.policies.rulebook import RuleBook
from escalation.policies.rulebook.labels import BUILT_IN
from tests.helpers import CASEWORK_RULES, SMALL_RULES

LABELS = """
labels:
  categories: {wage_arrears: 欠薪, family: {name: 婚姻家庭, english: Family matters}}
  tiers: {street: 街道（乡镇）}
  outcomes: {agreement: {name: 达成调解协议}}
"""


def test_labels_override_the_built_in_names() -> None:
    book = RuleBook.from_yaml(SMALL_RULES + LABELS)
    assert book.label("categories", "wage_arrears") == "欠薪"
    assert book.label("categories", "family") == "婚姻家庭"
    assert book.label("categories", "family", english=True) == "Family matters"
    assert book.label("categories", "wage_arrears", english=True) == "欠薪"  # no English given
    assert book.label("tiers", "street") == "街道（乡镇）"
    assert book.label("tiers", "district") == "区"  # built in
    assert book.label("outcomes", "agreement") == "达成调解协议"
    assert book.label("sources", "walk_in") == "群众来访"
    assert book.label("categories", "debt", english=True) == "Debts"


def test_codes_without_a_name_show_as_themselves() -> None:
    book = RuleBook.from_yaml(SMALL_RULES)
    assert book.label("categories", "no_such") == "no_such"
    assert book.label("risks", None) == "-"
    assert book.label("units", "s1") == "Street One"


def test_departments_keep_their_own_names() -> None:
    book = RuleBook.from_yaml(CASEWORK_RULES)
    assert book.label("departments", "petition_office") == "信访局"
    assert book.label("departments", "petition_office", english=True) == "Petition office"
    assert book.label("departments", "court", english=True) == "法院"


def test_every_built_in_notice_and_risk_is_named() -> None:
    assert set(BUILT_IN["notices"]) == {"reminder", "prompt", "warning", "supervision"}
    assert set(BUILT_IN["risks"]) == {"high", "medium", "low"}


def test_a_label_for_an_unknown_code_is_refused_with_its_line() -> None:
    text = SMALL_RULES + "labels:\n  categories: {wage_arrear: 欠薪}\n  outcomes: {resolvd: 化解}\n"
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    message = str(caught.value)
    assert "labels.categories.wage_arrear: unknown category 'wage_arrear'" in message
    assert "did you mean 'wage_arrears'" in message
    assert "known categories:" in message
    assert "labels.outcomes.resolvd" in message
    line = text.splitlines().index("  categories: {wage_arrear: 欠薪}") + 1
    assert f"rules.yaml:{line}:" in message


def test_labels_leave_the_version_of_a_book_without_them() -> None:
    # A rule book written before labels keeps its version; setting them makes a new one.
    assert RuleBook.from_yaml(SMALL_RULES).version == RuleBook.from_yaml(SMALL_RULES).version
    assert (
        RuleBook.from_yaml(SMALL_RULES + LABELS).version != RuleBook.from_yaml(SMALL_RULES).version
    )


def test_diff_shows_label_changes() -> None:
    before = RuleBook.from_yaml(SMALL_RULES)
    after = RuleBook.from_yaml(SMALL_RULES + LABELS)
    shown = [str(c) for c in diff_rules(before, after)]
    assert "labels categories.wage_arrears: added (欠薪)" in shown
    assert "labels categories.family: added (婚姻家庭 (Family matters))" in shown
    assert "labels categories.wage_arrears: removed (was 欠薪)" in map(
        str, diff_rules(after, before)
    )


def test_plurals_people_read() -> None:
    from escalation.policies.rulebook.messages import counted

    assert counted(1, "change") == "1 change"
    assert counted(2, "change") == "2 changes"
    assert counted(3, "category") == "3 categories"
    assert counted(1, "category") == "1 category"
    assert counted(1_200, "day") == "1,200 days"
