"""The rule book's optional ``weak_signals`` section (thresholds of the reviews' 弱信号)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from escalation import RuleBook
from escalation.errors import RulesError
from tests.helpers import SMALL_RULES


def with_section(section: str) -> str:
    return SMALL_RULES + section


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_defaults_when_absent_and_values_when_given() -> None:
    book = RuleBook.from_yaml(SMALL_RULES)
    assert book.weak_signals.window == timedelta(days=7)
    assert (book.weak_signals.min_cluster, book.weak_signals.by) == (3, ("unit", "location"))
    custom = RuleBook.from_yaml(
        with_section("weak_signals:\n  window: 72 hours\n  min_cluster: 5\n  by: [location]\n")
    )
    assert custom.weak_signals.window == timedelta(hours=72)
    assert (custom.weak_signals.min_cluster, custom.weak_signals.by) == (5, ("location",))
    assert RuleBook.from_yaml(
        with_section("weak_signals: {window: 1 day}\n")
    ).weak_signals.window == (timedelta(days=1))


def test_the_version_of_a_book_without_the_section_is_unchanged() -> None:
    # The hash covers what decides; weak_signals only shapes the reviews, so a
    # book without the section hashes exactly as before the section existed.
    book = RuleBook.from_yaml(SMALL_RULES)
    data = book.to_dict()
    assert "weak_signals" not in data  # so to_dict loads back to the same version
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert book.version == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    # Setting it is a change of the rule book, and is versioned like one.
    changed = RuleBook.from_yaml(with_section("weak_signals: {min_cluster: 4}\n"))
    assert changed.version != book.version
    again = RuleBook.from_yaml(with_section("weak_signals: {min_cluster: 4}  # comment\n"))
    assert again.version == changed.version
    assert changed.to_dict()["weak_signals"]["min_cluster"] == 4


@pytest.mark.parametrize(
    ("section", "needle", "key", "message"),
    [
        (
            "weak_signals:\n  window: 5 workdays\n",
            "window:",
            "weak_signals.window",
            "write it in days or hours",
        ),
        (
            "weak_signals:\n  window: soon\n",
            "window:",
            "weak_signals.window",
            "cannot read duration",
        ),
        (
            "weak_signals:\n  min_cluster: 1\n",
            "min_cluster",
            "weak_signals.min_cluster",
            "at least 2",
        ),
        (
            "weak_signals:\n  min_cluster: three\n",
            "min_cluster",
            "weak_signals.min_cluster",
            "whole number",
        ),
        ("weak_signals:\n  by: [street]\n", "by:", "weak_signals.by[0]", "'unit' or 'location'"),
        ("weak_signals:\n  by: [unit, unit]\n", "by:", "weak_signals.by", "twice"),
        ("weak_signals:\n  by: []\n", "by:", "weak_signals.by", "at least one"),
        (
            "weak_signals:\n  windw: 3 days\n",
            "windw",
            "weak_signals.windw",
            "did you mean 'window'",
        ),
        ("weak_signals: 7 days\n", "weak_signals", "weak_signals", "expected a mapping"),
    ],
)
def test_bad_sections_are_reported_with_line_and_key(
    section: str, needle: str, key: str, message: str
) -> None:
    text = with_section(section)
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="tiers.yaml")
    report = str(caught.value)
    assert f"tiers.yaml:{line_of(text, needle)}: {key}: " in report
    assert message in report
