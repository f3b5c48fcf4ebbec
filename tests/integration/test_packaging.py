"""The wheel ships every package and the default rule book."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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


def all_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for top in ("escalation", "projections")
        for path in (ROOT / top).rglob("*.py")
        if path.name != "__main__.py"  # runs the command line when imported
    )


#: Imported once by the parent before it forks: cycles can only be among our own modules.
THIRD_PARTY = (
    "apscheduler cel chinese_calendar cryptography eventsourcing eventsourcing_sqlalchemy "
    "psycopg pydantic rich sqlalchemy sqlalchemy.orm structlog typer yaml"
)
FORK_EACH = """
import importlib, os, sys, traceback
for lib in sys.argv[1].split():
    importlib.import_module(lib)
running = []
for name in sys.argv[2:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            print(name + ': ' + traceback.format_exc().strip().splitlines()[-1], flush=True)
            os._exit(1)
        os._exit(0)
    running.append(pid)
    if len(running) >= 4:
        os.waitpid(running.pop(0), 0)
for pid in running:
    os.waitpid(pid, 0)
"""


def test_every_module_can_be_imported_first_in_a_fresh_interpreter() -> None:
    # No import cycle anywhere: each module first, in a process of its own
    # (forked from one that imported only third-party libraries).
    modules = all_modules()
    assert len(modules) > 60 and "escalation.bootstrap" in modules
    proc = subprocess.run(
        [sys.executable, "-c", FORK_EACH, THIRD_PARTY, *modules],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == ""
