"""The rule book's casework sections: departments, summon, leaders."""

from __future__ import annotations

import pytest
import yaml

from escalation.application.whatif.rule_diff import diff_rules
from escalation.errors import InvalidInput, RulesError
from escalation.policies.durations import Duration
from escalation.policies.rulebook import RuleBook
from tests.helpers import CASEWORK_RULES, SMALL_RULES


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    return [f"{key}: {message}" for _, _, key, message in caught.value.problems]


def test_a_rule_book_without_the_sections_keeps_its_version_and_gets_defaults() -> None:
    small = RuleBook.from_yaml(SMALL_RULES)
    assert small.version == "4f441ea48c4486f6"  # as before the sections existed
    assert "departments" not in small.to_dict() and "leaders" not in small.to_dict()
    assert dict(small.departments) == {
        "petition_office": "petition_office",
        "human_resources_bureau": "human_resources_bureau",
        "governance_centre": "governance_centre",
    }
    assert small.summon.check_in_within == Duration(1, "workdays")
    assert small.summon.feedback_every == Duration(5, "workdays")
    assert small.summon.on_routing == frozenset()
    assert small.leaders.required_when is None
    with_defaults = SMALL_RULES + "summon: {check_in_within: 1 workday}\n"
    assert RuleBook.from_yaml(with_defaults).version != small.version  # set, so hashed


def test_the_sections_are_read_and_round_trip(casework_rules: RuleBook) -> None:
    assert casework_rules.departments["petition_office"] == "信访局"
    assert casework_rules.summon.on_routing == frozenset({"petition_office"})
    assert casework_rules.summon.feedback_every == Duration(2, "days")
    assert casework_rules.leaders.people == {"wang": "王书记", "li": "李主任"}
    condition = casework_rules.leaders.required_when
    assert condition is not None and condition.matches({"risk": "high"})
    again = RuleBook.from_yaml(yaml.safe_dump(casework_rules.to_dict(), allow_unicode=True))
    assert again.version == casework_rules.version


def test_unknown_departments_get_close_matches(casework_rules: RuleBook) -> None:
    with pytest.raises(InvalidInput, match=r"unknown department 'cort'; did you mean 'court'"):
        casework_rules.department("cort")
    with pytest.raises(InvalidInput, match="did you mean 'petition_office'"):
        casework_rules.department("信访局")  # the name: its id is suggested


def test_departments_named_anywhere_must_be_listed() -> None:
    text = CASEWORK_RULES.replace(
        "department: governance_centre", "department: governance_center"
    ).replace("on_routing: [petition_office]", "on_routing: [petition_ofice]")
    found = problems_of(text)
    assert any(
        p.startswith("routing[2].department: unknown department 'governance_center'") for p in found
    ), found
    assert any(p.startswith("summon.on_routing[0]: unknown department") for p in found), found


def test_departments_and_leaders_listed_twice_and_bad_conditions_are_refused() -> None:
    text = CASEWORK_RULES.replace(
        "  - {id: court, name: 法院}", "  - {id: court, name: 法院}\n  - {id: court, name: 又一个}"
    ).replace("    - {id: li, name: 李主任}", "    - {id: wang, name: 李主任}")
    found = problems_of(text)
    assert "departments[4].id: department 'court' is listed twice" in found
    assert "leaders.people[1].id: leader 'wang' is listed twice" in found
    bad = CASEWORK_RULES.replace(
        "required_when: 'risk == \"high\"'", "required_when: 'risk == \"red\"'"
    )
    assert any(p.startswith("leaders.required_when:") for p in problems_of(bad))
    unknown = CASEWORK_RULES.replace(
        "required_when: 'risk == \"high\"'", "required_when: 'ris > 1'"
    )
    assert any("ris" in p for p in problems_of(unknown))


@pytest.mark.parametrize("count", [0, 21])
def test_notice_counts_are_bounded(count: int) -> None:
    text = CASEWORK_RULES.replace(
        "  feedback_every: 2 days", f"  feedback_every: 2 days\n  notices: {count}"
    )
    assert any(p.startswith("summon.notices:") for p in problems_of(text))


def test_rule_diff_names_casework_changes(casework_rules: RuleBook) -> None:
    other = RuleBook.from_yaml(
        CASEWORK_RULES.replace("  feedback_every: 2 days", "  feedback_every: 3 days")
        .replace("    - {id: li, name: 李主任}\n", "")
        .replace("{id: court, name: 法院}", "{id: court, name: 区人民法院}")
    )
    found = {
        (c.section, c.key, c.kind, c.before, c.after) for c in diff_rules(casework_rules, other)
    }
    assert found == {
        ("departments", "court", "changed", "法院", "区人民法院"),
        ("leaders", "li", "removed", "李主任", ""),
        ("summon", "feedback_every", "changed", "2 days", "3 days"),
    }
    assert diff_rules(casework_rules, casework_rules) == []
