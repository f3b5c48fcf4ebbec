"""A candidate rule book in the console: its check, its diff and its what-if report; nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.application.engine import EscalationEngine
from escalation.http import create_app
from escalation.http.auth import COOKIE
from escalation.http.console import MAX_CANDIDATE
from tests.helpers import SMALL_RULES, T0, hours, read_model_rows

CANDIDATE = SMALL_RULES.replace("handle_within: 2 days", "handle_within: 3 days")


@pytest.fixture
def service(small_rules: Any, db_url: str) -> Iterator[tuple[EscalationEngine, TestClient, str]]:
    engine, tokens = bootstrap.open_service(small_rules, db_url, clock=lambda: T0 + hours(5))
    engine.receive(
        unit="c11", category="neighbour", source="walk_in", summary="楼上漏水", received_at=T0
    )
    owner = tokens.create(Principal("规则", "rule_owner"), T0)[0]
    clerk = tokens.create(Principal("张三", "clerk", units=("s1",)), T0)[0]
    try:
        with TestClient(create_app(engine, tokens)) as client:
            client.cookies.set(COOKIE, owner)
            yield engine, client, clerk
    finally:
        engine.shutdown()


def stored(engine: EscalationEngine) -> tuple[Any, ...]:
    """What a candidate must not change: the rule-book log, the events and the read models."""
    log = engine.rulebooks.log()
    books = sorted(log.books) if log is not None else []
    events = [c.position for c in engine.changes(after=0, limit=1000)]
    return books, events, read_model_rows(engine)


def test_the_rules_page_offers_the_form(service: tuple[EscalationEngine, TestClient, str]) -> None:
    _, client, _ = service
    page = client.get("/rules")
    assert 'id="candidate"' in page.text
    assert 'enctype="multipart/form-data"' in page.text


def test_a_pasted_candidate_is_checked_diffed_and_simulated_and_nothing_written(
    service: tuple[EscalationEngine, TestClient, str],
) -> None:
    engine, client, _ = service
    before = stored(engine)
    page = client.post("/rules/candidate", data={"yaml": CANDIDATE})
    assert page.status_code == 200, page.text
    assert 'id="check-ok"' in page.text
    assert 'id="diff"' in page.text
    assert "handle_within" in page.text and "3 days" in page.text
    assert 'id="whatif"' in page.text and "What-if" in page.text
    assert stored(engine) == before


def test_an_uploaded_candidate_the_same_as_the_active_book_has_no_changes(
    service: tuple[EscalationEngine, TestClient, str],
) -> None:
    engine, client, _ = service
    page = client.post(
        "/rules/candidate", files={"file": ("tiers.yaml", SMALL_RULES.encode(), "text/yaml")}
    )
    assert page.status_code == 200, page.text
    assert 'id="no-changes"' in page.text
    assert engine.rules.version in page.text


@pytest.mark.parametrize(
    ("form", "files", "status", "says"),
    [
        ({"yaml": "version: [1"}, None, 422, "RulesError"),
        ({"yaml": SMALL_RULES.replace("parent: s1", "parent: s9")}, None, 422, "s9"),
        ({"yaml": "  "}, None, 422, "paste a candidate rule book"),
        ({"yaml": CANDIDATE}, {"file": ("b.yaml", b"version: 1", "text/yaml")}, 422, "not both"),
        ({}, {"file": ("b.yaml", b"\xff\xfe\x00", "text/yaml")}, 422, "not UTF-8"),
        ({"yaml": "#" * (MAX_CANDIDATE + 1)}, None, 413, "TooLarge"),
        ({}, {"file": ("b.yaml", b"#" * (MAX_CANDIDATE + 1), "text/yaml")}, 413, "TooLarge"),
    ],
    ids=["bad yaml", "bad rule book", "empty", "both", "not utf-8", "long text", "long file"],
)
def test_a_bad_candidate_gives_a_clear_error_page_and_writes_nothing(
    service: tuple[EscalationEngine, TestClient, str],
    form: dict[str, str],
    files: Any,
    status: int,
    says: str,
) -> None:
    engine, client, _ = service
    before = stored(engine)
    page = client.post("/rules/candidate", data=form, files=files)
    assert page.status_code == status, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert 'class="error"' in page.text and says in page.text
    assert stored(engine) == before


def test_a_clerk_may_not_and_no_login_goes_to_the_login_page(
    service: tuple[EscalationEngine, TestClient, str],
) -> None:
    engine, client, clerk = service
    before = stored(engine)
    client.cookies.set(COOKIE, clerk)
    refused = client.post("/rules/candidate", data={"yaml": CANDIDATE})
    assert refused.status_code == 403
    assert "Forbidden" in refused.text
    assert 'id="candidate"' not in client.get("/rules").text
    client.cookies.clear()
    gone = client.post("/rules/candidate", data={"yaml": CANDIDATE}, follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/"
    assert stored(engine) == before
