"""The console's pages without a browser: who sees what, and what each role may press."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.http import create_app
from escalation.http.auth import COOKIE
from tests.helpers import T0, hours

PEOPLE = {
    "clerk": Principal("张三", "clerk", units=("s1",)),
    "auditor": Principal("审计", "auditor"),
    "rule_owner": Principal("规则", "rule_owner"),
    "platform": Principal("平台", "platform"),
}


@pytest.fixture
def console(small_rules: Any, db_url: str) -> Iterator[tuple[TestClient, dict[str, str], UUID]]:
    engine, tokens = bootstrap.open_service(small_rules, db_url, clock=lambda: T0 + hours(30))
    try:
        dispute = engine.receive(
            unit="c11",
            category="neighbour",
            source="walk_in",
            summary="楼上漏水 SECRET-SUMMARY",
            received_at=T0,
        )
        secrets = {k: tokens.create(p, T0)[0] for k, p in PEOPLE.items()}
        with TestClient(create_app(engine, tokens)) as client:
            yield client, secrets, dispute
    finally:
        engine.shutdown()


def as_(client: TestClient, token: str) -> TestClient:
    client.cookies.set(COOKIE, token)
    return client


def test_login_with_a_bad_token_is_refused(console: Any) -> None:
    client, _, _ = console
    page = client.post("/login", data={"token": "esc_nope"}, follow_redirects=False)
    assert page.status_code == 401
    assert "Unauthorized" in page.text
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_a_clerk_sees_personal_fields_and_buttons_an_auditor_neither(console: Any) -> None:
    client, secrets, dispute = console
    page = as_(client, secrets["clerk"]).get(f"/d/{dispute}")
    assert "SECRET-SUMMARY" in page.text
    assert 'id="do-mediate"' in page.text
    # Labels people read, codes in the form values the engine takes.
    assert "<td>邻里纠纷</td>" in page.text
    assert '<option value="failed">调解未成</option>' in page.text
    assert "/report" in page.text
    page = as_(client, secrets["auditor"]).get(f"/d/{dispute}")
    assert page.status_code == 200
    assert "SECRET-SUMMARY" not in page.text
    assert "[restricted]" in page.text
    assert 'id="do-' not in page.text
    assert as_(client, secrets["auditor"]).get(f"/d/{dispute}/report").status_code == 403
    assert as_(client, secrets["rule_owner"]).get(f"/d/{dispute}").status_code == 403


def test_the_audit_report_and_the_queue_as_of_a_past_time(console: Any) -> None:
    client, secrets, dispute = console
    as_(client, secrets["clerk"])
    report = client.get(f"/d/{dispute}/report")
    assert report.status_code == 200
    assert "<svg" in report.text
    before = client.get("/queue", params={"as_of": "2026-03-02T08:00"})  # before the receipt
    assert str(dispute) not in before.text
    after = client.get("/queue", params={"as_of": "2026-03-02T10:00"})
    assert str(dispute) in after.text


def test_an_action_the_role_may_not_take_is_refused_and_nothing_written(console: Any) -> None:
    client, secrets, dispute = console
    refused = as_(client, secrets["auditor"]).post(
        f"/d/{dispute}/mediate", data={"outcome": "failed", "note": ""}
    )
    assert refused.status_code == 403
    timeline = as_(client, secrets["platform"]).get(f"/api/disputes/{dispute}/timeline")
    assert "Mediated" not in {row["event"] for row in timeline.json()}


def test_rule_books_diff_what_if_reviews_and_verify(console: Any) -> None:
    client, secrets, _ = console
    as_(client, secrets["platform"])
    versions = client.get("/api/rules").json()
    version = versions["active"]
    assert client.get("/rules/diff", params={"a": version, "b": version}).status_code == 200
    whatif = client.get("/rules/whatif", params={"version": version})
    assert whatif.status_code == 200
    assert "What-if" in whatif.text
    review = client.get("/reviews", params={"kind": "daily", "period": "2026-03-02"})
    assert review.status_code == 200, review.text
    assert "SECRET-SUMMARY" not in review.text
    assert 'id="verify-ok"' in client.get("/verify").text
    as_(client, secrets["clerk"])
    assert client.get("/reviews").status_code == 403
    assert client.get("/verify").status_code == 403
    english = client.get("/queue?lang=en")
    assert "Queue" in english.text
    assert "待办队列" not in english.text


def test_a_department_checks_in_through_its_button(db_url: str) -> None:
    from escalation.policies.rulebook import RuleBook
    from tests.helpers import CASEWORK_RULES

    rules = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
    engine, tokens = bootstrap.open_service(rules, db_url, clock=lambda: T0 + hours(3))
    try:
        dispute = engine.receive(
            unit="c11", category="neighbour", source="petition", summary="信访", received_at=T0
        )
        engine.mediate(dispute, outcome="failed", mediator="张三", at=T0 + hours(1))
        assert "petition_office" in engine.get(dispute).summoned
        secret = tokens.create(Principal("信访局", "department", department="petition_office"), T0)
        with TestClient(create_app(engine, tokens)) as client:
            as_(client, secret[0])
            page = client.get(f"/d/{dispute}")
            assert 'id="do-check_in"' in page.text
            assert 'id="do-mediate"' not in page.text
            assert 'name="department"' not in page.text  # its own, implied
            done = client.post(f"/d/{dispute}/check_in", data={})
            assert done.status_code == 200
            assert "已记录" in done.text
        assert engine.get(dispute).checked_in == ("petition_office",)
        assert engine.history(dispute)[-1].actor == "信访局"
    finally:
        engine.shutdown()


def test_the_queue_shows_labels_local_times_and_the_leader_now_and_as_of(db_url: str) -> None:
    from escalation.policies.rulebook import RuleBook
    from tests.helpers import CASEWORK_RULES

    rules = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
    engine, tokens = bootstrap.open_service(rules, db_url, clock=lambda: T0 + hours(30))
    try:
        dispute = engine.receive(
            unit="c11", category="neighbour", source="walk_in", summary="漏水", received_at=T0
        )
        engine.assign_leader(dispute, leader="wang", plan="上门", actor="centre", at=T0 + hours(2))
        token = tokens.create(PEOPLE["clerk"], T0)[0]
        with TestClient(create_app(engine, tokens)) as client:
            now = as_(client, token).get("/queue")
            before = client.get("/queue", params={"as_of": "2026-03-02T09:30"})  # before 包保
            after = client.get("/queue", params={"as_of": "2026-03-02T12:00"})
            english = client.get("/queue", params={"lang": "en"})
    finally:
        engine.shutdown()
    row = now.text[now.text.index(f'data-id="{dispute}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="leader">王书记</td>' in row
    assert rules.label("categories", "neighbour") in row  # the label, not the code
    assert "neighbour" not in row
    assert "+08:00" in row  # the due time in the rule book's zone, with its offset
    assert '<td class="leader"></td>' in before.text
    assert '<td class="leader">王书记</td>' in after.text
    assert rules.label("tiers", "community", english=True) in english.text
