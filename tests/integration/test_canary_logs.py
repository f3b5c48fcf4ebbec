"""No personal data in any log line or error message, at debug level, whatever fails.

A canary name, phone number, ID number, address, summary, claim and note are
given to the demo's store, to failing commands of every kind and to an import
with bad lines; every line the processes write to stderr (their logs, as
JSON, and their error messages) is searched for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import SMALL_RULES

NAME = "欧阳金丝雀"
PHONE = "13700001234"
ID_NUMBER = "11010519491231002X"
CANARIES = (NAME, PHONE, ID_NUMBER, "金丝雀街7号", "canary-summary", "canary-claim", "canary-note")
SUMMARY = f"{NAME} {PHONE} {ID_NUMBER} canary-summary"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ESCALATION_LOG": "json", "ESCALATION_LOG_LEVEL": "debug"}
    return subprocess.run(
        [sys.executable, "-m", "escalation", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_no_canary_in_any_log_line_or_error_message(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'canary.db'}"
    common = ("--db", db, "--rules", str(rules))
    receipt = ("--unit", "c11", "--category", "family", "--source", "walk_in")
    personal = ("--summary", SUMMARY, "--claim", "canary-claim", "--location", "金丝雀街7号")
    runs = []
    first = cli(tmp_path, "receive", *receipt, *personal, "--request-id", "r-1", *common)
    assert first.returncode == 0, first.stderr
    dispute = first.stdout.split()[0]
    runs.append(first)
    failing = [
        # bad values next to personal ones: the message names fields, never the text
        ("receive", *receipt, "--summary", SUMMARY + "\x01", *common),
        ("receive", *receipt, "--summary", SUMMARY * 400, *common),
        (
            "receive",
            "--unit",
            "nowhere",
            "--category",
            "family",
            "--source",
            "walk_in",
            *personal,
            *common,
        ),
        (
            "receive",
            *receipt,
            "--summary",
            "another canary-summary",
            "--request-id",
            "r-1",
            *common,
        ),  # a reused request id with another payload
        (
            "mediate",
            dispute,
            "--outcome",
            "maybe",
            "--mediator",
            "m",
            "--note",
            "canary-note",
            *common,
        ),
        (
            "mediate",
            dispute,
            "--outcome",
            "failed",
            "--mediator",
            "m",
            "--note",
            "canary-note\x07",
            *common,
        ),
        (
            "close",
            dispute,
            "--outcome",
            "resolved",
            "--actor",
            "c",
            "--note",
            "canary-note",
            "--at",
            "1999-01-01T00:00:00+08:00",
            *common,
        ),
        ("escalate", dispute, "--reason", f"{NAME}\x1b[31m", "--actor", "c", *common),
        ("erase", dispute, "--reason", "x" * 300, "--actor", "dpo", *common),
    ]
    for args in failing:
        run = cli(tmp_path, *args)
        assert run.returncode != 0, args
        runs.append(run)
    ok = cli(
        tmp_path,
        "mediate",
        dispute,
        "--outcome",
        "failed",
        "--mediator",
        "m",
        "--note",
        "canary-note",
        *common,
    )
    assert ok.returncode == 0, ok.stderr
    runs.append(ok)
    lines = tmp_path / "import.jsonl"
    good = {
        "unit": "c11",
        "category": "family",
        "source": "walk_in",
        "summary": SUMMARY,
        "received_at": "2026-03-02T09:00:00+08:00",
        "request_id": "imp-1",
    }
    bad = {**good, "unit": "nowhere", "request_id": "imp-2"}
    lines.write_text(
        "\n".join(
            [
                json.dumps(good, ensure_ascii=False),
                json.dumps(bad, ensure_ascii=False),
                "{" + SUMMARY,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    runs.append(cli(tmp_path, "import", str(lines), *common))
    runs.append(cli(tmp_path, "import", str(lines), "--skip-invalid", *common))
    runs.append(cli(tmp_path, "tick", "--now", "2026-03-20T09:00:00+08:00", *common))
    runs.append(cli(tmp_path, "verify", *common))
    demo = cli(
        tmp_path,
        "demo",
        "--db",
        f"sqlite:///{tmp_path / 'escalation-demo.db'}",
        "--days",
        "2",
        "--per-day",
        "10",
    )
    assert demo.returncode == 0, demo.stderr
    runs.append(demo)
    logged = "\n".join(run.stderr for run in runs)
    assert '"level": "debug"' in logged or '"level":"debug"' in logged  # debug lines were on
    assert "error" in logged.lower()  # and the failures were reported
    for canary in CANARIES:
        assert canary not in logged, canary
