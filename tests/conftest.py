"""Shared fixtures: rule books, times, and engines on real databases.

Every test that takes ``db_url`` (or ``engine``, or ``new_db_url``) runs twice:
on a SQLite file and on a PostgreSQL database of its own (a throwaway cluster
started for the session, or the server ``ESCALATION_TEST_POSTGRES_URL`` names;
see ``tests/postgres_server.py``). ``ESCALATION_TEST_DATABASES=sqlite`` runs the
SQLite half only; without it, missing PostgreSQL binaries are an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from escalation import EscalationEngine, RuleBook
from projections.registry import all_projections
from tests.postgres_server import (
    DATABASES_VARIABLE,
    PostgresUnavailable,
    Server,
    start_server,
    wanted_databases,
)

DATABASES = wanted_databases()

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


def pytest_report_header() -> list[str]:
    return [
        f"databases: {', '.join(DATABASES)} (choose with {DATABASES_VARIABLE}=sqlite,postgresql)"
    ]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """The PostgreSQL server of this session, stopped (if we started it) at the end."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:
        pytest.fail(problem, pytrace=False)  # not a skip: the suite runs on both
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on: ``sqlite`` or ``postgresql``.

    Module-scoped, so a module's shared fixtures (``module_new_db_url``) and its
    tests' own databases are on the same backend in each run of the module.
    """
    return str(request.param)


@contextlib.contextmanager
def _databases(
    database: str, request: pytest.FixtureRequest, directory: Path
) -> Iterator[Callable[[], str]]:
    server: Server | None = None
    if database == "postgresql":
        server = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make() -> str:
        if server is None:
            name = "escalation.db" if not made else f"escalation-{len(made)}.db"
            url = f"sqlite:///{directory / name}"
        else:
            url = server.create_database()
        made.append(url)
        return url

    yield make
    if server is not None:
        for url in made:
            with contextlib.suppress(psycopg.Error):
                server.drop_database(url)


@pytest.fixture
def new_db_url(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Make as many fresh, empty databases as the test needs, on its backend."""
    with _databases(database, request, tmp_path) as make:
        yield make


@pytest.fixture(scope="module")
def module_new_db_url(
    database: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], str]]:
    """``new_db_url`` for module-scoped fixtures (a demo store shared by a module's tests)."""
    with _databases(database, request, tmp_path_factory.mktemp("db")) as make:
        yield make


@pytest.fixture
def db_url(new_db_url: Callable[[], str]) -> str:
    """A fresh, empty database: a SQLite file, or a PostgreSQL database of its own."""
    return new_db_url()


@pytest.fixture
def engine(small_rules: RuleBook, db_url: str) -> Iterator[EscalationEngine]:
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        yield engine


def read_model_rows(engine: EscalationEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, in primary-key order (to compare stores)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine._read() as session:
        for projection in all_projections():
            for table in projection.tables:
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [
                    tuple(r) for r in session.execute(select(table).order_by(*order))
                ]
    return out


def recomputed_chain(engine: EscalationEngine, dispute_id: Any) -> list[str]:
    """The dispute's chain digests recomputed from its stored records (scheme 2), in order.

    Independent of the seals the recorder wrote: a test compares the two.
    """
    from escalation.adapters.log_digests import GENESIS, record_digest
    from escalation.application.audit.log import dispute_rows

    digests, prev = [], GENESIS
    for row in sorted(dispute_rows(engine.store, dispute_id), key=lambda r: r.version):
        prev = record_digest(row.dispute_id, row.version, row.stored.topic, row.stored.state, prev)
        digests.append(prev)
    return digests
