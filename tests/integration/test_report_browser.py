"""The audit report and the what-if page fit the screen, in a real browser.

Debian's Chromium, driven by Playwright as in ``test_console_browser`` (its
``browser`` fixture). Each generated file is loaded at 1280 and 900 px wide:
the page must not scroll sideways, and no "why" cell may cut its text off.
Screenshots go to ``build/screenshots/`` (or ``$ESCALATION_SCREENSHOTS``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.audit.report import dispute_report
from escalation.entrypoints.cli import app
from tests.helpers import SMALL_RULES, T0, hours
from tests.integration.test_console_browser import SHOTS, browser  # noqa: F401 - the fixture

runner = CliRunner(env={"COLUMNS": "200"})
WIDTHS = (1280, 900)
# Long text without a place to break, as people paste it (a link, a run of Chinese).
LONG_WHY = "https://example.org/" + "案情说明" * 60 + "/" + "x" * 300
LONG_NOTE = "调解记录" * 80 + "y" * 200


@pytest.fixture
def pages(small_rules: RuleBook, db_url: str, tmp_path: Path) -> dict[str, Path]:
    """An audit report with long reasons, and a what-if page of three changed disputes."""
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        ids = [
            engine.receive(
                unit="c11",
                category="family",
                source="walk_in",
                summary=f"第{n}件 " + LONG_NOTE,
                received_at=T0 + hours(n),
            )
            for n in range(3)
        ]
        for n, did in enumerate(ids):
            engine.mediate(
                did, outcome="partial", mediator="m", note=LONG_NOTE, at=T0 + hours(30 + n)
            )
        engine.close(ids[0], outcome="agreement", actor="clerk", at=T0 + hours(40))
        engine.reopen(ids[0], reason=LONG_WHY, actor="clerk", at=T0 + hours(41))
        engine.escalate(ids[0], reason=LONG_WHY, actor="clerk", at=T0 + hours(42))
        engine.catch_up()
        audit = tmp_path / "audit.html"
        audit.write_text(dispute_report(engine, ids[0]), encoding="utf-8")
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(
        SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day"), encoding="utf-8"
    )
    whatif = tmp_path / "whatif.html"
    result = runner.invoke(
        app, ["simulate", "--rules", str(shorter), "--db", db_url, "--html", str(whatif)]
    )
    assert result.exit_code == 0, result.output
    return {"audit": audit, "whatif": whatif}


def changed_listed(page: str) -> tuple[int, int]:
    """(rows in the changed-disputes table, timelines shown) of a what-if page."""
    table = re.search(r'<table class="changes">.*?</table>', page, re.DOTALL)
    assert table is not None
    return table.group(0).count('<a href="#d-'), page.count('<h3 id="d-')


def test_the_whatif_html_honours_limit(pages: dict[str, Path], db_url: str) -> None:
    rules = pages["whatif"].parent / "shorter.yaml"
    whole = pages["whatif"].read_text(encoding="utf-8")
    assert changed_listed(whole) == (3, 3)
    # Tiers and units as people read them (the rule book's labels); codes stay in --json.
    assert "reached 街道" in whole and "reached street" not in whole
    assert "<td>Community 1-1</td>" in whole
    # The timelines too: 婚姻家事纠纷 from 群众来访, not family from walk_in.
    assert "婚姻家事纠纷 from 群众来访 at 社区 c11, 1 party" in whole
    assert "family from walk_in" not in whole
    for limit in (1, 2):
        out = pages["whatif"].parent / f"whatif-{limit}.html"
        args = ["simulate", "--rules", str(rules), "--db", db_url, "--html", str(out)]
        result = runner.invoke(app, [*args, "--limit", str(limit)])
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")
        assert changed_listed(page) == (limit, limit)
        assert f"Changed disputes ({limit} of 3 listed)" in page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["audit", "whatif"])
def test_the_report_fits_the_screen(
    browser: Browser,  # noqa: F811 - the fixture imported above
    pages: dict[str, Path],
    name: str,
    width: int,
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(pages[name].as_uri())
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        fit = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.body.scrollWidth]"
        )
        assert fit[0] <= fit[1], f"{name} scrolls sideways at {width}px: {fit}"
        cells = page.evaluate(
            "() => Array.from(document.querySelectorAll('td.why'),"
            " td => [td.scrollWidth, td.clientWidth, td.textContent.length])"
        )
        assert cells, "the page has why cells"
        assert max(n for _, _, n in cells) > 200  # the long text is in them
        cut = [c for c in cells if c[0] > c[1]]
        assert not cut, f"{name} at {width}px cuts off why cells: {cut}"
        charts = page.evaluate(
            "() => Array.from(document.querySelectorAll('svg.chart'),"
            " s => s.getBoundingClientRect().right)"
        )
        assert charts and max(charts) <= width  # charts shrink to the page
    finally:
        page.close()
