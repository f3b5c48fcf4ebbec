"""CEL conditions: compiled once, wrong ones refused at load, never at run time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.errors import RuleEvaluationError
from escalation.policies.conditions import FACT_SAMPLE, FACT_VARIABLES, Condition, ConditionSet

CATEGORIES = ["wage_arrears", "family", "debt", "other"]


def facts(**changes: object) -> dict[str, object]:
    return {**FACT_SAMPLE, **changes}


def test_the_sample_covers_every_fact_with_the_documented_type() -> None:
    assert set(FACT_SAMPLE) == FACT_VARIABLES
    expected = {
        "category": str,
        "source": str,
        "parties": int,
        "amount": float,
        "risk": str,
        "tier": str,
        "unit": str,
        "attempts": int,
        "reopened": int,
        "escalations": int,
        "elevated": bool,
        "location": str,
        "department": str,
    }
    assert {name: type(value) for name, value in FACT_SAMPLE.items()} == expected
    assert FACT_SAMPLE["risk"] in ("low", "medium", "high")


def test_compile_records_source_and_variables() -> None:
    condition = Condition.compile('category == "wage_arrears" && parties >= 30', FACT_VARIABLES)
    assert condition.source == 'category == "wage_arrears" && parties >= 30'
    assert condition.variables == frozenset({"category", "parties"})
    assert condition.matches(facts(category="wage_arrears", parties=30)) is True
    assert condition.matches(facts(category="wage_arrears", parties=29)) is False


def test_a_constant_condition_has_no_variables() -> None:
    condition = Condition.compile("true", FACT_VARIABLES)
    assert condition.variables == frozenset()
    assert condition.matches({}) is True


def test_amount_compares_with_integer_literals_and_integer_facts() -> None:
    condition = Condition.compile("amount >= 500000", FACT_VARIABLES)
    assert condition.matches(facts(amount=500000.0)) is True
    assert condition.matches(facts(amount=499999.5)) is False
    # The engine may hand over amount=0 as an int; it is made a double first,
    # otherwise double arithmetic such as this would fail at run time.
    arithmetic = Condition.compile("amount * 2.0 >= 10.0", FACT_VARIABLES)
    assert arithmetic.matches(facts(amount=5)) is True


def test_syntax_errors_name_the_column() -> None:
    with pytest.raises(ValueError, match="syntax error at column 13"):
        Condition.compile("category == ", FACT_VARIABLES)


def test_empty_condition_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        Condition.compile("  ", FACT_VARIABLES)


def test_unknown_variables_are_named_with_a_suggestion_and_the_allowed_list() -> None:
    with pytest.raises(ValueError) as caught:
        Condition.compile("partys >= 10", FACT_VARIABLES)
    message = str(caught.value)
    assert "unknown variable 'partys'" in message
    assert "did you mean 'parties'?" in message
    assert "amount, attempts, category" in message


def test_allowed_vars_restrict_what_a_condition_may_read() -> None:
    allowed = FACT_VARIABLES - {"risk"}
    with pytest.raises(ValueError, match="unknown variable 'risk'"):
        Condition.compile('risk == "high"', allowed)
    assert Condition.compile("parties > 1", allowed).variables == {"parties"}


def test_comprehension_variables_are_not_facts() -> None:
    condition = Condition.compile("[10, 30].exists(n, parties >= n)", FACT_VARIABLES)
    assert condition.variables == frozenset({"parties"})
    assert condition.matches(facts(parties=12)) is True
    assert condition.matches(facts(parties=3)) is False


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('category == "wage_arrears" && amount >= "500000"', "write numbers without quotes"),
        ("category == 3", "compares text (a string) with an integer"),
        ('parties > "10"', "compares an integer with text"),
        ('parties in ["a", "b"]', "list of string"),
        ("amount * 2 > 10.0", "mixes a decimal number (double) and an integer"),
        ('risk == "high" ? "red" : true', "on one branch"),
        ("parties", "must be true or false"),
        ("parties + 1", "must be true or false"),
        ("category.startsWith(1)", "takes text"),
        ('parties.startsWith("1")', "works on text"),
        ("!category", "`!` needs true/false"),
        ("elevated && category", "`&&` needs true/false"),
        ('-category == "x"', "`-` needs a number"),
        ('category[0] == "w"', "only lists and maps can be indexed"),
        ('category.name == "w"', "has no field 'name'"),
        ("parties.exists(p, p > 1)", "needs a list"),
        ('{"debt": 1}[category] == 1', "fails on a sample dispute"),
        ('parties in ["a", "b"] || location == b"x"', "list of string"),
    ],
)
def test_type_errors_are_caught_at_compile_time(source: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Condition.compile(source, FACT_VARIABLES)


@pytest.mark.parametrize(
    "source",
    [
        'category in ["land", "real_estate"] && parties >= 5',
        '!elevated && (tier == "community" || tier == "street")',
        "amount >= 1000000.0 || parties >= 10",
        'source == "petition" // a comment\n && reopened >= 1',
        'risk == "high" ? parties >= 1 : parties >= 10',
        "size(location) == 0",
        'location.contains("工地")',
        "type(parties) == int",
        "parties == 3.0",
        'department == ""',
        "[1, 2, 3].map(x, x * 2).exists(y, y == parties)",
        "attempts >= 2 && escalations < 3",
    ],
)
def test_valid_conditions_compile_and_give_a_bool(source: str) -> None:
    condition = Condition.compile(source, FACT_VARIABLES)
    assert isinstance(condition.matches(FACT_SAMPLE), bool)


def test_enums_refuse_values_that_can_never_match() -> None:
    enums = {"category": CATEGORIES, "tier": ["community", "street"]}
    with pytest.raises(ValueError, match=r"'wage_arears' is not a known category; did you mean"):
        Condition.compile('category == "wage_arears"', FACT_VARIABLES, enums=enums)
    with pytest.raises(ValueError, match="'distrct' is not a known tier"):
        Condition.compile('tier in ["street", "distrct"]', FACT_VARIABLES, enums=enums)
    with pytest.raises(ValueError, match="'famly' is not a known category"):
        Condition.compile('"famly" != category', FACT_VARIABLES, enums=enums)
    ok = Condition.compile('category in ["debt", "family"]', FACT_VARIABLES, enums=enums)
    assert ok.matches(facts(category="debt")) is True


def test_enums_leave_comprehension_variables_alone() -> None:
    enums = {"category": CATEGORIES}
    source = '["x", "y"].exists(category, category == "x")'
    assert Condition.compile(source, FACT_VARIABLES, enums=enums).matches({}) is True


def test_missing_fact_at_run_time_names_the_condition() -> None:
    condition = Condition.compile("parties >= 10", FACT_VARIABLES)
    with pytest.raises(RuleEvaluationError, match=r"parties >= 10.*'parties'"):
        condition.matches({"category": "other"})


def test_evaluation_failure_at_run_time_names_the_condition() -> None:
    # Passes the sample (category "other"), fails for another category.
    condition = Condition.compile('{"other": true}[category]', FACT_VARIABLES)
    assert condition.matches(facts()) is True
    with pytest.raises(RuleEvaluationError, match=r"\{\"other\": true\}\[category\]"):
        condition.matches(facts(category="family"))


def test_non_bool_at_run_time_is_an_error() -> None:
    condition = Condition.compile('{"other": true, "debt": 1}[category]', FACT_VARIABLES)
    with pytest.raises(RuleEvaluationError, match="not true/false"):
        condition.matches(facts(category="debt"))


def test_conditions_with_the_same_source_are_equal() -> None:
    assert Condition.compile("parties > 1") == Condition.compile("parties > 1")


@given(
    st.sampled_from(CATEGORIES),
    st.integers(0, 200),
    st.floats(0, 5_000_000, allow_nan=False),
    st.integers(0, 5),
)
def test_matches_agrees_with_the_same_rule_written_in_python(
    category: str, parties: int, amount: float, reopened: int
) -> None:
    condition = Condition.compile(
        '(category == "wage_arrears" && (parties >= 30 || amount >= 500000)) || reopened >= 2',
        FACT_VARIABLES,
    )
    expected = (category == "wage_arrears" and (parties >= 30 or amount >= 500000)) or reopened >= 2
    given_facts = facts(category=category, parties=parties, amount=amount, reopened=reopened)
    assert condition.matches(given_facts) is expected


CEL_WORDS = ["parties", "category", "amount", "in", "true", "null", "size(", "1.5", '"x"']
CEL_PIECES = st.sampled_from(
    [*"abcxyz_019 .\"'()[]{}<>=!&|+-*/%?:,\\", *CEL_WORDS, ".exists(x,", "&&", "||", "=="]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CEL_PIECES, max_size=25).map("".join))
def test_compile_either_succeeds_or_raises_value_error(source: str) -> None:
    try:
        condition = Condition.compile(source, FACT_VARIABLES, enums={"category": CATEGORIES})
    except ValueError as exc:
        assert str(exc)  # always a message a rule owner can read
    else:
        assert isinstance(condition.matches(FACT_SAMPLE), bool)


# --- a section's conditions as one program -------------------------------------

SECTION = [
    'category == "wage_arrears" && (parties >= 30 || amount >= 500000)',
    "amount >= 1000000 // a comment must not swallow the next item",
    'source == "petition" && reopened >= 1',
    'category in ["land", "debt"] && parties >= 5',
    'risk == "high"',
]


@given(
    st.sampled_from(CATEGORIES),
    st.integers(0, 60),
    st.floats(0, 2_000_000, allow_nan=False),
    st.integers(0, 3),
    st.sampled_from(["walk_in", "petition"]),
    st.sampled_from(["low", "medium", "high"]),
)
def test_a_condition_set_gives_what_each_condition_gives(
    category: str, parties: int, amount: float, reopened: int, source: str, risk: str
) -> None:
    conditions = [Condition.compile(s, FACT_VARIABLES) for s in SECTION]
    combined = ConditionSet.of(conditions)
    given_facts = facts(
        category=category,
        parties=parties,
        amount=amount,
        reopened=reopened,
        source=source,
        risk=risk,
    )
    assert combined.evaluate(given_facts) == tuple(c.matches(given_facts) for c in conditions)
    assert combined.variables == ("amount", "category", "parties", "reopened", "risk", "source")


def test_a_condition_set_steps_aside_when_a_condition_fails() -> None:
    # The second condition errs for "family": the set answers None, and the
    # caller evaluates one by one (so an earlier match still wins, as before).
    conditions = [
        Condition.compile("parties >= 10", FACT_VARIABLES),
        Condition.compile('{"other": true}[category]', FACT_VARIABLES),
    ]
    combined = ConditionSet.of(conditions)
    assert combined.evaluate(facts(category="other", parties=1)) == (False, True)
    assert combined.evaluate(facts(category="family", parties=12)) is None
    assert combined.evaluate({"category": "other"}) is None  # a fact missing
    assert combined.key({"category": "other"}) is None
    assert ConditionSet.of([]).evaluate(facts()) is None


def test_integer_amounts_are_passed_to_the_set_as_doubles() -> None:
    combined = ConditionSet.of([Condition.compile("amount >= 10.5", FACT_VARIABLES)])
    assert combined.evaluate(facts(amount=11)) == (True,)
