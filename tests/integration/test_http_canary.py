"""No personal data in the service's logs or its problem documents, whatever is sent.

A real ``escalation http`` process, logging JSON at debug level, is sent canary
personal data in good requests and in every kind of bad one (malformed JSON,
wrong types, unknown fields, oversize bodies, bad tokens, out-of-scope reads);
neither its stderr nor any error response carries a canary. A bad request
writes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import SMALL_RULES
from tests.integration.test_http_service import free_port, wait_until_serving

NAME = "欧阳金丝雀"
PHONE = "13700001234"
CANARIES = (NAME, PHONE, "金丝雀街7号", "canary-summary", "canary-claim", "canary-note")
RECEIPT = {
    "unit": "c11",
    "category": "family",
    "source": "walk_in",
    "summary": f"{NAME} {PHONE} canary-summary",
    "claim": "canary-claim",
    "location": "金丝雀街7号",
    "received_at": "2026-03-02T09:00:00+08:00",
}
CLI = [sys.executable, "-c", "from escalation.entrypoints.cli import main; main()"]


def token(role: str, units: str | None, db: str, rules: Path) -> str:
    command = [*CLI, "tokens", "create", "--role", role, "--db", db, "--rules", str(rules)]
    if units:
        command += ["--unit", units]
    made = subprocess.run(command, capture_output=True, text=True, check=True)
    return made.stdout.strip().splitlines()[-1]


def test_no_canary_in_the_services_logs_or_problems(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'canary.db'}"
    clerk = {"Authorization": f"Bearer {token('clerk', 's1', db, rules)}"}
    other = {"Authorization": f"Bearer {token('clerk', 's2', db, rules)}"}
    port = free_port()
    env = {**os.environ, "ESCALATION_LOG": "json", "ESCALATION_LOG_LEVEL": "debug"}
    command = [*CLI, "http", "--listen", f"127.0.0.1:{port}", "--db", db, "--rules", str(rules)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    base = f"http://127.0.0.1:{port}"
    problems: list[httpx.Response] = []
    try:
        wait_until_serving(base, process)
        with httpx.Client(base_url=base, timeout=10) as client:
            made = client.post("/api/disputes", json=RECEIPT, headers=clerk)
            assert made.status_code == 201, made.text
            dispute = made.json()["id"]
            path = f"/api/disputes/{dispute}"
            failed = {"outcome": "failed", "note": "canary-note"}
            assert client.post(f"{path}/mediate", json=failed, headers=clerk).status_code == 200
            before = client.get(f"{path}/history", headers=clerk).json()
            long_body = b'{"summary": "' + b"x" * 2_000_000 + b'"}'
            closing = {"outcome": "resolved", "note": "canary-note", "at": "1999-01-01T00:00:00Z"}
            stranger = {"Authorization": f"Bearer esc_{PHONE}"}  # a made-up token carrying a canary
            bad: list[tuple[str, str, object, dict[str, str]]] = [
                ("POST", "/api/disputes", ('{"summary": "' + NAME).encode(), clerk),
                ("POST", "/api/disputes", {**RECEIPT, "parties": NAME}, clerk),
                ("POST", "/api/disputes", {**RECEIPT, "nickname": NAME}, clerk),
                ("POST", "/api/disputes", {**RECEIPT, "summary": NAME + "\x01"}, clerk),
                ("POST", "/api/disputes", {**RECEIPT, "summary": NAME * 20_000}, clerk),
                ("POST", "/api/disputes", {**RECEIPT, "unit": "nowhere"}, clerk),
                ("POST", "/api/disputes", long_body, clerk),
                ("POST", "/api/disputes", RECEIPT, other),
                ("POST", f"{path}/mediate", {"outcome": NAME, "note": "canary-note"}, clerk),
                ("POST", f"{path}/close", closing, clerk),
                ("POST", f"{path}/escalate", {"reason": f"{NAME}\x1b[31m"}, clerk),
                ("GET", path, None, other),
                ("GET", f"{path}/papers/registration", None, other),
                ("GET", path, None, stranger),
            ]
            for method, where, body, headers in bad:
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                response = client.request(
                    method,
                    where,
                    content=content if body is not None else None,
                    headers={"content-type": "application/json", **headers},
                )
                assert 400 <= response.status_code < 500, (
                    method,
                    where,
                    body,
                    response.status_code,
                )
                assert response.headers["content-type"] == "application/problem+json"
                problems.append(response)
            after = client.get(f"{path}/history", headers=clerk).json()
            assert after == before  # the bad requests wrote nothing
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=25)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.stderr is not None
    assert process.stdout is not None
    logs = process.stderr.read().decode() + process.stdout.read().decode()
    assert '"event": "http.started"' in logs  # the service's own log lines were read
    assert '"event_name": "Received"' in logs
    for line in logs.splitlines():
        for canary in CANARIES:
            assert canary not in line, f"a log line carries personal data: {line[:120]}"
    for response in problems:
        text = json.dumps(response.json(), ensure_ascii=False)
        for canary in CANARIES:
            assert canary not in text, f"{response.request.url.path}: {text[:200]}"
