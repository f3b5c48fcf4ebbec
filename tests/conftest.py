"""Shared fixtures and hooks: rule books and engines on real databases.

Plain helpers (times, rule-book text, tamper-able logs) are in ``tests/helpers.py``.

Every test that takes ``db_url`` (or ``engine``, or ``new_db_url``) runs twice:
on a SQLite file and on a PostgreSQL database of its own (a throwaway cluster
started for the session, or the server ``ESCALATION_TEST_POSTGRES_URL`` names;
see ``tests/postgres_server.py``). ``ESCALATION_TEST_DATABASES=sqlite`` runs the
SQLite half only; without it, missing PostgreSQL binaries are an error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from escalation import EscalationEngine, RuleBook
from escalation.adapters.personal_data import MASTER_KEY_VARIABLE
from tests.helpers import CASEWORK_RULES, SMALL_RULES, T0, TEST_MASTER_KEY
from tests.postgres_server import (
    DATABASES_VARIABLE,
    PostgresUnavailable,
    Server,
    start_server,
    wanted_databases,
)

DATABASES = wanted_databases()

# Every store in the suite seals personal data with this master key (processes
# the tests start inherit it); tests of a missing or wrong key take it away.
os.environ.setdefault(MASTER_KEY_VARIABLE, TEST_MASTER_KEY)


@pytest.fixture(scope="session")
def small_rules() -> RuleBook:
    return RuleBook.from_yaml(SMALL_RULES, source="small.yaml")


@pytest.fixture(scope="session")
def casework_rules() -> RuleBook:
    return RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")


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
