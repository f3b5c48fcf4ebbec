"""``escalation rules check`` on hostile rule books: exit 2, one line per problem, quickly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from escalation.policies.calendar import HOLIDAY_DATA_LAST_YEAR
from tests.helpers import SMALL_RULES

MAIN = "import sys; from escalation.entrypoints.cli import main; sys.argv[0] = 'escalation'; main()"
BOMB = (
    "["
    + ", ".join(
        ["&l0 [x, x, x, x, x, x, x, x, x]"]
        + [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    )
    + "]"
)
TEN = "[1,2,3,4,5,6,7,8,9,10]"
QUARTIC = f"{TEN}.map(a, {TEN}.map(b, {TEN}.map(c, {TEN}.map(d, a+b+c+d)))).size() > 0"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MAIN, "rules", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
        env={"COLUMNS": "250", "PATH": ""},
    )


def one_condition(condition: str) -> str:
    return SMALL_RULES.replace("when: 'risk == \"high\"'", f"when: '{condition}'", 1)


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (
            SMALL_RULES.replace("calendar: calendar-days", f"calendar: {BOMB}"),
            "calendar",
            "expands to more than 50,000 values through aliases",
        ),
        (
            SMALL_RULES.replace("handle_within: 4 days", "handle_within: 99999999999 days"),
            "tiers[1].handle_within",
            "99999999999 days is too long: a time limit is at most 731 days",
        ),
        (one_condition(QUARTIC), "elevate[0].when", "macros (all, exists, exists_one, map,"),
    ],
)
def test_hostile_rule_books_are_refused_in_one_line_each(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    assert text != SMALL_RULES
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    result = check(path)
    assert time.perf_counter() - start < 30  # a new interpreter; the check itself is quick
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: invalid rule book:"
    [problem] = lines[1:]
    assert problem.strip().startswith(f"{path}:") and f": {key}: {fragment}" in problem
    assert len(problem) < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.yaml"]  # nothing written


def test_check_warns_when_workday_deadlines_can_pass_the_holiday_data(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        SMALL_RULES.replace("calendar: calendar-days", "calendar: cn-workdays").replace(
            "handle_within: 2 days", "handle_within: 2 workdays"
        ),
        encoding="utf-8",
    )
    result = check(path)
    assert result.returncode == 0, result.stderr
    after = HOLIDAY_DATA_LAST_YEAR + 1
    assert (
        f"warning {path}: holiday data ends in {HOLIDAY_DATA_LAST_YEAR}: deadlines in {after} "
        "and later count Monday-Friday only; add holidays:/workdays: for them"
    ) in result.stdout
    # Calendar days (the small rule book as it is) need no holiday data.
    path.write_text(SMALL_RULES, encoding="utf-8")
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert "holiday data" not in result.stdout
