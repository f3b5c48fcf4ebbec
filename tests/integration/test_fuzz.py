"""Arbitrary text through every command and every text output.

The property: a command either succeeds, and then everything that shows the
dispute renders without an exception (HTML with no unescaped ``<script``), or
it fails with an ``EscalationError`` (on the command line: a one-line
``error:``, exit 2) -- never another exception. Both outcomes are accepted for
any input, so refusing control characters or over-long text keeps it valid.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner, Result

from escalation import EscalationEngine, RuleBook
from escalation.application.audit.export import export as export_records
from escalation.application.audit.report import dispute_report
from escalation.application.figures_report import figures_table, period_html, units_table
from escalation.entrypoints.cli import app, main, print_error
from escalation.errors import EscalationError
from tests.helpers import SMALL_RULES, T0, hours

T = TypeVar("T")
FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NASTY = [
    "[/red]",
    "[/]",
    "[bold]x",
    "<script>alert(1)</script>",
    '"onmouseover=alert(1) x="',
    "\x00",
    "\x1b[31mred\x1b[0m\r\n\t",
    "\\",
    "]]>",
    "--help",
    "",
    " ",
]
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(NASTY),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=50)),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "<", "[/]", "界", "\x07"]),
              st.integers(1_000, 20_000)),
)  # fmt: skip
UNSAFE = re.compile(r"<script", re.IGNORECASE)


def attempt(command: Callable[[], T]) -> T | None:
    """The command's answer, or None when it is refused with an EscalationError."""
    try:
        return command()
    except EscalationError as exc:
        print_error(exc, Console(file=io.StringIO(), width=200))
        return None


def rendered(*renderables: object) -> str:
    out = Console(file=io.StringIO(), width=200, color_system="truecolor")
    for r in renderables:
        out.print(r)
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue()


def assert_safe_html(page: str) -> None:
    assert not UNSAFE.search(page), "unescaped <script in HTML"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EscalationEngine]:
    rules = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    with EscalationEngine(rules, url=url, clock=lambda: T0 + hours(50)) as built:
        yield built


@FUZZ
@given(a=texts, b=texts, c=texts, d=texts)
def test_the_python_api_takes_any_text(
    engine: EscalationEngine, a: str, b: str, c: str, d: str
) -> None:
    for unit, category in ((a, "family"), ("c11", b), ("c11", "family")):
        did = attempt(
            lambda unit=unit, category=category: engine.receive(
                unit=unit, category=category, source="walk_in", summary=a, location=b,
                received_at=T0, actor=c,
            )
        )  # fmt: skip
        if did is not None:
            break
    if did is None:
        return
    attempt(lambda: engine.mediate(did, outcome="failed", mediator=c, note=d, at=T0 + hours(1)))
    attempt(lambda: engine.escalate(did, reason=d, actor=a, at=T0 + hours(2)))
    attempt(lambda: engine.supervise(did, notice="warning", actor=b, reason=c, at=T0 + hours(3)))
    attempt(lambda: engine.close(did, outcome=a, actor=b, note=c, at=T0 + hours(4)))
    attempt(lambda: engine.close(did, outcome="agreement", actor=b, note=c, at=T0 + hours(4)))
    attempt(lambda: engine.reopen(did, reason=d, actor=a, at=T0 + hours(5)))
    for ref in (a, str(did)):
        attempt(lambda ref=ref: engine.get(ref))
        attempt(lambda ref=ref: engine.history(ref))
    attempt(lambda: engine.queue(unit=a))
    attempt(lambda: engine.queue(tier=b))
    engine.catch_up()
    assert_safe_html(dispute_report(engine, did))
    for what in ("events", "timeline", "queue"):
        for fmt in ("jsonl", "csv"):
            attempt(
                lambda what=what, fmt=fmt: export_records(
                    engine, io.StringIO(), format=fmt, what=what,  # type: ignore[arg-type]
                    dispute=did if what == "timeline" else None,
                )
            )  # fmt: skip
    figures = engine.figures("2026-03")
    days, series = engine.backlog("2026-03")
    assert_safe_html(period_html(figures, f"figures {a}", days, series))
    rendered(figures_table(figures, f"figures {a}"), units_table(figures))


runner = CliRunner(env={"COLUMNS": "200"})


def exit_code(*args: str) -> int:
    """Run ``escalation ARGS`` through its real entry point; its exit code."""
    argv, sys.argv = sys.argv, ["escalation", *args]
    try:
        main()
    except SystemExit as stop:
        return int(stop.code or 0)
    finally:
        sys.argv = argv
    return 0


def cli(*args: str) -> Result:
    """Run a command; it succeeds, or stops with an EscalationError or a usage error."""
    result = runner.invoke(app, list(args))
    if result.exit_code == 0:
        return result
    if isinstance(result.exception, SystemExit):  # click refused the arguments (usage)
        assert result.exit_code == 2, result.output
        return result
    assert isinstance(result.exception, EscalationError), f"{args[0]} raised {result.exception!r}"
    out = Console(file=io.StringIO(), width=200)
    print_error(result.exception, out)
    assert isinstance(out.file, io.StringIO)
    printed = out.file.getvalue()
    assert printed.startswith("error: ")
    assert printed.count("\n") == 1 or "\n" in str(
        result.exception
    )  # one line, unless the message has several
    return result


@FUZZ
@given(a=texts, b=texts, c=texts)
def test_the_command_line_takes_any_text(tmp_path: Path, a: str, b: str, c: str) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SMALL_RULES, encoding="utf-8")
    common = ["--db", f"sqlite:///{tmp_path / 'fuzz.db'}", "--rules", str(rules_file)]
    at = "2026-03-02T09:00:00+0800"
    received = cli(
        "receive", "--unit", "c11", "--category", "family", "--source", "walk_in",
        "--summary", a, "--claim", b, "--location", c, "--at", at, *common,
    )  # fmt: skip
    cli("receive", "--unit", a, "--category", b, "--source", c, "--summary", "x", *common)
    cli("queue", a, *common)
    cli("history", b, *common)
    cli("rules", "show", c, *common[:2])
    # The real entry point: exit 2, no traceback. After "--", `a` is the dispute
    # argument whatever it looks like ("--help" included).
    assert exit_code("get", *common, "--", a) == 2
    if received.exit_code != 0:
        return
    did = received.output.split()[0]
    UUID(did)
    cli("close", did, "--outcome", "agreement", "--actor", b, "--note", c, *common)
    cli("reopen", did, "--reason", a, "--actor", c, *common)
    for command in ("get", "history", "audit"):
        cli(command, did, *common)
    page = tmp_path / "audit.html"
    cli("report", "--dispute", did, "--html", str(page), *common)
    assert_safe_html(page.read_text(encoding="utf-8"))
    period = tmp_path / "period.html"
    cli("report", "--period", "2026-03", "--html", str(period), *common)
    assert_safe_html(period.read_text(encoding="utf-8"))
    cli("queue", "c11", "--as-of", str((T0 + timedelta(hours=1)).date()), *common)
    cli("export", "--what", "timeline", "--dispute", did, "--format", "csv", *common)
    cli("simulate", "--rules", str(rules_file), *common[:2], "--dispute", did)
    cli("simulate", "--rules", str(rules_file), *common[:2], "--dispute", a)
