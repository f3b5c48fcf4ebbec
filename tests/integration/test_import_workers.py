"""``escalation import --jobs N`` workers die with their parent, even after ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from escalation import RuleBook
from escalation.application.import_format import record_line
from escalation.application.workload import Workload

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's"
)


def _children(parent: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``parent``, from /proc/*/stat."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_9_of_the_importer_takes_its_workers_with_it(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    workload = Workload(RuleBook.default(), seed=7, per_day=400)
    with history.open("w", encoding="utf-8") as out:
        for record in workload.records(date(2025, 1, 6), 14):
            out.write(record_line(record) + "\n")
    script = Path(sys.executable).with_name("escalation")
    main = "from escalation.entrypoints.cli import main; main()"
    command = [str(script)] if script.exists() else [sys.executable, "-c", main]
    db = f"sqlite:///{tmp_path / 'store.db'}"
    importer = subprocess.Popen(
        [*command, "import", str(history), "--jobs", "2", "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            assert importer.poll() is None, "the import ended before its workers were seen"
            time.sleep(0.1)
            workers = _children(importer.pid)
        assert len(workers) >= 2, f"workers never started: {workers}"
        time.sleep(0.5)  # past their initializer
        assert importer.poll() is None, "the import ended before it could be killed"
    finally:
        importer.send_signal(signal.SIGKILL)
        importer.wait()
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = {w for w in workers if _alive(w)}
    for pid in alive:  # do not leave them behind for the next test
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers outlived the killed importer: {alive}"
