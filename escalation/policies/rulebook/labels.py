"""Display names of the codes, as the centres write them (Chinese; English beside).

The rule book's ``labels:`` section overrides these; a code found in neither
shows as itself. Departments and units are named in their own sections.
Codes stay what the API, the events and ``--json`` carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: kind -> code -> (Chinese, English)
BUILT_IN: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = MappingProxyType(
    {
        "categories": MappingProxyType(
            {
                "wage_arrears": ("劳资纠纷", "Wage arrears"),
                "family": ("婚姻家事纠纷", "Marriage and family"),
                "neighbour": ("邻里纠纷", "Neighbours"),
                "property_management": ("物业纠纷", "Property management"),
                "real_estate": ("房地产纠纷", "Real estate"),
                "land": ("土地纠纷", "Land"),
                "medical": ("医疗纠纷", "Medical"),
                "debt": ("债权债务纠纷", "Debts"),
                "consumer": ("消费商事纠纷", "Consumer and commercial"),
                "other": ("其他纠纷", "Other"),
            }
        ),
        "sources": MappingProxyType(
            {
                "walk_in": ("群众来访", "Walk-in visit"),
                "grid_patrol": ("网格员排查上报", "Grid patrol"),
                "hotline_12345": ("12345热线", "12345 hotline"),
                "police_referral": ("非警务警情移交", "Police referral"),
                "petition": ("信访事项", "Petition"),
                "online": ("网上受理", "Online"),
                "assigned_from_above": ("上级交办", "Assigned from above"),
                "public_opinion": ("舆情监测", "Public opinion"),
                "litigation": ("诉源治理", "Through the courts"),
            }
        ),
        "tiers": MappingProxyType(
            {
                "community": ("社区", "Community"),
                "street": ("街道", "Street"),
                "district": ("区", "District"),
            }
        ),
        "notices": MappingProxyType(
            {
                "reminder": ("催办函", "Reminder"),
                "prompt": ("提示函", "Prompt"),
                "warning": ("预警函", "Warning"),
                "supervision": ("督办函", "Supervision"),
            }
        ),
        "outcomes": MappingProxyType(
            {
                "resolved": ("化解", "Resolved"),
                "agreement": ("达成协议", "Agreement"),
                "judicial_confirmation": ("司法确认", "Judicial confirmation"),
                "litigation": ("转诉讼", "Litigation"),
                "withdrawn": ("撤回", "Withdrawn"),
                "declined": ("不予受理", "Declined"),
                "failed": ("调解未成", "Failed"),
                "partial": ("部分化解", "Partly resolved"),
                "settled": ("案结事了", "Settled"),
                "unsettled": ("未履行", "Unsettled"),
            }
        ),
        "risks": MappingProxyType(
            {
                "high": ("高（红）", "High (red)"),
                "medium": ("中（黄）", "Medium (yellow)"),
                "low": ("低（蓝）", "Low (blue)"),
            }
        ),
    }
)
#: The kinds of code a label is looked up for.
LABEL_KINDS: Final[tuple[str, ...]] = (*BUILT_IN, "departments", "units", "leaders")
