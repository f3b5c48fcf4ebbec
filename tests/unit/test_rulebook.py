"""The rule book: the shipped default, the runtime API, and every load-time error."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.errors import InvalidInput, RulesError
from escalation.policies.conditions import FACT_SAMPLE
from escalation.policies.durations import Duration
from escalation.policies.rulebook import (
    NOTICES,
    RISK_LEVELS,
    ElevateRule,
    NoticeStep,
    RiskRule,
    RoutingRule,
    RuleBook,
    Tier,
    Unit,
)

STREETS = {
    "huangbei",
    "guiyuan",
    "dongmen",
    "cuizhu",
    "dongxiao",
    "nanhu",
    "sungang",
    "donghu",
    "liantang",
    "qingshuihe",
}

BASE = """\
version: 1
calendar: cn-workdays
categories: [wage_arrears, other]
sources: [walk_in, petition]
tiers:
  - name: community
    handle_within: 5 workdays
    max_mediation_attempts: 2
    notices:
      - {at: 50%, notice: reminder}
      - {at: 100%, notice: warning}
  - name: street
    handle_within: 15 workdays
  - name: district
    handle_within: 30 workdays
units:
  - {id: d1, name: District, tier: district}
  - {id: s1, name: Street, tier: street, parent: d1}
  - {id: c1, name: Community, tier: community, parent: s1}
risk:
  - {id: mass-wage, when: 'category == "wage_arrears" && parties >= 30', level: high}
elevate:
  - {id: high-risk, when: 'risk == "high"', to: district}
routing:
  - {id: petition, when: 'source == "petition"', department: petition_office}
"""


def line_of(text: str, snippet: str) -> int:
    """1-based line of the first line containing ``snippet``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in the text")


def problems_of(text: str) -> list[tuple[str, int | None, str, str]]:
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(text, source="rules.yaml")
    assert all(problem[0] == "rules.yaml" for problem in caught.value.problems)
    return caught.value.problems


@pytest.fixture(scope="module")
def shipped() -> RuleBook:
    return RuleBook.default()


# --- the shipped default -------------------------------------------------------


def test_default_has_three_tiers_and_the_luohu_tree(shipped: RuleBook) -> None:
    assert shipped.tiers == ("community", "street", "district")
    assert shipped.top_tier == "district"
    by_tier: dict[str, list[Unit]] = {}
    for unit in shipped.units.values():
        by_tier.setdefault(unit.tier, []).append(unit)
    assert [u.id for u in by_tier["district"]] == ["luohu"]
    assert shipped.units["luohu"].name == "罗湖区"
    assert {u.id for u in by_tier["street"]} == STREETS
    assert all(u.name.endswith("街道") and u.parent == "luohu" for u in by_tier["street"])
    assert 81 <= len(by_tier["community"]) <= 83
    for street in STREETS:
        children = shipped.children(street)
        assert 7 <= len(children) <= 9
        assert all(c.startswith(f"{street}-c") for c in children)
    assert shipped.unit("huangbei-c01").name == "黄贝岭社区"


def test_default_tiers_limits_and_ladders(shipped: RuleBook) -> None:
    community, street, district = (shipped.tier(name) for name in shipped.tiers)
    assert community == Tier(
        "community",
        0,
        Duration(5, "workdays"),
        2,
        (
            NoticeStep(0.5, "reminder"),
            NoticeStep(0.7, "prompt"),
            NoticeStep(0.9, "warning"),
            NoticeStep(1.0, "supervision"),
        ),
        MappingProxyType({"high": Duration(2, "workdays")}),  # red cases are fast cases
    )
    assert (street.handle_within, street.max_mediation_attempts) == (Duration(15, "workdays"), 3)
    assert street.limit("high") == Duration(3, "workdays")
    assert [s.notice for s in street.notices] == ["reminder", "prompt", "warning", "supervision"]
    assert district.handle_within == Duration(30, "workdays")
    assert district.limit("high") == Duration(10, "workdays")
    assert district.max_mediation_attempts is None
    assert [(s.at, s.notice) for s in district.notices] == [
        (0.5, "reminder"),
        (0.8, "warning"),
        (1.0, "supervision"),
    ]
    assert shipped.calendar.kind == "cn-workdays"
    assert shipped.calendar.timezone == "Asia/Shanghai"


def test_default_lists_and_rules(shipped: RuleBook) -> None:
    assert "wage_arrears" in shipped.categories and len(shipped.categories) == 10
    assert "hotline_12345" in shipped.sources and len(shipped.sources) == 9
    assert {"public_opinion", "litigation"} <= set(shipped.sources)  # 舆情, 诉情
    assert shipped.risk_rules[0].id == "mass-wage"
    assert [r.id for r in shipped.elevate_rules] == ["high-risk", "many-parties-street"]
    assert shipped.routing_rules[-1].when.source == "true"
    assert all(isinstance(r, RiskRule) and r.level in RISK_LEVELS for r in shipped.risk_rules)
    assert all(isinstance(r, ElevateRule) for r in shipped.elevate_rules)
    assert all(isinstance(r, RoutingRule) for r in shipped.routing_rules)


def first_risk(book: RuleBook, **facts: object) -> str | None:
    merged = {**FACT_SAMPLE, **facts}
    return next((r.id for r in book.risk_rules if r.when.matches(merged)), None)


def route(book: RuleBook, **facts: object) -> str:
    merged = {**FACT_SAMPLE, **facts}
    return next(r.department for r in book.routing_rules if r.when.matches(merged))


def test_default_risk_rules_decide_as_documented(shipped: RuleBook) -> None:
    levels = {r.id: r.level for r in shipped.risk_rules}
    assert first_risk(shipped, category="wage_arrears", parties=40) == "mass-wage"
    assert first_risk(shipped, category="wage_arrears", amount=600000.0) == "mass-wage"
    assert first_risk(shipped, category="debt", amount=1_000_000.0) == "large-sum"
    # High rules come first: 12 parties (medium) reopened twice is high.
    assert levels[first_risk(shipped, parties=12, reopened=2) or ""] == "high"
    assert first_risk(shipped, source="petition", reopened=1) == "petition-reopened"
    assert first_risk(shipped, parties=10) == "many-parties"
    assert first_risk(shipped, category="land", parties=5) == "land-property-group"
    assert levels[first_risk(shipped, category="medical") or ""] == "medium"
    assert first_risk(shipped, category="family", parties=2) is None


def test_default_routing_first_match_wins(shipped: RuleBook) -> None:
    # Category before source: the competent department takes a petition about wages.
    assert route(shipped, source="petition", category="wage_arrears") == "human_resources_bureau"
    assert route(shipped, source="petition", category="other") == "petition_office"
    assert route(shipped, source="police_referral", category="real_estate") == "housing_bureau"
    assert route(shipped, source="police_referral", category="other") == "justice_bureau"
    assert [r.id for r in shipped.routing_rules if r.at_once] == ["petition"]
    assert route(shipped, category="debt", amount=100000.0) == "court"
    assert route(shipped, category="debt", amount=5000.0) == "comprehensive_governance_centre"
    assert route(shipped, category="wage_arrears") == "human_resources_bureau"
    assert route(shipped, category="real_estate") == "housing_bureau"
    assert route(shipped, category="land") == "natural_resources_bureau"
    assert route(shipped, category="family") == "womens_federation"
    assert route(shipped, category="neighbour") == "community_mediation_committee"


def test_default_elevation_rules(shipped: RuleBook) -> None:
    high, many = shipped.elevate_rules
    assert high.to == "district" and high.when.matches({**FACT_SAMPLE, "risk": "high"})
    assert many.to == "street"
    assert many.when.matches({**FACT_SAMPLE, "tier": "community", "parties": 10})
    assert not many.when.matches({**FACT_SAMPLE, "tier": "street", "parties": 10})


def test_default_version_is_stable_and_tracks_content(shipped: RuleBook) -> None:
    assert len(shipped.version) == 16 and int(shipped.version, 16) >= 0
    again = RuleBook.from_yaml(shipped.text)
    assert again.version == shipped.version
    assert RuleBook.load(shipped.source).version == shipped.version
    relaxed = shipped.text.replace("default: 5 workdays", "default: 6 workdays")
    assert relaxed != shipped.text
    assert RuleBook.from_yaml(relaxed).version != shipped.version


def test_default_is_cached_and_loads_from_the_package() -> None:
    assert RuleBook.default() is RuleBook.default()
    assert RuleBook.default().source.endswith("tiers.yaml")


# --- runtime API ---------------------------------------------------------------


def test_version_ignores_comments_layout_and_equivalent_spellings() -> None:
    base = RuleBook.from_yaml(BASE).version
    noisy = "# a comment\n\n" + BASE.replace("version: 1", "version: 1   # format")
    assert RuleBook.from_yaml(noisy).version == base
    respelled = BASE.replace("{at: 50%,", "{at: 0.5,").replace("30 workdays", "30 working days")
    assert RuleBook.from_yaml(respelled).version == base
    explicit = BASE.replace(
        "calendar: cn-workdays", "calendar: cn-workdays\ntimezone: Asia/Shanghai"
    )
    assert RuleBook.from_yaml(explicit).version == base
    assert RuleBook.from_yaml(BASE.replace("parties >= 30", "parties >= 31")).version != base


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 400))
def test_version_changes_exactly_when_a_limit_changes(days: int) -> None:
    base = RuleBook.from_yaml(BASE).version
    changed = RuleBook.from_yaml(BASE.replace("15 workdays", f"{days} workdays")).version
    assert (changed == base) is (days == 15)


def test_lookups_and_the_unit_tree() -> None:
    book = RuleBook.from_yaml(BASE)
    assert book.source == "<string>" and book.text == BASE
    assert book.tier_index("street") == 1
    assert book.unit("c1") == Unit("c1", "Community", "community", "s1")
    assert book.parent("c1") == "s1" and book.parent("d1") is None
    assert book.ancestor("c1", "district") == "d1"
    assert book.ancestor("c1", "street") == "s1"
    assert book.ancestor("s1", "street") == "s1"
    assert book.children("d1") == ("s1",) and book.children("c1") == ()
    with pytest.raises(InvalidInput, match="no ancestor at the lower tier"):
        book.ancestor("s1", "community")
    assert isinstance(book.units, type(book.units)) and "c1" in book.units
    with pytest.raises(TypeError):
        book.units["x"] = book.units["c1"]  # type: ignore[index]


def test_unknown_names_raise_invalid_input_with_close_matches(shipped: RuleBook) -> None:
    with pytest.raises(
        InvalidInput, match=r"unknown unit 'huangbei-c1'; did you mean 'huangbei-c01'"
    ):
        shipped.unit("huangbei-c1")
    with pytest.raises(InvalidInput, match="did you mean 'huangbei'"):
        shipped.unit("黄贝街道")  # a unit's name instead of its id
    with pytest.raises(InvalidInput, match="unknown tier 'stret'; did you mean 'street'"):
        shipped.tier("stret")
    with pytest.raises(InvalidInput):
        shipped.parent("nowhere")


def test_to_dict_is_plain_data_that_loads_back_to_the_same_version() -> None:
    book = RuleBook.from_yaml(BASE.replace("calendar: cn-workdays", "holidays: [2027-01-01]"))
    data = book.to_dict()
    assert data["tiers"][0]["handle_within"] == "5 workdays"
    assert data["tiers"][0]["notices"][0] == {"at": 0.5, "notice": "reminder"}
    assert data["holidays"] == ["2027-01-01"]
    assert RuleBook.from_yaml(yaml.safe_dump(data, allow_unicode=True)).version == book.version
    assert book.calendar.is_workday(date(2027, 1, 1)) is False


def test_load_reads_a_file_and_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert RuleBook.load(path).source == str(path)
    path.write_text(BASE.replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        RuleBook.load(str(path))
    assert caught.value.problems == [
        (str(path), 1, "version", "unsupported version 2; this engine reads version 1")
    ]
    with pytest.raises(RulesError, match="cannot read the rule book") as missing:
        RuleBook.load(tmp_path / "missing.yaml")
    # One line a person can act on: what is wrong, and which file.
    assert str(missing.value) == (
        f"cannot read the rule book: there is no such file ({tmp_path / 'missing.yaml'})"
    )


def test_exported_vocabularies() -> None:
    assert NOTICES == ("reminder", "prompt", "warning", "supervision")
    assert RISK_LEVELS == ("low", "medium", "high")


# --- load-time errors: each names the line and the key ---------------------------

CASES = [
    # (name, old, new, line marker in the new text, key, message fragment)
    (
        "yaml syntax",
        "  - name: street",
        "  - name: street: x",
        "name: street: x",
        "<yaml>",
        "YAML syntax error",
    ),
    (
        "unknown key",
        "    max_mediation_attempts: 2",
        "    max_mediation_attempts: 2\n    limit: 3",
        "limit: 3",
        "tiers[0].limit",
        "unknown key 'limit'",
    ),
    (
        "misspelt key",
        "    handle_within: 15 workdays",
        "    handle_whithin: 15 workdays",
        "handle_whithin",
        "tiers[1].handle_whithin",
        "did you mean 'handle_within'",
    ),
    (
        "misnamed when",
        "  - {id: mass-wage, when:",
        "  - {id: mass-wage, whn:",
        "whn:",
        "risk[0].whn",
        "unknown key",
    ),
    (
        "missing key",
        "    handle_within: 15 workdays\n",
        "",
        "name: street",
        "tiers[1].handle_within",
        "this key is required",
    ),
    (
        "bad duration",
        "15 workdays",
        "15 weeks",
        "15 weeks",
        "tiers[1].handle_within",
        "unknown unit 'weeks'",
    ),
    (
        "zero duration",
        "30 workdays",
        "0 workdays",
        "0 workdays",
        "tiers[2].handle_within",
        "positive integer",
    ),
    (
        "unknown unit tier",
        "tier: street, parent: d1",
        "tier: stret, parent: d1",
        "tier: stret",
        "units[1].tier",
        "unknown tier 'stret'; did you mean 'street'",
    ),
    (
        "duplicate unit id",
        "{id: c1,",
        "{id: s1,",
        "{id: s1, name: Community",
        "units[2].id",
        "unit id 's1' is used twice",
    ),
    (
        "duplicate tier name",
        "  - name: district\n    handle_within: 30 workdays\n",
        (
            "  - name: district\n    handle_within: 30 workdays\n"
            "  - {name: street, handle_within: 1 day}\n"
        ),
        "handle_within: 1 day}",
        "tiers[3].name",
        "tier 'street' is defined twice",
    ),
    (
        "parent unknown",
        "parent: s1",
        "parent: s2",
        "parent: s2",
        "units[2].parent",
        "unknown unit 's2'",
    ),
    (
        "parent skips a tier",
        "parent: s1",
        "parent: d1",
        "{id: c1",
        "units[2].parent",
        "must be one tier up, at 'street'",
    ),
    (
        "top tier with parent",
        "tier: district}",
        "tier: district, parent: s1}",
        "{id: d1",
        "units[0].parent",
        "'district' is the top tier",
    ),
    (
        "lower tier without parent",
        ", parent: s1}",
        "}",
        "{id: c1",
        "units[2].parent",
        "needs a parent one tier up, at 'street'",
    ),
    (
        "cycle",
        "tier: district}",
        "tier: district, parent: c1}",
        "{id: d1",
        "units[0].parent",
        "units form a cycle",
    ),
    (
        "tier without units",
        "  - {id: c1, name: Community, tier: community, parent: s1}\n",
        "",
        "  - name: community",
        "tiers[0].name",
        "no unit belongs to tier 'community'",
    ),
    (
        "cel syntax",
        "parties >= 30'",
        "parties >= '",
        "mass-wage",
        "risk[0].when",
        "syntax error at column",
    ),
    (
        "cel unknown variable",
        "'risk == \"high\"'",
        "'riks == \"high\"'",
        "high-risk",
        "elevate[0].when",
        "unknown variable 'riks'",
    ),
    (
        "cel type error",
        "parties >= 30",
        'amount >= "500000"',
        "mass-wage",
        "risk[0].when",
        "write numbers without quotes",
    ),
    (
        "cel unknown category",
        '"wage_arrears"',
        '"wage_arears"',
        "mass-wage",
        "risk[0].when",
        "did you mean 'wage_arrears'",
    ),
    (
        "risk reads risk",
        "parties >= 30",
        'risk == "high"',
        "mass-wage",
        "risk[0].when",
        "risk rules cannot use 'risk'",
    ),
    (
        "routing reads department",
        'source == "petition"',
        'department == ""',
        "petition_office",
        "routing[0].when",
        "routing rules cannot use 'department'",
    ),
    (
        "elevate to lowest",
        "to: district",
        "to: community",
        "to: community",
        "elevate[0].to",
        "lowest tier",
    ),
    (
        "elevate to unknown",
        "to: district",
        "to: city",
        "to: city",
        "elevate[0].to",
        "unknown tier 'city'",
    ),
    (
        "ladder out of order",
        "{at: 100%, notice: warning}",
        "{at: 40%, notice: warning}",
        "at: 40%",
        "tiers[0].notices[1].at",
        "must come after the previous step (50%)",
    ),
    (
        "ladder equal steps",
        "{at: 100%, notice: warning}",
        "{at: 50%, notice: warning}",
        "notice: warning",
        "tiers[0].notices[1].at",
        "must come after",
    ),
    (
        "notice twice",
        "{at: 100%, notice: warning}",
        "{at: 100%, notice: reminder}",
        "at: 100%",
        "tiers[0].notices[1].notice",
        "notice 'reminder' appears twice",
    ),
    (
        "unknown notice",
        "notice: warning}",
        "notice: warn}",
        "notice: warn}",
        "tiers[0].notices[1].notice",
        "'reminder', 'prompt', 'warning' or 'supervision'",
    ),
    (
        "notice above 200%",
        "{at: 100%,",
        "{at: 250%,",
        "at: 250%",
        "tiers[0].notices[1].at",
        "at most 200%",
    ),
    ("notice at 0%", "{at: 50%,", "{at: 0%,", "at: 0%", "tiers[0].notices[0].at", "more than 0%"),
    (
        "notice not a share",
        "{at: 50%,",
        "{at: soon,",
        "at: soon",
        "tiers[0].notices[0].at",
        "like 50%",
    ),
    (
        "duplicate category",
        "[wage_arrears, other]",
        "[wage_arrears, other, wage_arrears]",
        "categories:",
        "categories[2]",
        "listed twice",
    ),
    ("empty sources", "[walk_in, petition]", "[]", "sources:", "sources", "at least one source"),
    ("version", "version: 1", "version: 2", "version:", "version", "unsupported version 2"),
    (
        "duplicate rule id",
        "{id: petition,",
        "{id: mass-wage,",
        "petition_office",
        "routing[0].id",
        "already used by risk[0]",
    ),
    (
        "attempts zero",
        "max_mediation_attempts: 2",
        "max_mediation_attempts: 0",
        "max_mediation_attempts",
        "tiers[0].max_mediation_attempts",
        "at least 1",
    ),
    ("number instead of text", "{id: c1,", "{id: 001,", "{id: 001", "units[2].id", "expected text"),
    (
        "bad time zone",
        "calendar: cn-workdays",
        "calendar: cn-workdays\ntimezone: Mars/Base",
        "timezone",
        "timezone",
        "unknown time zone",
    ),
    (
        "day in both lists",
        "calendar: cn-workdays",
        "calendar: cn-workdays\nholidays: [2027-01-01]\nworkdays: [2027-01-01]",
        "workdays:",
        "workdays[0]",
        "also listed in holidays",
    ),
    (
        "impossible date",
        "calendar: cn-workdays",
        "calendar: cn-workdays\nholidays: [2027-02-30]",
        "holidays:",
        "holidays[0]",
        "out of range",
    ),
    (
        "extra days on calendar-days",
        "calendar: cn-workdays",
        "calendar: calendar-days\nholidays: [2027-01-01]",
        "holidays:",
        "holidays",
        "only apply to calendar: cn-workdays",
    ),
    ("duplicate section", "routing:", "risk: []\nrouting:", "risk: []", "risk", "appears twice"),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "key", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_error_names_its_line_and_key(
    old: str, new: str, marker: str, key: str, fragment: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    problems = problems_of(text)
    expected_line = line_of(text, marker)
    hits = [p for p in problems if p[2] == key and fragment in p[3]]
    assert hits, problems
    assert hits[0][1] == expected_line, problems


def test_quoted_dates_are_compared_as_dates() -> None:
    text = BASE.replace(
        "calendar: cn-workdays",
        "calendar: cn-workdays\nholidays: ['2027-01-01']\nworkdays: [2027-01-01]",
    )
    problems = problems_of(text)
    assert [(p[1], p[2]) for p in problems] == [(line_of(text, "workdays:"), "workdays[0]")]


def test_all_problems_are_reported_together() -> None:
    text = (
        BASE.replace("15 workdays", "15 weeks")
        .replace("parent: s1", "parent: s9")
        .replace("parties >= 30", "partys >= 30")
        .replace("to: district", "to: city")
    )
    keys = {p[2] for p in problems_of(text)}
    assert {"tiers[1].handle_within", "units[2].parent", "risk[0].when", "elevate[0].to"} <= keys


def test_a_broken_entry_does_not_orphan_the_units_that_refer_to_it() -> None:
    # The street tier is malformed (bad duration) and a unit has an empty
    # name; neither should turn into "unknown tier" or "unknown unit" noise.
    text = BASE.replace("15 workdays", "15 weeks").replace("name: Street,", "name: '',")
    problems = problems_of(text)
    assert [p[2] for p in problems] == ["tiers[1].handle_within", "units[1].name"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty"),
        ("- a\n- b\n", 1, "expected a mapping"),
        ("version: 1\ncategories: [a\n", 2, "YAML syntax error"),
    ],
)
def test_documents_that_are_not_a_rule_book(text: str, line: int, fragment: str) -> None:
    problems = problems_of(text)
    assert problems[0][1] == line and fragment in problems[0][3]


def test_missing_sections_are_required() -> None:
    problems = problems_of("version: 1\n")
    keys = {p[2] for p in problems}
    assert {"categories", "sources", "tiers", "units"} <= keys
    assert all(p[3] == "this key is required" and p[1] == 1 for p in problems)


def test_rules_error_message_lists_file_line_and_key() -> None:
    with pytest.raises(RulesError) as caught:
        RuleBook.from_yaml(BASE.replace("to: district", "to: city"), source="x.yaml")
    line = line_of(BASE, "to: district")
    assert f"x.yaml:{line}: elevate[0].to: unknown tier 'city'" in str(caught.value)


# --- acceptance and follow-up ---------------------------------------------------


def test_acceptance_and_follow_up_default_to_what_older_rule_books_meant() -> None:
    book = RuleBook.from_yaml(BASE)
    assert (book.acceptance.mode, book.acceptance.within) == ("auto", Duration(1, "workdays"))
    assert book.follow_up.within == Duration(7, "days")
    assert book.acceptance.notices == () and book.follow_up.notices == ()
    assert "acceptance" not in book.to_dict() and "follow_up" not in book.to_dict()
    # Written out at their defaults, they are an edit like any other: a new version.
    spelled = RuleBook.from_yaml(BASE + "acceptance: {mode: auto, within: 1 workday}\n")
    assert spelled.version != book.version
    assert spelled.acceptance == book.acceptance


def test_acceptance_and_follow_up_are_read_with_their_ladders() -> None:
    book = RuleBook.from_yaml(
        BASE
        + "acceptance: {mode: explicit, within: 2 workdays, notices: [{at: 50%, notice: prompt}]}\n"
        + "follow_up: {within: 10 days}\n"
    )
    assert book.acceptance.mode == "explicit"
    assert book.acceptance.within == Duration(2, "workdays")
    assert book.acceptance.notices == (NoticeStep(0.5, "prompt"),)
    assert book.follow_up.within == Duration(10, "days")


def test_a_wrong_acceptance_or_follow_up_is_named_with_its_line() -> None:
    text = BASE + (
        "acceptance:\n  mode: sometimes\n"
        "follow_up:\n  within: 7 weeks\n  notices:\n"
        "    - {at: 80%, notice: warning}\n    - {at: 40%, notice: reminder}\n"
    )
    problems = {p[2]: (p[1], p[3]) for p in problems_of(text)}
    assert problems["acceptance.mode"][0] == line_of(text, "mode: sometimes")
    assert "auto" in problems["acceptance.mode"][1]
    assert problems["follow_up.within"][0] == line_of(text, "within: 7 weeks")
    assert "must come after" in problems["follow_up.notices[1].at"][1]
