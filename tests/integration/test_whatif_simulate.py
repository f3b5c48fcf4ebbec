"""What-if against a real store: fidelity, read-only, streaming, CLI and reports."""

from __future__ import annotations

import hashlib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.demo import run_demo
from escalation.application.whatif.simulate import Simulation, simulate
from escalation.application.whatif.stream import LogReader
from escalation.bootstrap import open_log
from escalation.entrypoints.cli import app
from escalation.errors import InvalidInput, StorageError
from tests.helpers import SMALL_RULES, T0, hours

runner = CliRunner()
DEFAULT = RuleBook.default()
# The community's time limit cut from 5 workdays to 3.
SHORT_TEXT = DEFAULT.text.replace(
    "handle_within: {default: 5 workdays, high: 2 workdays}", "handle_within: 3 workdays", 1
)
assert DEFAULT.text != SHORT_TEXT


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten realistic days of a Luohu-sized district, recorded by the engine."""
    path = tmp_path_factory.mktemp("demo") / "live.db"
    with EscalationEngine(DEFAULT, url=f"sqlite:///{path}") as engine:
        run_demo(engine, date(2026, 9, 1), days=10, per_day=30, seed=11)
    return path


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(store_path: Path, rules: RuleBook, **kw: object) -> Simulation:
    store = open_log(url(store_path))
    try:
        return simulate(store, rules, **kw)  # type: ignore[arg-type]
    finally:
        store.close()


def test_simulating_with_the_recorded_rules_reproduces_every_decision(demo_db: Path) -> None:
    sim = run(demo_db, DEFAULT)
    c = sim.comparison
    assert sim.disputes > 200
    assert (c.changed, c.decisions_differ, c.skipped) == (0, 0, [])
    assert not c.notes  # no fact moved or dropped
    assert c.current == c.candidate
    assert c.current.stepwise > 0 and c.current.elevations > 0 and c.current.notices["reminder"] > 0
    assert set(c.versions) == {DEFAULT.version}


def test_a_shorter_community_limit_moves_work_to_the_streets(demo_db: Path) -> None:
    sim = run(demo_db, RuleBook.from_yaml(SHORT_TEXT, source="short.yaml"))
    c = sim.comparison
    assert c.changed > 0
    assert c.candidate.reached["street"] > c.current.reached["street"]
    assert c.candidate.settled_share("community") < c.current.settled_share("community")
    assert c.candidate.received_at == c.current.received_at  # the same disputes came in
    street_weeks = [w for w, t in c.candidate.weekly if t == "street"]
    assert sum(c.candidate.weekly[(w, "street")] for w in street_weeks) > sum(
        c.current.weekly[(w, "street")] for w in street_weeks
    )


def test_the_live_database_is_byte_for_byte_unchanged(demo_db: Path, tmp_path: Path) -> None:
    before = sha(demo_db)
    rules = tmp_path / "short.yaml"
    rules.write_text(SHORT_TEXT, encoding="utf-8")
    run(demo_db, RuleBook.from_yaml(SHORT_TEXT))
    out = tmp_path / "report.html"
    for extra in ([], ["--html", str(out)], ["--open-now", "--at", "2026-09-10T20:00+08:00"]):
        result = runner.invoke(
            app, ["simulate", "--rules", str(rules), "--db", url(demo_db), *extra]
        )
        assert result.exit_code == 0, result.output
    assert sha(demo_db) == before
    assert out.exists()


def test_streaming_with_a_tiny_memory_bound_gives_the_same_answer(demo_db: Path) -> None:
    candidate = RuleBook.from_yaml(SHORT_TEXT)
    whole = run(demo_db, candidate)
    store = open_log(url(demo_db))
    try:
        reader = LogReader(store, page_size=97, max_buffered=40)
        bounded = simulate(store, candidate, reader=reader)
    finally:
        store.close()
    assert reader.reread > 0  # the bound was hit: some disputes were read again
    assert bounded.comparison.current == whole.comparison.current
    assert bounded.comparison.candidate == whole.comparison.candidate
    assert bounded.comparison.changed == whole.comparison.changed


def test_parts_add_up_to_the_whole(demo_db: Path) -> None:
    candidate = RuleBook.from_yaml(SHORT_TEXT)
    whole = run(demo_db, candidate).comparison
    first, second = (run(demo_db, candidate, part=(i, 2)).comparison for i in (0, 1))
    assert 0 < first.current.disputes < whole.current.disputes
    first.merge(second)
    assert first.current == whole.current and first.candidate == whole.candidate
    assert first.changed == whole.changed


def test_dates_pick_disputes_and_the_horizon(demo_db: Path) -> None:
    zone_day = RuleBook.from_yaml(SHORT_TEXT)
    everything = run(demo_db, zone_day)
    early = run(demo_db, zone_day, end=T0.replace(year=2026, month=9, day=4, hour=16))
    assert 0 < early.disputes < everything.disputes
    assert early.window.horizon < everything.window.horizon
    with pytest.raises(InvalidInput, match="after the last event"):
        run(demo_db, zone_day, start=T0.replace(year=2027))


def test_cli_reports_and_html_links_to_timelines(demo_db: Path, tmp_path: Path) -> None:
    rules = tmp_path / "short.yaml"
    rules.write_text(SHORT_TEXT, encoding="utf-8")
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--rules",
            str(rules),
            "--db",
            url(demo_db),
            "--html",
            str(out),
            "--limit",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "would differ" in result.output and "reached 街道" in result.output
    page = out.read_text(encoding="utf-8")
    links = Anchors()
    links.feed(page)
    assert links.hrefs and set(links.hrefs) <= set(links.ids)  # every link lands on a timeline
    assert page.count("<svg") == 1 + len(DEFAULT.tiers)  # the funnel, one workload chart per tier
    assert "polyline" in page and "stroke-dasharray" in page
    same = runner.invoke(app, ["simulate", "--rules", str(DEFAULT.source), "--db", url(demo_db)])
    assert same.exit_code == 0 and "no differences" in same.output


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and (found.get("href") or "").startswith("#"):
            self.hrefs.append(str(found["href"])[1:])
        if found.get("id"):
            self.ids.append(str(found["id"]))


def test_one_dispute_side_by_side(tmp_path: Path) -> None:
    small = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    db = tmp_path / "small.db"
    with EscalationEngine(small, url=url(db), clock=lambda: T0) as engine:
        did = engine.receive(
            unit="c11", category="family", source="walk_in", summary="x", received_at=T0
        )
        engine.mediate(did, outcome="partial", mediator="m", at=T0 + hours(30))
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(
        SMALL_RULES.replace("handle_within: 2 days", "handle_within: 1 day"), encoding="utf-8"
    )
    result = runner.invoke(
        app, ["simulate", "--rules", str(shorter), "--db", url(db), "--dispute", str(did)]
    )
    assert result.exit_code == 0, result.output
    assert "tier reached: 社区 → 街道" in result.output  # the candidate's labels
    assert "[community/handle_within]" in result.output  # data is printed as text, not markup
    assert "Mediated" in result.output and "moved" in result.output


def test_bad_input_is_a_clear_error(demo_db: Path, tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(SHORT_TEXT, encoding="utf-8")
    base = ["simulate", "--rules", str(rules), "--db", url(demo_db)]
    cases = {
        "no dispute with id": ["--dispute", "00000000-0000-0000-0000-000000000001"],
        "is not a dispute id": ["--dispute", "nope"],
        "is not a date": ["--from", "2026-13-01"],
        "is not before": ["--from", "2026-09-05", "--to", "2026-09-01"],
    }
    for message, extra in cases.items():
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code != 0
        assert message in str(result.exception), (message, result.exception)
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SHORT_TEXT.replace("handle_within: 3 workdays", "handle_within: soon"), encoding="utf-8"
    )
    result = runner.invoke(app, ["simulate", "--rules", str(broken), "--db", url(demo_db)])
    assert "cannot read duration" in str(result.exception)
    with pytest.raises(StorageError, match="no database"):
        open_log(url(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()


def test_disputes_at_units_the_candidate_lacks_are_skipped_and_counted(demo_db: Path) -> None:
    lines = DEFAULT.text.splitlines(keepends=True)
    gone = [line for line in lines if "tier: community" in line and "{id:" in line][:20]
    candidate = RuleBook.from_yaml("".join(line for line in lines if line not in gone))
    sim = run(demo_db, candidate, keep=3)
    c = sim.comparison
    assert c.skipped_count > 3 and len(c.skipped) == 3  # all counted, a few listed
    assert c.current.disputes == c.candidate.disputes == sim.disputes - c.skipped_count
    assert all("is not in the rules" in note.detail for _, note in c.skipped)
    assert c.notes[("skipped", "Received")] == c.skipped_count
