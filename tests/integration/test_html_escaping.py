"""Names from a rule book and text from people reach HTML and SVG only escaped.

A rule book whose tier, unit id and unit name carry ``<script>`` and an
attribute breaker is loaded, used, and every HTML report is written from it:
the period report, a dispute's audit report, the what-if report and a review.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from escalation import EscalationEngine
from escalation.entrypoints.cli import app
from escalation.policies.rulebook.book import RuleBook
from tests.helpers import SMALL_RULES, T0, hours

runner = CliRunner(env={"COLUMNS": "200"})

TIER = "<script>alert(1)</script>"
UNIT = "<script>unit()</script>"
NAME = '"onmouseover=alert(1) x="'
HOSTILE_RULES = (
    SMALL_RULES.replace("community", TIER)
    .replace("c11", UNIT)
    .replace("name: Street One", "name: '\"onmouseover=alert(1) x=\"'")
)


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def assert_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert NAME not in page


def test_every_html_report_escapes_rule_book_names_and_peoples_text(
    tmp_path: Path, db_url: str
) -> None:
    rules = RuleBook.from_yaml(HOSTILE_RULES, source="hostile.yaml")
    assert TIER in rules.tiers
    rules_file = tmp_path / "hostile.yaml"
    rules_file.write_text(HOSTILE_RULES, encoding="utf-8")
    with EscalationEngine(rules, url=db_url, clock=lambda: T0) as engine:
        did = engine.receive(
            unit=UNIT,
            category="family",
            source="walk_in",
            summary="<script>summary()</script>",
            location='"onmouseover=x',
            received_at=T0,
        )
        for n in (1, 2):
            engine.mediate(did, outcome="failed", mediator="<script>m</script>", at=T0 + hours(n))
        other = engine.receive(
            unit=UNIT, category="debt", source="walk_in", summary="<b>x</b>", received_at=T0
        )
        engine.close(other, outcome="agreement", actor="<script>a</script>", at=T0 + hours(3))
        engine.reopen(other, reason="<script>why</script>", actor=NAME, at=T0 + hours(4))
        engine.catch_up()
    common = ["--db", db_url, "--rules", str(rules_file)]

    period = tmp_path / "period.html"
    run("report", "--period", "2026-03", "--html", str(period), *common)
    assert_escaped(period.read_text(encoding="utf-8"))

    for name, ref in (("audit.html", did), ("reopened.html", other)):
        run("report", "--dispute", str(ref), "--html", str(tmp_path / name), *common)
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert_escaped(page)
        # The unit name, escaped (Jinja2 writes a quote as &#34;, html.escape as &quot;).
        assert "&#34;onmouseover=alert(1) x=&#34;" in page

    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(
        HOSTILE_RULES.replace("handle_within: 2 days", "handle_within: 1 day"), encoding="utf-8"
    )
    whatif = tmp_path / "whatif.html"
    run("simulate", "--rules", str(shorter), "--db", db_url, "--html", str(whatif))
    assert_escaped(whatif.read_text(encoding="utf-8"))

    out = tmp_path / "reviews"
    run("review", "daily", "--period", "2026-03-02", "--out", str(out), *common)
    assert_escaped((out / "daily-2026-03-02.html").read_text(encoding="utf-8"))
