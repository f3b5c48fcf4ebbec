"""Chinese names of the codes a paper shows (categories, sources, tiers).

Papers are read by people, never by programs: they show names, not codes.
Departments and units have their names in the rule book; categories, sources
and tiers have these defaults (a code not listed shows as itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from escalation.policies.rulebook import RuleBook

CATEGORIES: Final[Mapping[str, str]] = {
    "wage_arrears": "劳资纠纷",
    "family": "婚姻家事纠纷",
    "neighbour": "邻里纠纷",
    "property_management": "物业纠纷",
    "real_estate": "房地产纠纷",
    "land": "土地纠纷",
    "medical": "医疗纠纷",
    "debt": "债权债务纠纷",
    "consumer": "消费商事纠纷",
    "other": "其他纠纷",
}
SOURCES: Final[Mapping[str, str]] = {
    "walk_in": "群众来访",
    "grid_patrol": "网格员排查上报",
    "hotline_12345": "12345热线",
    "police_referral": "非警务警情移交",
    "petition": "信访事项",
    "online": "网上受理",
    "assigned_from_above": "上级交办",
    "public_opinion": "舆情监测",
    "litigation": "诉源治理",
}
TIERS: Final[Mapping[str, str]] = {"community": "社区", "street": "街道", "district": "区"}


def category_label(rules: RuleBook, code: str) -> str:
    return CATEGORIES.get(code, code)


def source_label(rules: RuleBook, code: str) -> str:
    return SOURCES.get(code, code)


def tier_label(rules: RuleBook, code: str) -> str:
    return TIERS.get(code, code)
