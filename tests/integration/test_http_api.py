"""The HTTP API's contract: problem documents, idempotency, actors, times, the change feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from escalation import bootstrap
from escalation.application.access import Principal
from escalation.http import create_app
from tests.helpers import T0, TEST_MASTER_KEY, hours

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
        clerk = tokens.create(Principal("张三", "clerk", units=("s1",)), T0)[0]
        auditor = tokens.create(Principal("审计", "auditor"), T0)[0]
        with TestClient(create_app(engine, tokens), raise_server_exceptions=False) as c:
            yield (
                c,
                {
                    "clerk": f"Bearer {clerk}",
                    "auditor": f"Bearer {auditor}",
                },
            )
    finally:
        engine.shutdown()


def test_a_command_records_the_principal_and_times_carry_offsets(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    made = c.post("/api/disputes", json=RECEIPT, headers={"Authorization": auth["clerk"]})
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"/api/disputes/{made.json()['id']}"
    body = c.get(made.headers["location"], headers={"Authorization": auth["clerk"]}).json()
    assert body["received_at"] == "2026-03-02T01:00:00+00:00"
    assert body["due_at"].endswith("+00:00")
    done = c.post(
        f"/api/disputes/{body['id']}/mediate",
        json={"outcome": "failed", "at": "2026-03-02T10:00:00+08:00"},
        headers={"Authorization": auth["clerk"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["attempts"] == 1
    history = c.get(f"/api/disputes/{body['id']}/history", headers={"Authorization": auth["clerk"]})
    actors = {e["event"]: e["fields"]["actor"] for e in history.json()}
    assert actors["Received"] == "张三"
    assert actors["Mediated"] == "张三"


def test_the_idempotency_key_makes_a_repeat_harmless(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    headers = {"Authorization": auth["clerk"], "Idempotency-Key": "intake-0001"}
    first = c.post("/api/disputes", json=RECEIPT, headers=headers)
    again = c.post("/api/disputes", json=RECEIPT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = c.post("/api/disputes", json={**RECEIPT, "category": "wage_arrears"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["kind"] == "RequestConflict"
    queue = c.get("/api/queue", headers={"Authorization": auth["clerk"]}).json()
    assert len(queue) == 1


@pytest.mark.parametrize(
    ("send", "status", "kind"),
    [
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "InvalidInput",
        ),
        ({"json": {**RECEIPT, "parties": "many"}}, 422, "InvalidInput"),
        ({"json": {**RECEIPT, "secret_field": 1}}, 422, "InvalidInput"),
        ({"json": {**RECEIPT, "category": "nope"}}, 422, "InvalidInput"),
        ({"json": {**RECEIPT, "received_at": "2026-03-02T09:00:00"}}, 422, "InvalidInput"),
        ({"json": {**RECEIPT, "summary": "x" * 2_000_000}}, 413, "TooLarge"),
    ],
    ids=["malformed", "wrong-type", "unknown-field", "unknown-category", "naive-time", "oversize"],
)
def test_bad_input_is_a_problem_document_and_writes_nothing(
    client: tuple[TestClient, dict[str, str]], send: dict[str, Any], status: int, kind: str
) -> None:
    c, auth = client
    headers = {"Authorization": auth["clerk"], **send.pop("headers", {})}
    response = c.post("/api/disputes", headers=headers, **send)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["kind"] == kind
    assert problem["status"] == status
    for leak in ("Traceback", "SELECT", "13800000000", "张三"):
        assert leak not in response.text
    assert c.get("/api/queue", headers={"Authorization": auth["clerk"]}).json() == []


def test_unknown_dispute_is_404_and_illegal_step_409(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    h = {"Authorization": auth["clerk"]}
    missing = c.get("/api/disputes/00000000-0000-4000-8000-000000000000", headers=h)
    assert missing.status_code == 404
    assert missing.json()["kind"] == "UnknownDispute"
    made = c.post("/api/disputes", json=RECEIPT, headers=h).json()
    step = c.post(f"/api/disputes/{made['id']}/resume", json={}, headers=h)
    assert step.status_code == 409
    assert step.json()["kind"] == "IllegalTransition"


def test_personal_fields_are_restricted_for_an_auditor(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    made = c.post("/api/disputes", json=RECEIPT, headers={"Authorization": auth["clerk"]}).json()
    seen = c.get(f"/api/disputes/{made['id']}", headers={"Authorization": auth["auditor"]})
    assert seen.status_code == 200
    assert seen.json()["summary"] == "[restricted]"
    assert (
        "13800000000"
        not in c.get(
            f"/api/disputes/{made['id']}/history", headers={"Authorization": auth["auditor"]}
        ).text
    )


def test_the_change_feed_long_polls_and_streams_from_a_position(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    c, auth = client
    h = {"Authorization": auth["auditor"]}
    empty = c.get("/api/changes?after=0&wait=0.6", headers=h).json()
    assert empty == {"changes": [], "next": 0}
    for n in range(3):
        c.post(
            "/api/disputes",
            json={**RECEIPT, "summary": f"s{n}"},
            headers={"Authorization": auth["clerk"]},
        )
    page = c.get("/api/changes?after=0&limit=2", headers=h).json()
    assert page["changes"][0]["event"] == "Received"
    assert len(page["changes"]) == 2
    with c.stream("GET", f"/api/changes/stream?after={page['next']}&most=1", headers=h) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        text = "".join(s.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("id:")]
    assert len(events) == 1
    position = int(events[0].split("\n")[0].removeprefix("id: "))
    assert position > page["next"]
    data = json.loads(events[0].split("data: ", 1)[1])
    assert data["position"] == position
    assert data["occurred_at"].endswith("+00:00")


def test_openapi_is_3_1_with_examples(client: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = client
    document = c.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    assert schemas["Receive"]["examples"][0]["unit"] == "huangbei"
    assert "/api/disputes/{dispute_id}/mediate" in document["paths"]
    assert "Idempotency-Key" in json.dumps(document["paths"]["/api/disputes"])


def test_tokens_commands_create_list_and_revoke(
    db_url: str, small_rules: Any, tmp_path: Any
) -> None:
    from escalation.entrypoints.cli import app

    rules = tmp_path / "rules.yaml"
    from tests.helpers import SMALL_RULES

    rules.write_text(SMALL_RULES, encoding="utf-8")
    runner = CliRunner(env={"COLUMNS": "250", "ESCALATION_MASTER_KEY": TEST_MASTER_KEY})
    made = runner.invoke(
        app,
        [
            "tokens",
            "create",
            "--role",
            "clerk",
            "--unit",
            "s1",
            "--db",
            db_url,
            "--rules",
            str(rules),
        ],
    )
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("esc_")
    listed = runner.invoke(app, ["tokens", "list", "--db", db_url])
    assert "clerk@s1" in listed.output
    assert secret not in listed.output
    token_id = made.output.split()[1]
    engine, tokens = bootstrap.open_service(None, db_url)
    try:
        now = datetime.now(UTC)
        assert tokens.principal(secret, now) == Principal("clerk@s1", "clerk", units=("s1",))
        revoked = runner.invoke(app, ["tokens", "revoke", token_id, "--db", db_url])
        assert revoked.exit_code == 0, revoked.output
        assert tokens.principal(secret, now) is None
    finally:
        engine.shutdown()
    bad = runner.invoke(app, ["tokens", "create", "--role", "clerk", "--db", db_url])
    assert bad.exit_code != 0


def test_an_unexpected_failure_is_a_bare_500(
    client: tuple[TestClient, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    c, _ = client

    def boom() -> None:
        raise RuntimeError("SELECT * FROM people WHERE name = '张三'")

    c.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    response = c.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["kind"] == "InternalError"
    assert "SELECT" not in response.text
    assert "张三" not in capsys.readouterr().err


def test_create_app_from_a_url_opens_and_closes_its_own_engine(db_url: str) -> None:
    storage, tokens = bootstrap.open_tokens(db_url)
    with storage:
        secret, _ = tokens.create(Principal("平台", "platform"), T0)
    app = create_app(url=db_url)
    with TestClient(app) as c:
        assert c.get("/api/queue", headers={"Authorization": f"Bearer {secret}"}).json() == []
        assert c.get("/api/queue").status_code == 401
        engine = app.state.engine
    with pytest.raises(ValueError, match="both engine and tokens"):
        create_app(engine)


def test_a_unit_bound_auditor_reads_past_other_units_changes(db_url: str, small_rules: Any) -> None:
    engine, tokens = bootstrap.open_service(small_rules, db_url, clock=lambda: T0 + hours(2))
    try:
        for unit in ("c21", "c21", "c11"):
            engine.receive(
                unit=unit, category="neighbour", source="walk_in", summary="x", received_at=T0
            )
        secret = tokens.create(Principal("审计", "auditor", units=("s1",)), T0)[0]
        with TestClient(create_app(engine, tokens)) as c:
            h = {"Authorization": f"Bearer {secret}"}
            first = c.get("/api/changes?after=0&limit=2", headers=h).json()
            assert first["changes"] == []  # two changes of s2 only: none shown ...
            assert first["next"] > 0  # ... yet read past
            rest = c.get(f"/api/changes?after={first['next']}&limit=1000", headers=h).json()
            assert {ch["unit"] for ch in rest["changes"]} == {"c11"}
            with c.stream("GET", "/api/changes/stream?after=0&most=1", headers=h) as s:
                text = "".join(s.iter_text())
            assert '"unit": "c11"' in text
    finally:
        engine.shutdown()
