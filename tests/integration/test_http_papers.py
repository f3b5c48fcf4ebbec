"""The papers over HTTP: listed, printed as HTML and PDF, inside the token's scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.http import create_app
from tests.helpers import T0, hours

RECEIPT = {
    "unit": "c11",
    "category": "neighbour",
    "source": "walk_in",
    "summary": "楼上漏水 张三 13800000000",
    "received_at": "2026-03-02T09:00:00+08:00",
}


@pytest.fixture
def client(db_url: str, small_rules: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine, tokens = bootstrap.open_service(small_rules, db_url, clock=lambda: T0 + hours(2))
    try:
        made = {
            name: tokens.create(principal, T0)[0]
            for name, principal in {
                "clerk": Principal("张三", "clerk", units=("s1",)),
                "other": Principal("李四", "clerk", units=("s2",)),
                "auditor": Principal("审计", "auditor"),
                "rules": Principal("规则", "rule_owner"),
            }.items()
        }
        with TestClient(create_app(engine, tokens), raise_server_exceptions=False) as c:
            yield c, {name: f"Bearer {token}" for name, token in made.items()}
    finally:
        engine.shutdown()


def test_a_clerk_lists_and_prints_the_papers_of_a_dispute(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    clerk = {"Authorization": auth["clerk"]}
    dispute = c.post("/api/disputes", json=RECEIPT, headers=clerk).json()["id"]
    listed = c.get(f"/api/disputes/{dispute}/papers", headers=clerk)
    assert listed.status_code == 200, listed.text
    registration = next(p for p in listed.json() if p["kind"] == "registration")
    assert registration["issuer"] == "c11"
    assert registration["at"] == "2026-03-02T01:00:00+00:00"
    assert "登字第0001号" in registration["number"]

    page = c.get(f"/api/disputes/{dispute}/papers/registration", headers=clerk)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert registration["number"] in page.text
    assert "楼上漏水" in page.text  # a clerk of the unit sees the summary

    pdf = c.get(
        f"/api/disputes/{dispute}/papers/registration",
        params={"format": "pdf", "version": registration["version"]},
        headers=clerk,
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    again = c.get(f"/api/disputes/{dispute}/papers", headers=clerk).json()
    assert again == listed.json()  # reading twice gives the same numbers

    day = c.get("/api/papers", params={"unit": "c11", "date": "2026-03-02"}, headers=clerk)
    assert day.status_code == 200, day.text
    assert {p["dispute_id"] for p in day.json()} == {dispute}
    assert "registration" in {p["kind"] for p in day.json()}
    next_day = c.get("/api/papers", params={"unit": "c11", "date": "2026-03-03"}, headers=clerk)
    assert next_day.json() == []


def test_papers_keep_to_the_tokens_scope(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    dispute = c.post("/api/disputes", json=RECEIPT, headers={"Authorization": auth["clerk"]})
    path = f"/api/disputes/{dispute.json()['id']}/papers"
    other = c.get(path, headers={"Authorization": auth["other"]})
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert "楼上漏水" not in other.text
    letters = c.get(
        "/api/papers",
        params={"unit": "s1", "date": "2026-03-02"},
        headers={"Authorization": auth["other"]},
    )
    assert letters.status_code == 403
    assert c.get(path, headers={"Authorization": auth["rules"]}).status_code == 403
    assert c.get(path).status_code == 401
    audited = c.get(f"{path}/registration", headers={"Authorization": auth["auditor"]})
    assert audited.status_code == 200
    assert "楼上漏水" not in audited.text  # an auditor without the grant sees no personal data


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/papers/registraton", {}, 422, "registration"),  # a close match is offered
        ("/papers/registration", {"version": "0"}, 422, ""),
        ("/papers/registration", {"format": "docx"}, 422, ""),
        ("/papers/warning", {}, 422, "no warning paper"),
    ],
)
def test_bad_paper_requests_are_refused_plainly(
    client: tuple[TestClient, dict[str, str]],
    path: str,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    c, auth = client
    clerk = {"Authorization": auth["clerk"]}
    dispute = c.post("/api/disputes", json=RECEIPT, headers=clerk).json()["id"]
    found = c.get(f"/api/disputes/{dispute}{path}", params=params, headers=clerk)
    assert found.status_code == status, found.text
    assert found.headers["content-type"] == "application/problem+json"
    assert words in found.json()["detail"]
    assert "楼上漏水" not in found.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "x" * 5000])
def test_a_day_out_of_range_or_not_a_date_is_refused(
    client: tuple[TestClient, dict[str, str]], day: str
) -> None:
    c, auth = client
    found = c.get(
        "/api/papers", params={"unit": "c11", "date": day}, headers={"Authorization": auth["clerk"]}
    )
    assert found.status_code == 422, found.text
    assert found.headers["content-type"] == "application/problem+json"
    assert found.json()["kind"] == "InvalidInput"
