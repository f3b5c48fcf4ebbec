"""The reviews: a daily review of a seeded demo period against hand counts, weak signals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from escalation import EscalationEngine, RuleBook
from escalation.application.demo import run_demo
from escalation.application.periods import Period
from escalation.application.reviews import (
    Intake,
    Review,
    build_review,
    find_weak_signals,
    period_label,
    previous_period,
    render_markdown,
    write_review,
)
from escalation.errors import InvalidInput
from escalation.policies.rulebook import WeakSignals
from projections.disputes import disputes
from tests.helpers import SMALL_RULES, T0

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 9, 7)  # the reviewed day: day 7 of a demo from 1 September
RESOLUTIONS = {"resolved", "agreement", "judicial_confirmation"}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


# The shipped rule book with short district and street limits, so that a week
# also produces stepwise arrivals at the district and overdue district cases.
def demo_rules() -> RuleBook:
    text = RuleBook.default().text
    text = text.replace(
        "handle_within: {default: 15 workdays, high: 3 workdays}", "handle_within: 3 workdays"
    )
    text = text.replace(
        "handle_within: {default: 30 workdays, high: 10 workdays}", "handle_within: 2 workdays"
    )
    # Three similar disputes (not four) through three channels make a weak signal here.
    text = text.replace("  min_cluster: 4\n", "  min_cluster: 3\n")
    assert "min_cluster: 3" in text and "min_sources: 3" in text
    return RuleBook.from_yaml(text, source="demo-short.yaml")


@pytest.fixture(scope="module")
def demo(
    module_new_db_url: Callable[[], str],
) -> Iterator[tuple[EscalationEngine, dict[str, list[UUID]]]]:
    engine = EscalationEngine(demo_rules(), url=module_new_db_url())
    run_demo(engine, date(2026, 9, 1), days=8, per_day=12, seed=11)
    planted: dict[str, list[UUID]] = {"location": [], "unit": [], "below": [], "high": []}

    channels = ("grid_patrol", "hotline_12345", "petition")

    def plant(
        key: str, unit: str, category: str, location: str, at: datetime, parties: int = 2
    ) -> None:
        did = engine.receive(
            unit=unit,
            category=category,
            source=channels[len(planted[key]) % 3],
            summary="planted",
            parties=parties,
            location=location,
            received_at=at,
            request_id=f"planted-{uuid4()}",
        )
        planted[key].append(did)

    # Same category at the same place, registered at three different units.
    for n, unit in enumerate(("huangbei-c01", "huangbei-c02", "cuizhu-c01")):
        plant(
            "location", unit, "neighbour", "PLANTED-幸福里工地", local(DAY - timedelta(2 - n), 10)
        )
    # Same category at the same unit, at three different places.
    for n in range(3):
        plant(
            "unit",
            "huangbei-c05",
            "land",
            f"PLANTED-地块-{n}",
            local(DAY - timedelta(4 - 2 * n), 11),
        )
    # Two only: below the threshold.
    for n in range(2):
        plant("below", "donghu-c01", "medical", "PLANTED-医院", local(DAY - timedelta(n), 15))
    # Mass wage arrears (high risk, elevated to the district): one long overdue there.
    plant("high", "sungang-c01", "wage_arrears", "PLANTED-工厂", local(date(2026, 9, 2), 10), 40)
    plant("high", "sungang-c02", "wage_arrears", "PLANTED-工地", local(DAY, 9), 35)
    engine.tick(local(date(2026, 9, 8), 20))  # the planted ones are brought up to date too
    yield engine, planted
    engine.shutdown()


def hand_count(engine: EscalationEngine, day: date) -> dict[str, Any]:
    """The day's figures from each dispute's own history, independently of the projections."""
    start = datetime.combine(day, time(0), ZONE).astimezone(UTC)
    end = start + timedelta(days=1)
    as_of = end - timedelta(microseconds=1)
    with engine.store.recorder.datastore.transaction(commit=False) as session:  # type: ignore[attr-defined]
        ids = [row.id for row in session.execute(select(disputes.c.id))]
    c: dict[str, Any] = {
        "source": Counter(),
        "category": Counter(),
        "received_at": Counter(),
        "arrived_at": Counter(),
        "closed_at": Counter(),
        "resolved_at": Counter(),
        "unit_closed": Counter(),
        "unit_resolved": Counter(),
        "unit_on_time": Counter(),
        "unit_visits": Counter(),  # tier visits that ended at the unit
        "unit_handled": Counter(),  # closures not declined, and escalations out
        "notices": Counter(),
        "unit_notices": {},
        "open_at": Counter(),
        "overdue": set(),
        "high": set(),
    }
    for did in ids:
        events = engine.history(did)
        for e in events:
            if not start <= e.occurred_at < end:
                continue
            name, v = type(e).__name__, vars(e)
            if name == "Received":
                c["source"][v["source"]] += 1
                c["category"][v["category"]] += 1
                c["received_at"][v["tier"]] += 1
            elif name == "Escalated":
                c["arrived_at"][v["to_tier"]] += 1
                c["unit_visits"][v["from_unit"]] += 1
                c["unit_handled"][v["from_unit"]] += 1
                if not str(v["rule_id"] or "").endswith("/handle_within"):  # left in time
                    c["unit_on_time"][v["from_unit"]] += 1
            elif name == "Closed":
                c["closed_at"][v["tier"]] += 1
                c["unit_closed"][v["unit"]] += 1
                c["unit_visits"][v["unit"]] += 1
                if v["outcome"] != "declined":
                    c["unit_handled"][v["unit"]] += 1
                if v["outcome"] in RESOLUTIONS:
                    c["resolved_at"][v["tier"]] += 1
                    c["unit_resolved"][v["unit"]] += 1
                due = engine.state_at(did, e.occurred_at).due_at
                if due is None or e.occurred_at <= due:
                    c["unit_on_time"][v["unit"]] += 1
            elif name == "Supervised":
                c["notices"][v["notice"]] += 1
                c["unit_notices"].setdefault(v["unit"], Counter())[v["notice"]] += 1
        if events[0].occurred_at > as_of:
            continue
        state = engine.state_at(did, as_of)
        if state.status == "open":
            c["open_at"][state.tier] += 1
            if state.due_at is not None and state.due_at < as_of:
                c["overdue"].add((did, state.unit))
            if state.risk == "high":
                c["high"].add((did, state.unit))
    return c


def test_daily_review_of_a_demo_day_matches_hand_counts(
    demo: tuple[EscalationEngine, dict[str, list[UUID]]], tmp_path: Path
) -> None:
    engine, planted = demo
    review = build_review(engine, "daily", Period(DAY, DAY))
    expected = hand_count(engine, DAY)
    f = review.figures

    # The day is busy enough for every comparison below to mean something.
    assert f.received >= 8 and sum(expected["closed_at"].values()) >= 3
    assert expected["arrived_at"]["district"] >= 1 and expected["overdue"] and expected["high"]
    assert sum(expected["notices"].values()) >= 3

    assert f.received_by_source == expected["source"]
    assert f.received_by_category == expected["category"]
    for tier in engine.rules.tiers:  # the funnel community → street → district
        assert f.handled_at(tier) == expected["received_at"][tier] + expected["arrived_at"][tier]
        assert f.closed_at_tier[tier] == expected["closed_at"][tier]
        assert f.resolved_at_tier[tier] == expected["resolved_at"][tier]
        assert review.open_by_tier[tier] == expected["open_at"][tier]
    for unit, visits in expected["unit_visits"].items():
        u = f.units[unit]
        handled = expected["unit_handled"][unit]
        assert u.resolution_rate == (expected["unit_resolved"][unit] / handled if handled else None)
        assert u.on_time_rate == expected["unit_on_time"][unit] / visits
    assert any(u.escalated_out for u in f.units.values())  # escalations out are counted
    assert {u.unit for u in f.units.values() if u.closed} == set(expected["unit_closed"])
    assert {(c.dispute_id, c.unit) for c in review.overdue} == expected["overdue"]
    assert {(c.dispute_id, c.unit) for c in review.high_risk} == expected["high"]
    assert {c.dispute_id for c in review.high_risk} >= set(planted["high"])
    assert planted["high"][0] in {c.dispute_id for c in review.overdue}
    assert f.notices == expected["notices"]
    assert review.notices_by_unit == expected["unit_notices"]

    # Weak signals: both planted clusters are flagged, the pair below the threshold is not.
    signals = {(s.by, s.key, s.category): s for s in review.weak_signals}
    by_place = signals[("location", "PLANTED-幸福里工地", "neighbour")]
    assert set(by_place.disputes) == set(planted["location"]) and by_place.peak == 3
    assert by_place.units == ("cuizhu-c01", "huangbei-c01", "huangbei-c02")
    by_unit = signals[("unit", "huangbei-c05", "land")]
    assert set(by_unit.disputes) >= set(planted["unit"])
    assert not any(s.key == "PLANTED-医院" for s in review.weak_signals)
    assert not any(s.key == "donghu-c01" and s.category == "medical" for s in review.weak_signals)

    md_path, html_path = write_review(review, tmp_path)
    assert md_path.name == "daily-2026-09-07.md" and html_path.name == "daily-2026-09-07.html"
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# 日研判 daily review 2026-09-07")
    assert f"| received 登记受理 | {f.received} |" in md
    for c in review.high_risk + review.overdue:
        assert f"| {c.dispute_id} | {c.unit} {c.unit_name} | {c.tier} |" in md
    assert "| neighbour | location | PLANTED-幸福里工地 | 3 | 3 |" in md
    assert "类案治理" in md and "planted" not in md  # no summaries in a review
    page = html_path.read_text(encoding="utf-8")
    assert page.count("<svg") >= 4 and "PLANTED-幸福里工地" in page
    assert "planted" not in page
    # With the rule book's labels, people read names; the ids stay whole.
    labelled = write_review(review, tmp_path / "labelled", engine.rules.label)[0]
    md = labelled.read_text(encoding="utf-8")
    assert "| 邻里纠纷 | location | PLANTED-幸福里工地 | 3 | 3 |" in md
    for c in review.high_risk:
        tier = engine.rules.label("tiers", c.tier)
        assert f"| {c.dispute_id} | {c.unit} {c.unit_name} | {tier} |" in md


def test_a_weekly_review_adds_the_backlog_chart(
    demo: tuple[EscalationEngine, dict[str, list[UUID]]],
) -> None:
    engine, _ = demo
    review = build_review(engine, "weekly", "2026-W36")
    assert review.period == Period(date(2026, 8, 31), date(2026, 9, 6))
    assert len(review.days) == 7 and len(review.backlog) == 7
    assert review.figures.received == sum(
        build_review(engine, "daily", Period(d, d)).figures.received for d in review.days
    )
    assert review.stem == "weekly-2026-W36"


# ---------------------------------------------------------------- weak signals


def intake(
    n: int,
    at: datetime,
    unit: str = "u1",
    category: str = "land",
    location: str = "",
    source: str = "",
) -> Intake:
    return Intake(UUID(int=n), category, unit, location, at, source or f"s{n}")


SETTINGS = WeakSignals(window=timedelta(days=7), min_cluster=3, by=("unit", "location"))
START, END = T0, T0 + timedelta(days=1)


def test_weak_signal_windows_thresholds_and_groupings() -> None:
    day = timedelta(days=1)
    inside = [intake(1, T0 - 6 * day), intake(2, T0 - 3 * day), intake(3, T0 + timedelta(hours=2))]
    (signal,) = find_weak_signals(inside, SETTINGS, START, END, {UUID(int=3)})
    assert (signal.by, signal.key, signal.category, signal.size, signal.peak) == (
        "unit",
        "u1",
        "land",
        3,
        3,
    )
    assert (signal.first, signal.last, signal.open, signal.units) == (
        T0 - 6 * day,
        T0 + timedelta(hours=2),
        1,
        ("u1",),
    )

    # Exactly a window apart is not "within" it.
    spread = [intake(1, T0 - 7 * day), intake(2, T0 - 3 * day), intake(3, T0)]
    assert find_weak_signals(spread, SETTINGS, START, END) == []
    # A cluster that ended before the period is not news in it.
    old = [intake(n, T0 - timedelta(days=3, hours=n)) for n in range(1, 4)]
    assert find_weak_signals(old, SETTINGS, START, END) == []
    # Other categories and other units do not count toward a cluster.
    mixed = [intake(1, T0, category="debt"), intake(2, T0, unit="u2"), intake(3, T0)]
    assert find_weak_signals(mixed, SETTINGS, START, END) == []
    # A location cluster across units; grouping by unit only does not see it.
    place = [intake(n, T0, unit=f"u{n}", location="工地A") for n in range(1, 4)]
    (by_place,) = find_weak_signals(place, SETTINGS, START, END)
    assert (by_place.by, by_place.key, by_place.units) == ("location", "工地A", ("u1", "u2", "u3"))
    only_unit = WeakSignals(SETTINGS.window, 3, ("unit",))
    assert find_weak_signals(place, only_unit, START, END) == []
    # Blank locations never cluster.
    blank = [intake(n, T0, unit=f"u{n}", location="  ") for n in range(1, 4)]
    assert find_weak_signals(blank, SETTINGS, START, END) == []
    # The threshold comes from the settings.
    four = WeakSignals(SETTINGS.window, 4, ("unit",))
    assert find_weak_signals(inside, four, START, END) == []
    # The union of overlapping windows is one flagged cluster, peak the densest window.
    chain = [intake(n, T0 - timedelta(days=12 - 3 * n)) for n in range(5)]  # every 3 days
    (long,) = find_weak_signals(chain, SETTINGS, T0 - timedelta(days=6), END)
    assert long.size == 5 and long.peak == 3


def test_weak_signals_can_require_several_channels() -> None:
    through_three = WeakSignals(SETTINGS.window, 3, ("unit",), min_sources=3)
    # Three patrol reports from one community are routine work, not a signal.
    patrols = [intake(n, T0, source="grid_patrol") for n in range(1, 4)]
    assert find_weak_signals(patrols, through_three, START, END) == []
    # The same matter by patrol, hotline and petition is.
    channels = ("grid_patrol", "hotline_12345", "petition")
    mixed = [intake(n, T0, source=channels[n - 1]) for n in range(1, 4)]
    (signal,) = find_weak_signals(mixed, through_three, START, END)
    assert signal.sources == ("grid_patrol", "hotline_12345", "petition")
    # Two channels are not enough for three; the window's own disputes count, not the group's.
    two = [*patrols[:2], intake(3, T0, source="hotline_12345")]
    assert find_weak_signals(two, through_three, START, END) == []
    # The demo's rule book asks for three channels and four disputes.
    assert (
        RuleBook.default().weak_signals.min_sources,
        RuleBook.default().weak_signals.min_cluster,
    ) == (3, 4)


# -------------------------------------------------------------------- periods


def test_previous_periods_and_labels() -> None:
    wednesday = date(2026, 4, 1)
    assert previous_period("daily", wednesday) == Period(date(2026, 3, 31), date(2026, 3, 31))
    assert previous_period("weekly", wednesday) == Period(date(2026, 3, 23), date(2026, 3, 29))
    assert previous_period("monthly", wednesday) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert previous_period("quarterly", wednesday) == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert previous_period("quarterly", date(2026, 1, 15)) == Period(
        date(2025, 10, 1), date(2025, 12, 31)
    )
    assert previous_period("monthly", date(2026, 1, 1)) == Period(
        date(2025, 12, 1), date(2025, 12, 31)
    )
    with pytest.raises(InvalidInput, match="unknown review 'hourly'"):
        previous_period("hourly", wednesday)
    for text, label in (
        ("2026-09-03", "2026-09-03"),
        ("2026-W36", "2026-W36"),
        ("2026-09", "2026-09"),
        ("2026-Q3", "2026-Q3"),
        ("2026-12", "2026-12"),
        ("2026-09-01..2026-09-10", "2026-09-01_2026-09-10"),
        ("2026-02-01..2026-04-30", "2026-02-01_2026-04-30"),
    ):
        assert period_label(Period.parse(text)) == label


# ------------------------------------------------------------------------ CLI


def test_review_command_writes_both_files(
    small_rules: RuleBook, tmp_path: Path, db_url: str
) -> None:
    from escalation.entrypoints.cli import app

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SMALL_RULES, encoding="utf-8")
    db = db_url
    with EscalationEngine(small_rules, url=db) as engine:
        for n in range(3):
            engine.receive(
                unit="c11",
                category="debt",
                source="walk_in",
                summary="SECRET",
                location="菜市场",
                received_at=T0 + timedelta(hours=n),
            )
    out = tmp_path / "reviews"
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["review", "daily", "--period", "2026-03-02", "--out", str(out), "--db", db]
    result = runner.invoke(app, [*args, "--rules", str(rules_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "received 3" in result.stdout and "weak signals 2" in result.stdout
    md = (out / "daily-2026-03-02.md").read_text(encoding="utf-8")
    assert "## Weak signals 弱信号 (2)" in md and "SECRET" not in md
    assert (out / "daily-2026-03-02.html").read_text(encoding="utf-8").count("<svg") >= 3
    bad = runner.invoke(app, ["review", "hourly", "--db", db, "--rules", str(rules_file)])
    assert bad.exit_code != 0 and "unknown review 'hourly'" in str(bad.exception)


def test_render_markdown_escapes_table_cells(
    demo: tuple[EscalationEngine, dict[str, list[UUID]]],
) -> None:
    engine, _ = demo
    review: Review = build_review(engine, "daily", Period(DAY, DAY))
    review.weak_signals[0] = type(review.weak_signals[0])(
        **{**vars(review.weak_signals[0]), "by": "location", "key": "A|B"}
    )
    assert "| A\\|B |" in render_markdown(review)
