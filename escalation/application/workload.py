"""A seeded generator of realistic intake, for the demo, tests and benchmarks.

Shares follow the reports in DOMAIN.md: grid patrols and the 12345 hotline
bring most disputes, police hand over non-police matters, neighbours, family
and property management lead the categories, and wage arrears come in
clusters of many workers with large sums.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from escalation.application.importer import DisputeRecord
from escalation.policies.facts import Closure, Fact, FollowUp, Mediation, Receipt
from escalation.policies.rulebook import RuleBook

if TYPE_CHECKING:
    from escalation.application.engine import EscalationEngine

SOURCES = {
    "grid_patrol": 34,
    "hotline_12345": 22,
    "police_referral": 14,
    "walk_in": 14,
    "online": 7,
    "petition": 6,
    "assigned_from_above": 3,
    "public_opinion": 2,
    "litigation": 3,
}
CATEGORIES = {
    "neighbour": 20,
    "family": 15,
    "property_management": 14,
    "wage_arrears": 12,
    "debt": 10,
    "consumer": 8,
    "real_estate": 7,
    "other": 6,
    "medical": 4,
    "land": 4,
}
SUMMARIES = {
    "neighbour": "噪音与漏水纠纷",
    "family": "婚姻家事纠纷",
    "property_management": "物业服务费争议",
    "wage_arrears": "工地拖欠工资",
    "debt": "民间借贷纠纷",
    "consumer": "消费退款纠纷",
    "real_estate": "房屋产权登记纠纷",
    "other": "其他矛盾纠纷",
    "medical": "医疗费用争议",
    "land": "土地使用权纠纷",
}
# 弱信号: now and then one matter (a building site, an estate) reaches several
# communities of a street through several channels within days.
HOTSPOT_RATE = 0.12  # chance per working day that such an episode begins
HOTSPOTS = {
    "wage_arrears": "工地",
    "property_management": "小区",
    "real_estate": "楼盘",
    "neighbour": "城中村",
}
HOTSPOT_SOURCES = ("grid_patrol", "hotline_12345", "public_opinion", "petition", "walk_in")
# Chance that a mediation at each tier resolves / fails (the rest is partial).
MEDIATION_ODDS = {"community": (0.50, 0.38), "street": (0.58, 0.30), "district": (0.66, 0.24)}
# Chance that a settled agreement is found kept at its follow-up (回访).
FOLLOW_UP_HELD = 0.9
# Chance per working day that a settled dispute is visited for its follow-up.
FOLLOW_UP_RATE = 0.35
# Chance per session that a case is paused (中止: an appraisal, a party away), and
# that the district hands a case back down to the community it came from (交办).
PAUSE_RATE = 0.01
REMAND_RATE = 0.15
# Chance per working day that the holding unit holds a mediation session.
MEDIATION_RATE = {"community": 0.45, "street": 0.30, "district": 0.22}


@dataclass(frozen=True)
class Intake:
    unit: str
    category: str
    source: str
    parties: int
    amount: float
    summary: str
    location: str
    received_at: datetime
    request_id: str

    def receive(self, engine: EscalationEngine, actor: str = "intake-desk") -> UUID:
        """Register this intake on ``engine``, live; returns the dispute's id."""
        return engine.receive(**vars(self.receipt(actor=actor)))

    def receipt(self, request_id: str | None = None, actor: str = "import") -> Receipt:
        """The intake as a receipt (under another request id if given)."""
        return Receipt(
            unit=self.unit,
            category=self.category,
            source=self.source,
            summary=self.summary,
            received_at=self.received_at,
            parties=self.parties,
            amount=self.amount,
            location=self.location,
            request_id=request_id or self.request_id,
            actor=actor,
        )


class Workload:
    def __init__(self, rules: RuleBook, seed: int = 2025, per_day: int = 60) -> None:
        self.rules = rules
        self.rng = random.Random(seed)  # noqa: S311 - a seeded, reproducible demo workload
        self.per_day = per_day
        self.zone = ZoneInfo(rules.calendar.timezone)
        by_tier: dict[str, list[str]] = {t: [] for t in rules.tiers}
        for unit in rules.units.values():
            by_tier[unit.tier].append(unit.id)
        self.units_by_tier = {t: sorted(u) for t, u in by_tier.items()}
        self.serial = 0
        self.planted: dict[date, list[Intake]] = {}  # hotspot intake still to come, by day

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone).astimezone(UTC)

    def intake(self, day: date) -> list[Intake]:
        """The disputes registered on ``day``, in time order."""
        workday = self.rules.calendar.is_workday(day)
        volume = self.per_day if workday else self.per_day * 0.35
        count = max(0, round(self.rng.gauss(volume, volume**0.5)))
        items = [self._one(day) for _ in range(count)]
        if workday and self.rng.random() < HOTSPOT_RATE:
            self._hotspot(day)
        items += self.planted.pop(day, [])
        return sorted(items, key=lambda i: i.received_at)

    def _hotspot(self, day: date) -> None:
        """Plant a weak signal (弱信号).

        One matter reported 4-6 times over a few days, by several communities
        of one street and through several channels.
        """
        rng = self.rng
        category = rng.choice([c for c in HOTSPOTS if c in self.rules.categories] or [""])
        streets = [
            u
            for u in self.units_by_tier.get(self.rules.tiers[min(1, len(self.rules.tiers) - 1)], [])
            if self.rules.children(u)
        ]
        sources = [s for s in HOTSPOT_SOURCES if s in self.rules.sources]
        if not category or not streets or not sources:
            return
        street = rng.choice(streets)
        place = f"{street}-{HOTSPOTS[category]}-{rng.randint(1, 99):02d}"
        for n in range(rng.randint(4, 6)):
            when = day + timedelta(days=rng.randint(0, 4))
            unit = rng.choice(self.rules.children(street))
            parties, amount = self._size(category)
            minutes = rng.randint(8 * 60 + 30, 18 * 60)
            self.serial += 1
            self.planted.setdefault(when, []).append(
                Intake(
                    unit=unit,
                    category=category,
                    source=sources[n % len(sources)],
                    parties=parties,
                    amount=amount,
                    summary=SUMMARIES.get(category, "矛盾纠纷"),
                    location=place,
                    received_at=self.local(when, time(minutes // 60, minutes % 60)),
                    request_id=f"demo-{when.isoformat()}-{self.serial:07d}",
                )
            )

    def days(self, start: date, count: int) -> Iterator[date]:
        for n in range(count):
            yield start + timedelta(days=n)

    def records(self, start: date, days: int, prefix: str = "hist") -> Iterator[DisputeRecord]:
        """Histories for bulk import: each receipt with the mediations and closes after it.

        Drawn blind (without the engine's decisions): up to four mediation
        sessions on later working days, the last one resolving or not, and a
        few withdrawals. The importer's policies then decide notices and
        escalations exactly as live.
        """
        for day in self.days(start, days):
            for item in self.intake(day):
                facts: list[Fact] = []
                at = item.received_at
                for _ in range(self.rng.randint(0, 4)):
                    at = self.working_time(self._next_workday(at, self.rng.randint(1, 6)))
                    roll = self.rng.random()
                    if roll < 0.03:
                        facts.append(Closure(at, "clerk", outcome="withdrawn"))
                        break
                    outcome = "resolved" if roll < 0.45 else "failed" if roll < 0.85 else "partial"
                    facts.append(Mediation(at, "mediator", outcome=outcome))
                    if outcome == "resolved":  # settled: its follow-up (回访) a few days on
                        at = self.working_time(self._next_workday(at, self.rng.randint(2, 5)))
                        held = self.rng.random() < FOLLOW_UP_HELD
                        result = "settled" if held else "unsettled"
                        facts.append(FollowUp(at, "follow-up", outcome=result))
                        if held:
                            break
                yield DisputeRecord(item.receipt(f"{prefix}-{item.request_id}"), facts)

    def _next_workday(self, after: datetime, count: int) -> date:
        day = after.astimezone(self.zone).date()
        while count:
            day += timedelta(days=1)
            if self.rules.calendar.is_workday(day):
                count -= 1
        return day

    def mediation_today(self, tier: str) -> bool:
        return self.rng.random() < MEDIATION_RATE.get(tier, 0.25)

    def mediation_outcome(self, tier: str, risk: str | None) -> str:
        resolve, fail = MEDIATION_ODDS.get(tier, (0.5, 0.35))
        if risk == "high":
            resolve, fail = resolve * 0.6, fail * 1.4
        roll = self.rng.random()
        return "resolved" if roll < resolve else "failed" if roll < resolve + fail else "partial"

    def working_time(self, day: date) -> datetime:
        minutes = self.rng.randint(9 * 60, 17 * 60 + 30)
        return self.local(day, time(minutes // 60, minutes % 60))

    def _one(self, day: date) -> Intake:
        rng = self.rng
        self.serial += 1
        category = rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
        sources = [s for s in SOURCES if s in self.rules.sources] or list(self.rules.sources)
        source = rng.choices(sources, weights=[SOURCES.get(s, 1) for s in sources])[0]
        roll = rng.random()
        tier = (
            self.rules.tiers[0]
            if roll < 0.88
            else self.rules.tiers[min(1, len(self.rules.tiers) - 1)]
        )
        if roll > 0.98:
            tier = self.rules.tiers[-1]
        unit = rng.choice(self.units_by_tier[tier])
        parties, amount = self._size(category)
        minutes = rng.randint(8 * 60 + 30, 18 * 60)
        return Intake(
            unit=unit,
            category=category,
            source=source,
            parties=parties,
            amount=amount,
            summary=SUMMARIES.get(category, "矛盾纠纷"),
            location=f"{unit}-grid-{rng.randint(1, 40):02d}",
            received_at=self.local(day, time(minutes // 60, minutes % 60)),
            request_id=f"demo-{day.isoformat()}-{self.serial:07d}",
        )

    def _size(self, category: str) -> tuple[int, float]:
        rng = self.rng
        if category == "wage_arrears":
            parties = max(2, int(rng.lognormvariate(2.0, 1.0)))
            return parties, round(parties * rng.uniform(4_000, 25_000), 2)
        parties = 2 if rng.random() < 0.8 else rng.randint(3, 12)
        scale = {"debt": 80_000, "real_estate": 300_000, "land": 200_000, "medical": 60_000}
        mean = scale.get(category, 5_000)
        return parties, round(rng.expovariate(1 / mean), 2)
