"""``rules diff``: changes in rule terms on known pairs of rule books."""

from __future__ import annotations

from escalation import RuleBook
from escalation.application.whatif.rule_diff import RuleChange, diff_rules
from tests.helpers import SMALL_RULES

BASE = RuleBook.from_yaml(SMALL_RULES, source="base.yaml")


def changes(text: str) -> list[tuple[str, str, str, str, str]]:
    other = RuleBook.from_yaml(text, source="other.yaml")
    return [(c.section, c.key, c.kind, c.before, c.after) for c in diff_rules(BASE, other)]


def test_comments_layout_and_key_order_are_not_changes() -> None:
    text = "# a comment\n" + SMALL_RULES.replace(
        "{id: petition, when: 'source == \"petition\"', department: petition_office}",
        "{department: petition_office, id: petition, when: 'source   ==   \"petition\"'}",
    )
    assert changes(text) == []


def test_limits_attempts_and_notice_ladders() -> None:
    text = (
        SMALL_RULES.replace("handle_within: 4 days", "handle_within: 6 days")
        .replace("max_mediation_attempts: 3", "max_mediation_attempts: 1")
        .replace("      - {at: 75%, notice: warning}\n", "      - {at: 90%, notice: warning}\n")
        .replace(
            "      - {at: 50%, notice: prompt}\n",
            "      - {at: 25%, notice: reminder}\n      - {at: 50%, notice: prompt}\n",
        )
        .replace(
            "    handle_within: 2 days\n    max_mediation_attempts: 2\n",
            "    handle_within: 2 days\n",
        )
    )
    assert changes(text) == [
        ("tiers", "community.max_mediation_attempts", "changed", "2", "unlimited"),
        ("tiers", "community.notices.warning", "moved", "at 75%", "at 90%"),
        ("tiers", "street.handle_within", "changed", "4 days", "6 days"),
        ("tiers", "street.max_mediation_attempts", "changed", "3", "1"),
        ("tiers", "street.notices.reminder", "added", "", "at 25%"),
    ]


def test_units_added_removed_moved_and_renamed() -> None:
    text = SMALL_RULES.replace(
        "  - {id: c21, name: Community 2-1, tier: community, parent: s2}\n",
        "  - {id: c21, name: Community Two-One, tier: community, parent: s1}\n"
        "  - {id: c22, name: Community 2-2, tier: community, parent: s2}\n",
    ).replace("  - {id: c12, name: Community 1-2, tier: community, parent: s1}\n", "")
    assert changes(text) == [
        ("units", "c12", "removed", "Community 1-2, community under s1", ""),
        ("units", "c21", "moved", "community under s2", "community under s1"),
        ("units", "c21.name", "changed", "Community 2-1", "Community Two-One"),
        ("units", "c22", "added", "", "Community 2-2, community under s2"),
    ]


def test_rules_added_removed_changed_and_moved_in_first_match_lists() -> None:
    text = (
        SMALL_RULES.replace("  - {id: repeat, when: 'reopened >= 2', level: high}\n", "")
        .replace("  - {id: many, when: 'parties >= 10', level: medium}\n", "")
        .replace(
            "risk:\n",
            "risk:\n  - {id: many, when: 'parties >= 8', level: medium}\n"
            "  - {id: land, when: 'category == \"other\"', level: low}\n",
        )
        .replace(
            "  - {id: high-risk, when: 'risk == \"high\"', to: district}",
            "  - {id: high-risk, when: 'risk == \"high\"', to: street}",
        )
        .replace("department: governance_centre", "department: comprehensive_centre")
    )
    assert changes(text) == [
        ("risk", "repeat", "removed", "when: reopened >= 2, level: high", ""),
        ("risk", "many.when", "changed", "parties >= 10", "parties >= 8"),
        ("risk", "land", "added", "", 'when: category == "other", level: low'),
        ("risk", "many", "moved", "position 2", "position 1"),
        ("elevate", "high-risk.to", "changed", "district", "street"),
        ("routing", "rest.department", "changed", "governance_centre", "comprehensive_centre"),
    ]


def test_calendar_categories_and_tiers() -> None:
    text = SMALL_RULES.replace("calendar: calendar-days", "calendar: cn-workdays").replace(
        "categories: [wage_arrears, family, neighbour, debt, other]",
        "categories: [wage_arrears, family, neighbour, debt, other, land]",
    )
    assert changes(text) == [
        ("calendar", "calendar", "changed", "calendar-days", "cn-workdays"),
        ("categories", "land", "added", "", "categories"),
    ]
    two_tiers = RuleBook.from_yaml(
        """
version: 1
calendar: calendar-days
categories: [other]
sources: [walk_in]
tiers:
  - {name: community, handle_within: 2 days}
  - {name: street, handle_within: 4 days}
units:
  - {id: s1, name: S, tier: street}
  - {id: c11, name: C, tier: community, parent: s1}
"""
    )
    found = diff_rules(BASE, two_tiers)
    assert RuleChange("tiers", "district", "removed", "tiers", "") in found
    assert ("units", "d1", "removed") in [(c.section, c.key, c.kind) for c in found]
    assert str(found[0])  # every change reads as a sentence


def test_limits_by_risk_office_hours_notice_conditions_and_routing_at_once() -> None:
    text = (
        SMALL_RULES.replace(
            "handle_within: 4 days", "handle_within: {default: 4 days, high: 1 day}"
        )
        .replace("department: petition_office}", "department: petition_office, at_once: true}")
        .replace(
            "department: human_resources_bureau}",
            "department: human_resources_bureau, at_once: false}",
        )
        + 'working_hours: ["09:00-12:00", "14:00-18:00"]\n'
        + "notices:\n  supervision: {when: 'risk == \"high\"'}\n"
    )
    assert changes(text) == [
        ("tiers", "street.handle_within", "changed", "4 days", "default 4 days, high 1 day"),
        ("routing", "petition.at_once", "changed", "False", "True"),
        ("calendar", "working_hours", "changed", "any hour", "09:00-12:00, 14:00-18:00"),
        ("notices", "supervision.when", "changed", "every dispute", 'risk == "high"'),
    ]
