"""All HTML goes through the Jinja2 templates: a scan of the source keeps it so.

HTML built by string formatting is how a tier name once reached a report
unescaped; the scan below fails on any f-string, ``%`` or ``.format`` or ``+``
of string literals holding an HTML or SVG tag anywhere under ``escalation/``.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import UndefinedError

from escalation.application.charts import nice_ticks
from escalation.application.html_pages import environment, render

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "escalation"
TAG = re.compile(
    r"<\s*/?\s*(td|tr|th|svg|div|html|table|body|head|p|span|rect|text|line|path|circle"
    r"|polyline|g|h[1-6]|li|ul|ol|a|b|br|dl|dt|dd|title|style|img|form|input)\b",
    re.IGNORECASE,
)


def literal_text(node: ast.AST) -> str | None:
    """The literal parts of a string being formatted or glued together, if it is one."""
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"format", "format_map", "join"}
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        return node.func.value.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        parts = (node.left, node.right)
        return " ".join(
            n.value for n in parts if isinstance(n, ast.Constant) and isinstance(n.value, str)
        )
    return None


def formatted_html(source: str, name: str = "<source>") -> list[str]:
    """``line: tag`` of every place in ``source`` that builds HTML by string formatting."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        text = literal_text(node)
        if text and (tag := TAG.search(text)):
            found.append(f"{name}:{getattr(node, 'lineno', 0)}: {tag.group(0)}")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        'x = f"<td>{v}</td>"',
        'x = "<tr>%s</tr>" % v',
        'x = "<svg width={}>".format(w)',
        'x = "<div>" + v',
        'x = "</td><td>".join(cells)',
        "x = f'<rect x=\"{x}\"/>'",
    ],
)
def test_the_scan_finds_html_built_by_formatting(snippet: str) -> None:
    assert formatted_html(snippet)


def test_the_scan_leaves_plain_text_alone() -> None:
    assert not formatted_html('x = f"a <= {b} and c < d"\ny = "M{x},{y}".format(x=1, y=2)')


def test_no_html_is_built_by_string_formatting() -> None:
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 50
    found = [
        hit
        for path in files
        for hit in formatted_html(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == [], "render HTML through a Jinja2 template:\n" + "\n".join(found)


def test_nothing_is_marked_safe_by_hand() -> None:
    """No ``Markup(...)``, ``|safe`` or ``html.escape``: the templates escape, nothing else."""
    pattern = re.compile(r"\bMarkup\(|\|\s*safe\b|\bhtml\.escape\b|from html import escape")
    texts = [*SOURCE.rglob("*.py"), *SOURCE.rglob("*.j2"), *SOURCE.rglob("*.html")]
    hits = [str(p) for p in texts if pattern.search(p.read_text(encoding="utf-8"))]
    assert hits == []


def test_the_environment_escapes_and_refuses_unknown_names() -> None:
    env = environment()
    assert env.from_string("{{ x }}").render(x="<script>'\"&").startswith("&lt;script&gt;")
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(UndefinedError):
        render("audit_report.html.j2", title="t")  # the rest of its context is required


@pytest.mark.parametrize(
    "package", ["escalation.application", "escalation.application.papers", "escalation.http"]
)
def test_every_template_is_package_data(package: str) -> None:
    """Each templates folder is a data package of the wheel, every file in it matched."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    data = f"{package}.templates"
    assert data in config["setuptools"]["packages"]
    folder = ROOT.joinpath(*data.split("."))
    globs = config["setuptools"]["package-data"][data]
    shipped = {p for g in globs for p in folder.glob(g)}
    templates = {p for p in folder.iterdir() if p.is_file()}
    assert templates and templates <= shipped


def test_the_report_environment_knows_every_report_template() -> None:
    folder = SOURCE / "application" / "templates"
    names = {p.name for p in folder.iterdir() if p.is_file()}
    assert {Path(n).name for n in environment().list_templates()} == names


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=2, max_value=12))
def test_nice_ticks_cover_the_peak_in_round_even_steps(peak: int, most: int) -> None:
    ticks = nice_ticks(peak, most)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= max(peak, 1)
    assert ticks == list(range(0, ticks[-1] + 1, step))
    assert len(ticks) - 1 <= most
    assert ticks[-1] - step < max(peak, 1)  # no empty step above the peak
    assert str(step).strip("0") in {"1", "2", "5"}
