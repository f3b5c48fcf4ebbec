"""The wheel ships every package and the default rule book."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("escalation", "projections")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert "escalation.defaults" in listed


def test_the_default_rule_book_is_package_data() -> None:
    text = (resources.files("escalation.defaults") / "tiers.yaml").read_text(encoding="utf-8")
    assert text == (ROOT / "config" / "tiers.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "module", ["projections.audit", "projections.runner", "projections.disputes", "escalation"]
)
def test_any_package_module_can_be_imported_first(module: str) -> None:
    # A fresh interpreter: the engine and the projections import each other.
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
