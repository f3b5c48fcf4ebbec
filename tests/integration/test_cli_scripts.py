"""The CLI in scripts: ``receive --quiet`` prints the id alone; ``get --json`` prints codes."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from typer.testing import CliRunner

from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES

runner = CliRunner(env={"COLUMNS": "80"})


def test_receive_quiet_then_get_json(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules)]
    result = runner.invoke(
        app,
        [
            "receive",
            *("--unit", "c11", "--category", "family", "--source", "walk_in"),
            *("--summary", "漏水 SECRET", "--at", "2026-03-02T09:00:00+0800", "--quiet"),
            *common,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    dispute = UUID(result.output.strip())  # nothing but the id, whole
    assert result.output == f"{dispute}\n"

    result = runner.invoke(app, ["get", str(dispute), "--json", *common], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["id"] == str(dispute)
    assert (state["unit"], state["tier"], state["category"]) == ("c11", "community", "family")
    assert state["received_at"] == "2026-03-02T01:00:00+00:00"  # UTC for programs
    assert "SECRET" not in result.output
    assert "summary" not in state and "people" not in state

    result = runner.invoke(app, ["history", str(dispute), "--json", *common])
    events = [json.loads(line) for line in result.output.splitlines()]
    assert events[0]["event"] == "Received" and events[0]["dispute_id"] == str(dispute)
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert "SECRET" not in result.output and "summary" not in events[0]
    result = runner.invoke(app, ["queue", "c11", "--json", *common])
    (item,) = [json.loads(line) for line in result.output.splitlines()]
    assert (item["dispute_id"], item["category"]) == (str(dispute), "family")

    narrow = runner.invoke(app, ["queue", "c11", *common]).output  # 80 columns
    assert str(dispute) in narrow  # the id whole, on one line
    assert "婚姻家事纠纷" in narrow and "社区" in narrow  # labels, not codes
    assert all(len(line) <= 80 for line in narrow.splitlines())
    result = runner.invoke(app, ["audit", str(dispute), "--json", *common])
    audit = json.loads(result.output)
    assert audit["chain"]["ok"] is True
    assert [e["version"] for e in audit["events"]] == [e["version"] for e in events]
    result = runner.invoke(app, ["report", "--period", "2026-03", "--json", *common])
    figures = json.loads(result.output)
    assert (figures["received"], figures["period"]) == (1, "2026-03-01..2026-03-31")
    assert figures["received_by_category"] == {"family": 1}  # codes, for programs
    alias = runner.invoke(app, ["figures", "--period", "2026-03", "--json", *common])
    assert json.loads(alias.output) == figures  # `figures` is `report` by its other name


def test_times_people_read_carry_the_zones_offset(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules)]
    out = runner.invoke(
        app, ["tick", "--at", "2026-03-02T09:00:00+0800", *common], catch_exceptions=False
    ).output
    assert "tick at 2026-03-02 09:00:00 +08:00" in out  # as given, not echoed in UTC
    # --at takes what --as-of takes: a local time in the rule book's zone, or a date.
    out = runner.invoke(app, ["tick", "--at", "2026-03-02T10:00", *common]).output
    assert "tick at 2026-03-02 10:00:00 +08:00" in out
    out = runner.invoke(app, ["tick", "--at", "2026-03-02", *common]).output
    assert "tick at 2026-03-02 23:59:59 +08:00" in out
    out = runner.invoke(app, ["rules", "history", "--db", db_url], catch_exceptions=False).output
    assert "+08:00" in out
    assert "Z by" not in out


def test_export_checks_its_arguments_before_drawing_a_bar(db_url: str) -> None:
    for args, message in (
        (["--format", "xml"], "unknown format 'xml'"),
        (["--what", "queues"], "did you mean queue"),
        (["--what", "timeline"], "give --dispute ID"),
    ):
        result = runner.invoke(app, ["export", *args, "--db", db_url])
        assert result.exit_code != 0
        assert message in str(result.exception)
        assert "exporting" not in result.output  # no bar was drawn


def _two_sharing_a_prefix() -> tuple[str, str, str]:
    """Two request ids whose disputes' ids start alike (4 hex digits), and that prefix."""
    from escalation.policies.facts import dispute_id_for

    seen: dict[str, str] = {}
    n = 0
    while True:
        request = f"req-{n}"
        prefix = dispute_id_for(request).hex[:4]
        if prefix in seen:
            return seen[prefix], request, prefix
        seen[prefix] = request
        n += 1


def test_an_unambiguous_prefix_is_taken_where_an_id_is(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules)]
    first, second, shared = _two_sharing_a_prefix()
    ids = []
    for request in (first, second):
        out = runner.invoke(
            app,
            [
                "receive",
                *("--unit", "c11", "--category", "family", "--source", "walk_in"),
                *("--summary", "x", "--at", "2026-03-02T09:00:00+0800", "--quiet"),
                *("--request-id", request, *common),
            ],
            catch_exceptions=False,
        ).output
        ids.append(out.strip())
    one = ids[0]
    mine = one[: next(i for i in range(4, 36) if not ids[1].startswith(one[:i]))]
    result = runner.invoke(app, ["get", mine, "--json", *common], catch_exceptions=False)
    assert json.loads(result.output)["id"] == one
    result = runner.invoke(app, ["get", shared, *common])  # both start so
    assert result.exit_code != 0
    assert "ambiguous" in str(result.exception)
    assert ids[0] in str(result.exception) and ids[1] in str(result.exception)
    result = runner.invoke(app, ["get", "ffff0000", *common])
    assert "no dispute with an id starting 'ffff0000'" in str(result.exception)
    result = runner.invoke(  # a command of another module takes it too
        app, ["pause", mine, "--reason", "等待鉴定", "--actor", "lead", *common]
    )
    assert result.exit_code == 0, result.output
    assert one in result.output


def test_history_in_a_narrow_terminal_reads_whole_and_local(tmp_path: Path, db_url: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES, encoding="utf-8")
    common = ["--db", db_url, "--rules", str(rules)]
    dispute = runner.invoke(
        app,
        [
            "receive",
            *("--unit", "c11", "--category", "family", "--source", "walk_in"),
            *("--summary", "x", "--at", "2026-03-02T09:00:00+0800", "--quiet", *common),
        ],
        catch_exceptions=False,
    ).output.strip()
    runner.invoke(app, ["tick", "--at", "2026-03-03T12:00:00+0800", *common])
    out = runner.invoke(app, ["history", dispute[:8], *common], catch_exceptions=False).output
    assert f"history of {dispute}" in out
    assert "#1  2026-03-02 09:00 +08:00  Received  by intake" in out
    assert "+00:00" not in out  # the reasons' times read in the rule book's zone too
    assert "due 2026-03-04 09:00 +08:00" in out  # (the stored reason says 03-04T01:00+00:00)
