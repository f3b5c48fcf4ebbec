"""Hostile or mistaken rule books are refused quickly, naming the key (docs/rules.md "Limits")."""

from __future__ import annotations

import time

import pytest

from escalation.errors import RulesError
from escalation.policies import conditions
from escalation.policies.durations import MAX_AMOUNT
from escalation.policies.rulebook import RuleBook
from escalation.policies.rulebook.loader import MAX_ALIASES, MAX_DEPTH, MAX_NODES, MAX_TEXT_CHARS
from tests.unit.test_rulebook import BASE, line_of

# Nine levels of nine aliases each: 9**9 strings once expanded.
BOMB = (
    "["
    + ", ".join(
        ["&l0 [x, x, x, x, x, x, x, x, x]"]
        + [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    )
    + "]"
)


def refused(text: str, seconds: float = 2.0) -> tuple[int | None, str, str]:
    """The single problem ``text`` is refused with: (line, key, message), within ``seconds``."""
    start = time.perf_counter()
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    assert time.perf_counter() - start < seconds
    assert len(str(caught.value)) < 1000  # never an expanded value
    [(source, line, key, message)] = caught.value.problems
    assert source == "rules.yaml"
    return line, key, message


def test_an_alias_bomb_in_calendar_is_refused_without_expanding_it() -> None:
    text = BASE.replace("calendar: cn-workdays", f"calendar: {BOMB}")
    line, key, message = refused(text)
    assert (line, key) == (2, "calendar")
    assert "expands to more than 50,000 values through aliases" in message


def test_a_recursive_alias_is_refused() -> None:
    text = BASE.replace("calendar: cn-workdays", "calendar: &me [*me]")
    line, key, message = refused(text)
    assert (line, key) == (2, "calendar")
    assert "alias refers to itself" in message


def test_too_many_aliases_are_refused_at_the_first_one_over() -> None:
    uses = "\n".join("  - *cat" for _ in range(MAX_ALIASES + 1))
    text = BASE.replace("categories: [wage_arrears, other]", f"categories:\n  - &cat other\n{uses}")
    line, key, message = refused(text)
    assert key == "<yaml>"
    assert line == line_of(text, "categories:") + 2 + MAX_ALIASES
    assert f"more than {MAX_ALIASES} aliases" in message


def test_deep_nesting_is_refused() -> None:
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    _, key, message = refused(BASE.replace("calendar: cn-workdays", f"calendar: {deep}"))
    assert key == "<yaml>"
    assert f"nested more than {MAX_DEPTH} deep" in message


def test_text_longer_than_the_cap_is_refused_before_parsing() -> None:
    line, key, message = refused(BASE + "#" * MAX_TEXT_CHARS)
    assert (line, key) == (None, "<file>")
    assert "longer than 4,194,304 characters" in message


def test_a_long_value_is_echoed_truncated() -> None:
    text = BASE.replace("calendar: cn-workdays", f"calendar: {'z' * 100_000}")
    line, key, message = refused(text)
    assert (line, key) == (2, "calendar")
    assert message.startswith("got 'zzz") and len(message) < 200
    assert "expected 'cn-workdays' or 'calendar-days'" in message


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("99999999999 days", "99999999999 days is too long: a time limit is at most 731 days"),
        ("521 workdays", "at most 520 workdays (two years)"),
        ("17545 hours", "at most 17,544 hours"),
        ("0 days", "must be a positive integer"),
        ("-3 days", "must be a positive integer"),
        (f"{'9' * 5000} days", "cannot read duration '9999"),
    ],
)
def test_durations_are_capped(written: str, fragment: str) -> None:
    text = BASE.replace("handle_within: 15 workdays", f"handle_within: {written}")
    line, key, message = refused(text)
    assert (line, key) == (
        line_of(text, "handle_within: " + written[:20]),
        "tiers[1].handle_within",
    )
    assert fragment in message


def test_durations_at_the_cap_load() -> None:
    for unit, most in MAX_AMOUNT.items():
        book = RuleBook.from_yaml(BASE.replace("15 workdays", f"{most} {unit}"))
        assert book.tier("street").handle_within.amount == most


def test_weak_signal_window_is_capped() -> None:
    text = BASE + "weak_signals: {window: 1000 days}\n"
    _, key, message = refused(text)
    assert key == "weak_signals.window"
    assert "at most 731 days" in message


# --- the cost budget of a condition --------------------------------------------

TEN = "[1,2,3,4,5,6,7,8,9,10]"
QUARTIC = f"{TEN}.map(a, {TEN}.map(b, {TEN}.map(c, {TEN}.map(d, a+b+c+d)))).size() > 0"


def with_condition(condition: str) -> str:
    return BASE.replace("'risk == \"high\"'", "'" + condition + "'")


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        (QUARTIC, "macros (all, exists, exists_one, map, filter) are nested 4 deep"),
        (
            f"{TEN}.exists(a, {TEN}.exists(b, {TEN}.exists(c, a + b + c == parties)))",
            "nested 3 deep in the condition (at most 2)",
        ),
        ("parties>1||" * 80 + "true", "the condition has 321 tokens (at most 300)"),
        ("parties >= " + "1" * 2000, "the condition is 2,011 characters long (at most 1,000)"),
        ("(" * 40 + "true" + ")" * 40, "brackets are nested more than 32 deep"),
        (
            " || ".join(f"[1].exists(x{i}, x{i} == parties)" for i in range(11)),
            "the condition calls 11 macros",
        ),
    ],
)
def test_conditions_over_the_static_budget_are_refused_quickly(
    condition: str, fragment: str
) -> None:
    text = with_condition(condition)
    line, key, message = refused(text, seconds=1.0)
    assert (line, key) == (line_of(text, "high-risk"), "elevate[0].when")
    assert fragment in message
    assert condition[:30] not in message  # the condition is not echoed


def test_nested_and_chained_macros_within_the_budget_load() -> None:
    for condition in (
        f"{TEN}.exists(a, {TEN}.exists(b, a + b == parties))",
        f"{TEN}.map(x, x * 2).filter(y, y > 4).exists(z, z == parties)",
    ):
        assert RuleBook.from_yaml(with_condition(condition)).elevate_rules


def test_a_condition_slow_on_the_sample_dispute_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conditions, "MAX_TRIAL_SECONDS", 0.0)
    text = with_condition(f"{TEN}.exists(a, {TEN}.exists(b, a + b == parties))")
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    # With no time at all, every rule is too slow: each is named on its own line.
    problems = {key: (line, message) for _, line, key, message in caught.value.problems}
    assert set(problems) == {"risk[0].when", "elevate[0].when", "routing[0].when"}
    line, message = problems["elevate[0].when"]
    assert line == line_of(text, "high-risk")
    assert "on a sample dispute (at most 0.0 s" in message


def test_a_long_name_is_echoed_truncated() -> None:
    name = "t" * 100_000
    text = BASE.replace("to: district", f"to: {name}")
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    problems = caught.value.problems
    # Too long for its column, and no such tier: both named, neither echoes it whole.
    assert [(line, key) for _, line, key, _ in problems] == [
        (line_of(text, "high-risk"), "elevate[0].to")
    ] * 2
    messages = [message for *_, message in problems]
    assert "a tier id has at most 32" in messages[0]
    assert messages[1].startswith("unknown tier 'ttt")
    assert all("..." in m and len(m) < 200 for m in messages)


def test_aliases_that_nest_past_the_depth_cap_are_refused_without_recursion() -> None:
    # Each anchor is 45 deep and holds the one before: 450 deep once expanded,
    # past Python's own stack if anything walked it recursively.
    anchors, previous = [], "x"
    for index in range(10):
        anchors.append(f"&a{index} " + "[" * 45 + previous + "]" * 45)
        previous = f"*a{index}"
    text = BASE.replace("calendar: cn-workdays", f"calendar: [{', '.join(anchors)}]")
    line, key, message = refused(text)
    assert (line, key) == (2, "calendar")
    assert f"nests lists and mappings more than {MAX_DEPTH} deep through aliases" in message


def test_reading_stops_at_the_node_cap() -> None:
    # 4 MiB of such a list would take PyYAML over a minute to read through.
    text = BASE + "junk: [" + "1," * (MAX_NODES + 10) + "1]\n"
    line, key, message = refused(text, seconds=6.0)  # about 1.5 s
    assert (line, key) == (line_of(text, "junk:"), "<yaml>")
    assert message == f"more than {MAX_NODES:,} values; a real rule book is far smaller"
