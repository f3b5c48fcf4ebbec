"""Shared fixtures: rule books, times, and engines on real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation import EscalationEngine, RuleBook

# A small organisation with a calendar-days calendar, so expected deadlines
# can be worked out by hand: limits 2 / 4 / 8 days.
SMALL_RULES = """
version: 1
calendar: calendar-days
categories: [wage_arrears, family, neighbour, debt, other]
sources: [walk_in, grid_patrol, hotline_12345, petition, police_referral]
tiers:
  - name: community
    handle_within: 2 days
    max_mediation_attempts: 2
    notices:
      - {at: 50%, notice: reminder}
      - {at: 75%, notice: warning}
  - name: street
    handle_within: 4 days
    max_mediation_attempts: 3
    notices:
      - {at: 50%, notice: prompt}
      - {at: 100%, notice: supervision}
  - name: district
    handle_within: 8 days
    notices:
      - {at: 50%, notice: reminder}
      - {at: 100%, notice: supervision}
units:
  - {id: d1, name: District One, tier: district}
  - {id: s1, name: Street One, tier: street, parent: d1}
  - {id: s2, name: Street Two, tier: street, parent: d1}
  - {id: c11, name: Community 1-1, tier: community, parent: s1}
  - {id: c12, name: Community 1-2, tier: community, parent: s1}
  - {id: c21, name: Community 2-1, tier: community, parent: s2}
risk:
  - {id: mass-wage, when: 'category == "wage_arrears" && (parties >= 30 || amount >= 500000.0)', level: high}
  - {id: repeat, when: 'reopened >= 2', level: high}
  - {id: many, when: 'parties >= 10', level: medium}
elevate:
  - {id: high-risk, when: 'risk == "high"', to: district}
  - {id: many-at-community, when: 'parties >= 10 && tier == "community"', to: street}
routing:
  - {id: petition, when: 'source == "petition"', department: petition_office}
  - {id: wages, when: 'category == "wage_arrears"', department: human_resources_bureau}
  - {id: rest, when: 'true', department: governance_centre}
"""

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture(scope="session")
def small_rules() -> RuleBook:
    return RuleBook.from_yaml(SMALL_RULES, source="small.yaml")


@pytest.fixture(scope="session")
def default_rules() -> RuleBook:
    return RuleBook.default()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'escalation.db'}"


@pytest.fixture
def engine(small_rules: RuleBook, db_url: str) -> Iterator[EscalationEngine]:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        yield engine
