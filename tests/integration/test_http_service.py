"""``escalation http``: serves on loopback, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import SMALL_RULES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_serving(base: str, process: subprocess.Popen[bytes], within: float = 30) -> None:
    """Wait for ``escalation http`` at ``base`` to answer; fail if it stops or is slow."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "escalation http did not start"
        time.sleep(0.1)


def test_http_serves_and_stops_cleanly_on_sigterm(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    cli = [sys.executable, "-c", "from escalation.entrypoints.cli import main; main()"]
    made = subprocess.run(
        [*cli, "tokens", "create", "--role", "platform", "--db", db_url, "--rules", str(rules)],
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    command = [*cli, "http", "--listen", f"127.0.0.1:{port}", "--db", db_url]
    command += ["--rules", str(rules)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process)
        queue = httpx.get(base + "/api/queue", headers={"Authorization": f"Bearer {token}"})
        assert queue.status_code == 200
        assert queue.json() == []
        assert httpx.get(base + "/api/queue").status_code == 401
        process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        code = process.wait(timeout=25)
        assert time.monotonic() - began < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read().decode()
