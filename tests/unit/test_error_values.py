"""Messages echo a bad value only when it looks like a code, never personal data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.errors import InvalidInput, shown
from escalation.policies.inputs import require_known

HIDDEN = "(a value not shown"


@pytest.mark.parametrize("code", ["huangbei", "wage_arrears", "s1", "court/li", "2026-Q1"])
def test_a_code_is_echoed_so_the_caller_can_fix_it(code: str) -> None:
    assert shown(code) == repr(code)


@pytest.mark.parametrize(
    "value", ["欧阳金丝雀", "13700001234", "id 110105194912310021", "x" * 65, "", None, 3, "a b"]
)
def test_anything_else_is_not_echoed(value: object) -> None:
    assert shown(value).startswith(HIDDEN)


@given(st.text(min_size=1).filter(lambda t: any(ord(c) > 127 for c in t)))
def test_no_text_with_non_ascii_letters_reaches_a_message(value: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        require_known("unit", value, ["huangbei", "guiyuan"])
    assert value not in str(raised.value)
    assert "known units: huangbei, guiyuan" in str(raised.value)


@given(st.from_regex(r"\d{6,18}", fullmatch=True))
def test_no_run_of_digits_reaches_a_message(value: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        require_known("category", "c" + value, ["family"])
    assert value not in str(raised.value)


def test_a_misspelt_code_still_gets_its_close_match() -> None:
    with pytest.raises(InvalidInput, match=r"unknown unit 'huangbeii'; did you mean huangbei\?"):
        require_known("unit", "huangbeii", ["huangbei", "guiyuan"])
