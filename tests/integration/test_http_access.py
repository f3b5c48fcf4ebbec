"""Every role against every endpoint of the HTTP API: 401, 403, or let through.

The oracle is the role table (``access.ROLES`` and the service's own
``SERVICE_ROLES``) and the scope: a role lacking the operation gets 403; so
does a dispute outside its scope; anything else reaches the engine (a 2xx, or
a domain answer such as 409 for a step the dispute's state does not allow).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from escalation import bootstrap
from escalation.application.access import ROLES, Principal
from escalation.http import create_app
from escalation.http.auth import SERVICE_ROLES, TOKEN_TTL, TokenCache
from tests.helpers import CASEWORK_RULES, T0, hours

PRINCIPALS = {
    "clerk-s1": Principal("张三", "clerk", units=("s1",)),
    "clerk-s2": Principal("李四", "clerk", units=("s2",)),
    "leader-s1": Principal("王书记", "leader", units=("s1",)),
    "department": Principal("信访局", "department", department="petition_office"),
    "auditor": Principal("审计", "auditor"),
    "rule_owner": Principal("规则", "rule_owner"),
    "platform": Principal("平台", "platform"),
}
D = "{dispute}"
#: (operation, method, path, body); D is the dispute at c11 (inside s1, outside s2).
ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    (
        "receive",
        "POST",
        "/api/disputes",
        {"unit": "c11", "category": "neighbour", "source": "walk_in", "summary": "噪音"},
    ),
    ("accept", "POST", f"/api/disputes/{D}/accept", {}),
    ("decline", "POST", f"/api/disputes/{D}/decline", {"reason": "不属于受理范围"}),
    ("mediate", "POST", f"/api/disputes/{D}/mediate", {"outcome": "failed"}),
    ("follow_up", "POST", f"/api/disputes/{D}/follow-up", {"outcome": "settled"}),
    ("summon", "POST", f"/api/disputes/{D}/summon", {"lead": "court"}),
    ("check_in", "POST", f"/api/disputes/{D}/check-in", {"department": "petition_office"}),
    (
        "report_progress",
        "POST",
        f"/api/disputes/{D}/report-progress",
        {"department": "petition_office", "note": "已约谈"},
    ),
    ("assign_leader", "POST", f"/api/disputes/{D}/assign-leader", {"leader": "li", "plan": "上门"}),
    ("assess", "POST", f"/api/disputes/{D}/assess", {"level": "medium", "reason": "情绪激动"}),
    ("escalate", "POST", f"/api/disputes/{D}/escalate", {"reason": "调解未果"}),
    ("supervise", "POST", f"/api/disputes/{D}/supervise", {"notice": "warning"}),
    ("pause", "POST", f"/api/disputes/{D}/pause", {"reason": "等待鉴定"}),
    ("resume", "POST", f"/api/disputes/{D}/resume", {}),
    ("remand", "POST", f"/api/disputes/{D}/remand", {"to_unit": "c11", "instructions": "跟进"}),
    ("close", "POST", f"/api/disputes/{D}/close", {"outcome": "resolved"}),
    ("reopen", "POST", f"/api/disputes/{D}/reopen", {"reason": "再次来访"}),
    ("erase", "POST", f"/api/disputes/{D}/erase", {"reason": "期满"}),
    ("tick", "POST", "/api/tick", {}),
    ("get", "GET", f"/api/disputes/{D}", None),
    ("history", "GET", f"/api/disputes/{D}/history", None),
    ("timeline", "GET", f"/api/disputes/{D}/timeline", None),
    ("queue", "GET", "/api/queue", None),
    ("follow_ups", "GET", "/api/follow-ups", None),
    ("figures", "GET", "/api/figures?period=2026-03&unit=s1", None),
    ("backlog", "GET", "/api/backlog?period=2026-03", None),
    ("changes", "GET", "/api/changes", None),
    ("rules", "GET", "/api/rules", None),
    ("rules", "POST", "/api/rules/check", {"rules": CASEWORK_RULES}),
    ("activate", "POST", "/api/rules/activate", {"rules": "not: [a rule book"}),
    ("verify", "GET", "/api/verify", None),
    ("changes", "GET", "/api/changes/stream?seconds=0.1", None),
    ("rules", "GET", "/api/rules/0123456789abcdef", None),
    ("rules", "POST", "/api/rules/diff", {"a": CASEWORK_RULES, "b": CASEWORK_RULES}),
    ("rules", "POST", "/api/rules/simulate", {"rules": CASEWORK_RULES}),
    ("history", "GET", f"/api/disputes/{D}/papers", None),
    ("history", "GET", f"/api/disputes/{D}/papers/registration", None),
    ("papers", "GET", "/api/papers?unit=s1&date=2026-03-02", None),
]
DISPUTE_OPS = {op for op, _, path, _ in ENDPOINTS if D in path}


def test_the_table_covers_every_endpoint_of_the_api(
    service: tuple[TestClient, dict[str, str], UUID],
) -> None:
    client, _, _ = service
    listed = {
        (method, path.split("?")[0].replace(D, "{dispute_id}")) for _, method, path, _ in ENDPOINTS
    }
    served = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    concrete = {  # the table's paths name a stored version and a kind
        (m, p.replace("{version}", "0123456789abcdef").replace("{kind}", "registration"))
        for m, p in served
    }
    assert concrete - listed == set()
    assert len(concrete) >= 30  # the API really was read


def allowed(principal: Principal, operation: str) -> bool:
    """The role may do it, and (for a dispute at c11, or unit s1) the scope covers it."""
    if operation in SERVICE_ROLES:
        return principal.role in SERVICE_ROLES[operation]
    if operation == "papers":  # a unit's letters: read as history, for a unit in scope
        in_scope = principal.role != "department" and (
            not principal.units or "s1" in principal.units
        )
        return "history" in ROLES[principal.role] and in_scope
    if operation not in ROLES[principal.role]:
        return False
    if principal.role == "department":  # D is routed to the governance centre, not to it
        return operation not in DISPUTE_OPS
    in_s1 = not principal.units or "s1" in principal.units
    if operation == "backlog":
        return not principal.units
    if operation in DISPUTE_OPS | {"receive", "figures"}:
        return in_s1
    return True


@pytest.fixture
def service(db_url: str) -> Iterator[tuple[TestClient, dict[str, str], UUID]]:
    from escalation.policies.rulebook import RuleBook

    rules = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
    engine, tokens = bootstrap.open_service(rules, db_url, clock=lambda: T0 + hours(1))
    try:
        dispute = engine.receive(
            unit="c11",
            category="neighbour",
            source="walk_in",
            summary="楼上漏水",
            received_at=T0,
        )
        secrets = {key: tokens.create(p, T0)[0] for key, p in PRINCIPALS.items()}
        with TestClient(create_app(engine, tokens), raise_server_exceptions=False) as client:
            yield client, secrets, dispute
    finally:
        engine.shutdown()


def call(
    client: TestClient, endpoint: tuple[str, str, str, Any], dispute: UUID, token: str | None
) -> Any:
    _, method, path, body = endpoint
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, path.replace(D, str(dispute)), json=body, headers=headers)


def test_every_role_against_every_endpoint(
    service: tuple[TestClient, dict[str, str], UUID],
) -> None:
    client, secrets, dispute = service
    wrong = []
    for key, principal in PRINCIPALS.items():
        for endpoint in ENDPOINTS:
            response = call(client, endpoint, dispute, secrets[key])
            expect_allowed = allowed(principal, endpoint[0])
            ok = (
                response.status_code not in (401, 403, 500)
                if expect_allowed
                else (
                    response.status_code == 403
                    and response.headers["content-type"] == "application/problem+json"
                    and response.json()["kind"] == "Forbidden"
                )
            )
            if not ok:
                wrong.append(
                    (key, endpoint[1], endpoint[2], response.status_code, response.text[:200])
                )
    assert wrong == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[1]} {e[2]}")
def test_no_token_and_a_revoked_token_get_401(
    service: tuple[TestClient, dict[str, str], UUID], endpoint: Any
) -> None:
    client, _, dispute = service
    for token in (None, "esc_not-a-token", "Basic abc"):
        response = call(client, endpoint, dispute, token)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_once_the_token_cache_asks_again(db_url: str) -> None:
    engine, tokens = bootstrap.open_service(None, db_url)
    try:
        secret, info = tokens.create(Principal("平台", "platform"), T0)
        app = create_app(engine, tokens)
        ticks = [100.0]
        app.state.token_cache = TokenCache(tokens, TOKEN_TTL, monotonic=lambda: ticks[0])
        with TestClient(app) as client:
            auth = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/queue", headers=auth).status_code == 200
            tokens.revoke(info.id, T0 + hours(1))
            ticks[0] += TOKEN_TTL - 0.1  # still trusted: no look-up yet
            assert client.get("/api/queue", headers=auth).status_code == 200
            ticks[0] += 0.1  # the TTL is up: the store is asked, and says revoked
            response = client.get("/api/queue", headers=auth)
            assert response.status_code == 401
            assert response.json()["detail"] == "the token is unknown, revoked or expired"
            ticks[0] += 1000  # and it stays refused (a revoked token is not remembered)
            client.cookies.set("escalation_token", secret)  # the console's login cookie
            home = client.get("/")
            assert home.status_code == 200
            assert 'name="token"' in home.text and "/logout" not in home.text
    finally:
        engine.shutdown()


def test_with_no_token_ttl_a_revocation_is_seen_at_once(db_url: str) -> None:
    engine, tokens = bootstrap.open_service(None, db_url)
    try:
        secret, info = tokens.create(Principal("平台", "platform"), T0)
        with TestClient(create_app(engine, tokens, token_ttl=0)) as client:
            auth = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/queue", headers=auth).status_code == 200
            tokens.revoke(info.id, T0 + hours(1))
            assert client.get("/api/queue", headers=auth).status_code == 401
    finally:
        engine.shutdown()


def test_an_expired_token_is_refused(db_url: str) -> None:
    now = [T0]
    engine, tokens = bootstrap.open_service(None, db_url, clock=lambda: now[0])
    try:
        secret, _ = tokens.create(Principal("平台", "platform"), T0, T0 + hours(24))
        with TestClient(create_app(engine, tokens)) as client:
            auth = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/queue", headers=auth).status_code == 200
            now[0] = T0 + hours(24)
            assert client.get("/api/queue", headers=auth).status_code == 401
    finally:
        engine.shutdown()


def test_a_departments_queue_is_its_own_and_the_whole_districts(db_url: str) -> None:
    from escalation.policies.rulebook import RuleBook

    rules = RuleBook.from_yaml(CASEWORK_RULES, source="casework.yaml")
    engine, tokens = bootstrap.open_service(rules, db_url, clock=lambda: T0 + hours(3))
    try:
        dispute = engine.receive(
            unit="c11", category="neighbour", source="petition", summary="信访", received_at=T0
        )
        engine.mediate(dispute, outcome="failed", mediator="张三", at=T0 + hours(1))
        who = {
            "own": Principal("信访局", "department", department="petition_office"),
            "other": Principal("法院", "department", department="court"),
            "auditor": Principal("审计", "auditor"),
            "clerk": Principal("张三", "clerk", units=("s1",)),
        }
        secret = {k: tokens.create(p, T0)[0] for k, p in who.items()}
        with TestClient(create_app(engine, tokens)) as client:

            def queue(key: str, **params: str) -> Any:
                auth = {"Authorization": f"Bearer {secret[key]}"}
                return client.get("/api/queue", params=params, headers=auth)

            own = queue("own", department="petition_office")
            assert [i["dispute_id"] for i in own.json()] == [str(dispute)]
            assert queue("auditor", department="petition_office").json() == own.json()
            assert queue("other", department="petition_office").status_code == 403
            assert queue("clerk", department="petition_office").status_code == 403
            before = queue("clerk", as_of="2026-03-02T08:59:00+08:00")
            assert before.json() == []
            after = queue("clerk", as_of="2026-03-02T09:00:00+08:00")
            assert [i["colour"] for i in after.json()] == ["blue"]
    finally:
        engine.shutdown()
