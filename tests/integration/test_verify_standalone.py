"""The standalone verifier (tools/verify_standalone.py) against tampered SQLite stores.

The store is written by the package's own engine; the verifier runs as a
subprocess, so it is proven to need nothing but the standard library and
docs/log-format.md. Every tampering edits the SQLite file directly, as someone
with access to the database file would.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation import EscalationEngine, RuleBook
from escalation.adapters.log_digests import GENESIS, advance, record_digest
from escalation.adapters.persistence import LogHead, read_head
from escalation.application.audit.checkpoint import make_checkpoint
from escalation.application.audit.verify import verify
from tests.helpers import T0, build_log, hours

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_standalone.py"
OLD_STORE = ROOT / "tests" / "fixtures" / "old_store_v1" / "escalation.db"
OLD_CLOCK = datetime(2026, 9, 21, tzinfo=UTC)
LINE = re.compile(r"^(\S+) position=(\S+) dispute=(\S+) version=(\S+): (.+)$")


# ----------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Base:
    """The store every test copies, and what the package says about it."""

    path: Path
    ids: dict[str, UUID]
    head: LogHead
    log_digest: str
    log_position: int


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.stdout)
        return report

    @property
    def findings(self) -> set[tuple[str, int | None, str | None, int | None]]:
        return {
            (f["kind"], f["position"], f["dispute"], f["version"]) for f in self.report["findings"]
        }

    @property
    def kinds(self) -> set[str]:
        return {f["kind"] for f in self.report["findings"]}

    def detail(self, kind: str) -> str:
        return " | ".join(f["detail"] for f in self.report["findings"] if f["kind"] == kind)


def run(path: Path, *args: str, flags: tuple[str, ...] = (), cwd: Path = ROOT) -> Run:
    done = subprocess.run(
        [sys.executable, *flags, str(TOOL), str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=60,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def check(path: Path, *args: str) -> Run:
    """Run with --json; a finding or not, the output is one JSON document."""
    result = run(path, "--json", *args)
    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert result.report["ok"] is (result.code == 0)
    return result


def copy_store(source: Path, directory: Path, name: str = "store.db") -> Path:
    target = directory / name
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):  # none after a clean shutdown; copied if there are
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def sql(path: Path, statement: str, *args: Any) -> list[Any]:
    db = sqlite3.connect(path)
    try:
        with db:
            return db.execute(statement, args).fetchall()
    finally:
        db.close()


def position(path: Path, dispute: UUID, version: int) -> int:
    rows = sql(
        path,
        "SELECT id FROM escalation_events WHERE originator_id = ? AND originator_version = ?",
        dispute.bytes,
        version,
    )
    return int(rows[0][0])


def last_version(path: Path, dispute: UUID) -> int:
    rows = sql(
        path,
        "SELECT max(originator_version) FROM escalation_events WHERE originator_id = ?",
        dispute.bytes,
    )
    return int(rows[0][0])


def flip_byte(path: Path, at: int, offset: int | None = None, xor: int = 0x01) -> None:
    """Change one byte of a record's stored state (the middle one by default)."""
    (state,) = sql(path, "SELECT state FROM escalation_events WHERE id = ?", at)[0]
    data = bytearray(state)
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= xor
    sql(path, "UPDATE escalation_events SET state = ? WHERE id = ?", bytes(data), at)


def reseal(path: Path) -> None:
    """Recompute every seal and the head from the rows, as a forger would (scheme 2)."""
    rows = sql(
        path,
        "SELECT id, originator_id, originator_version, topic, state FROM escalation_events "
        "ORDER BY id",
    )
    prev: dict[bytes, str] = {}
    running = GENESIS
    for at, oid, version, topic, state in rows:
        before = prev.get(oid, GENESIS)
        digest = record_digest(UUID(bytes=oid), version, topic, state, before)
        sql(
            path,
            "UPDATE escalation_chain SET scheme = 2, prev = ?, digest = ? WHERE position = ?",
            before,
            digest,
            at,
        )
        prev[oid] = digest
        running = advance(running, at, UUID(bytes=oid), version, topic, state)
    sql(path, "DELETE FROM escalation_chain WHERE position > ?", rows[-1][0])
    sql(
        path,
        "UPDATE escalation_log_head SET position = ?, records = ?, digest = ?",
        rows[-1][0],
        len(rows),
        running,
    )


def checkpoint_text(head: LogHead) -> str:
    """A checkpoint in the package's own format, signed with a throwaway key."""
    return make_checkpoint(head, T0 + timedelta(days=10), Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def base(small_rules: RuleBook, tmp_path_factory: pytest.TempPathFactory) -> Base:
    path = tmp_path_factory.mktemp("base") / "base.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        ids = build_log(engine)
        report = verify(engine)
        assert report.ok and report.log_digest is not None
        head = read_head(engine.store)
    return Base(path, ids, head, report.log_digest, report.log_position)


@pytest.fixture
def store(base: Base, tmp_path: Path) -> Path:
    return copy_store(base.path, tmp_path)


# --------------------------------------------------------------- the clean store


def test_a_clean_store_verifies_and_agrees_with_the_package(base: Base, store: Path) -> None:
    result = check(store)
    assert result.code == 0 and result.report["findings"] == []
    report = result.report
    # Two implementations, one from the code and one from the text, give one digest.
    assert (report["position"], report["digest"]) == (base.log_position, base.log_digest)
    assert report["head"] == {
        "position": base.head.position,
        "records": base.head.records,
        "digest": base.head.digest,
    }
    assert report["records"] == base.head.records and report["disputes"] == len(base.ids)


def test_the_text_report_is_one_line_per_finding_and_a_summary(base: Base, store: Path) -> None:
    clean = run(store)
    assert clean.code == 0 and clean.stderr == ""
    (summary,) = clean.stdout.splitlines()
    assert summary.startswith(f"verified: {base.head.records} records, 4 disputes;")
    assert base.log_digest in summary

    flip_byte(store, position(store, base.ids["stepwise"], 4))
    tampered = run(store)
    assert tampered.code == 1
    *lines, summary = tampered.stdout.splitlines()
    assert summary.startswith(f"NOT VERIFIED: {len(lines)} finding(s)")
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    kinds = {(m[1], m[3], m[4]) for m in parsed if m}
    assert ("altered", str(base.ids["stepwise"]), "4") in kinds


def test_it_needs_nothing_but_the_standard_library(store: Path, tmp_path: Path) -> None:
    # -I: no PYTHON* variables, no script directory or cwd on the path; -S: no
    # site-packages, where the package is installed. Run from outside the repository.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    flags = ("-I", "-S")
    cannot = subprocess.run(
        [sys.executable, *flags, "-c", "import escalation"],
        capture_output=True,
        cwd=outside,
        check=False,
    )
    assert cannot.returncode != 0  # so the verifier below cannot have imported it
    result = run(store, "--json", flags=flags, cwd=outside)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True


def test_its_imports_are_all_in_the_standard_library() -> None:
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_verifying_leaves_the_store_as_it_was(store: Path) -> None:
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    assert check(store).code == 0
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


# ---------------------------------------------------------------- tampering


def test_an_edited_byte_is_named(base: Base, store: Path) -> None:
    dispute = base.ids["stepwise"]
    at = position(store, dispute, 4)
    flip_byte(store, at)
    result = check(store)
    assert result.code == 1
    assert result.findings == {
        ("altered", at, str(dispute), 4),
        ("head", base.head.position, None, None),
    }


@pytest.mark.parametrize("which", ["first", "middle", "newest"])
def test_a_deleted_row_is_named(base: Base, store: Path, which: str) -> None:
    dispute = base.ids["stepwise"]
    at = {
        "first": 1,
        "middle": position(store, dispute, 5),
        "newest": base.head.position,
    }[which]
    (oid, version) = sql(
        store, "SELECT originator_id, originator_version FROM escalation_events WHERE id = ?", at
    )[0]
    sql(store, "DELETE FROM escalation_events WHERE id = ?", at)
    result = check(store)
    assert result.code == 1
    # The seal left behind names the position; the next version names the gap.
    assert ("deleted", at, None, None) in result.findings
    assert ("head", base.head.position, None, None) in result.findings
    if which == "newest":
        assert "no record at the head's position" in result.detail("head")
    else:
        following = position(store, UUID(bytes=oid), version + 1)
        assert ("missing", following, str(UUID(bytes=oid)), version + 1) in result.findings
        assert f"version {version} missing before version {version + 1}" in result.detail("missing")


def test_the_newest_row_deleted_with_its_seal_is_caught_by_the_head(
    base: Base, store: Path
) -> None:
    newest = base.head.position
    sql(store, "DELETE FROM escalation_events WHERE id = ?", newest)
    sql(store, "DELETE FROM escalation_chain WHERE position = ?", newest)
    result = check(store)
    assert result.code == 1
    assert result.kinds == {"head"}
    assert {f[1] for f in result.findings} == {newest}
    detail = result.detail("head")
    assert "no record at the head's position" in detail
    assert f"over {base.head.records - 1} records" in detail
    assert f"over {base.head.records}" in detail


def test_swapped_versions_are_reordered(base: Base, store: Path) -> None:
    # As tests/helpers.py Log.swap: exchange two versions through a free value.
    dispute = base.ids["stepwise"]
    p4, p5 = position(store, dispute, 4), position(store, dispute, 5)
    for old, new in ((4, -1), (5, 4), (-1, 5)):
        sql(
            store,
            "UPDATE escalation_events SET originator_version = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            new,
            dispute.bytes,
            old,
        )
    result = check(store)
    assert result.code == 1
    did = str(dispute)
    assert ("missing", p4, did, 5) in result.findings  # version 5 where 4 should be
    assert ("reordered", p5, did, 4) in result.findings
    assert f"stored after version 5 (position {p4})" in result.detail("reordered")
    assert {f[2] for f in result.findings if f[0] != "head"} == {did}


def test_swapped_contents_of_two_records_are_named(base: Base, store: Path) -> None:
    dispute = base.ids["reopened"]
    p2, p3 = position(store, dispute, 2), position(store, dispute, 3)
    (t2, s2), (t3, s3) = (
        sql(store, "SELECT topic, state FROM escalation_events WHERE id = ?", p)[0]
        for p in (p2, p3)
    )
    sql(store, "UPDATE escalation_events SET topic = ?, state = ? WHERE id = ?", t3, s3, p2)
    sql(store, "UPDATE escalation_events SET topic = ?, state = ? WHERE id = ?", t2, s2, p3)
    result = check(store)
    assert result.code == 1
    did = str(dispute)
    assert result.findings == {
        ("altered", p2, did, 2),
        ("altered", p3, did, 3),
        ("head", base.head.position, None, None),
    }


@pytest.mark.parametrize(
    "variant", ["same version", "same version, sealed", "same version, sealed, head moved"]
)
def test_a_reinserted_old_event_is_caught(base: Base, store: Path, variant: str) -> None:
    dispute = base.ids["stepwise"]
    old = position(store, dispute, 2)
    new = base.head.position + 1
    # The unique (dispute, version) index is in the file too: whoever edits the file drops it.
    sql(store, "DROP INDEX escalation_events_aggregate_idx")
    sql(
        store,
        "INSERT INTO escalation_events (id, originator_id, originator_version, topic, state) "
        "SELECT ?, originator_id, originator_version, topic, state FROM escalation_events "
        "WHERE id = ?",
        new,
        old,
    )
    if "sealed" in variant:  # scheme 2 does not hash the position: the old seal fits
        sql(
            store,
            "INSERT INTO escalation_chain (position, scheme, prev, digest) "
            "SELECT ?, scheme, prev, digest FROM escalation_chain WHERE position = ?",
            new,
            old,
        )
    if "head moved" in variant:
        (oid, version, topic, state) = sql(
            store,
            "SELECT originator_id, originator_version, topic, state FROM escalation_events "
            "WHERE id = ?",
            new,
        )[0]
        running = advance(base.head.digest, new, UUID(bytes=oid), version, topic, state)
        sql(
            store,
            "UPDATE escalation_log_head SET position = ?, records = ?, digest = ?",
            new,
            base.head.records + 1,
            running,
        )
    result = check(store)
    assert result.code == 1
    did = str(dispute)
    assert ("reordered", new, did, 2) in result.findings
    latest = last_version(base.path, dispute)
    assert (
        f"stored after version {latest} (position {position(store, dispute, latest)})"
        in result.detail("reordered")
    )
    expected = {("reordered", new, did, 2)}
    if "sealed" not in variant:
        expected.add(("unsealed", new, did, 2))
    if "head moved" not in variant:
        expected.add(("unexpected", new, did, 2))
    assert result.findings == expected


def test_an_old_event_appended_as_a_new_version_is_caught(base: Base, store: Path) -> None:
    dispute = base.ids["deadline"]
    latest = last_version(store, dispute)
    old, new = position(store, dispute, 1), base.head.position + 1
    sql(
        store,
        "INSERT INTO escalation_events (id, originator_id, originator_version, topic, state) "
        "SELECT ?, originator_id, ?, topic, state FROM escalation_events WHERE id = ?",
        new,
        latest + 1,
        old,
    )
    sql(
        store,
        "INSERT INTO escalation_chain (position, scheme, prev, digest) "
        "SELECT ?, scheme, prev, digest FROM escalation_chain WHERE position = ?",
        new,
        old,
    )
    result = check(store)
    did = str(dispute)
    assert result.findings == {
        ("altered", new, did, latest + 1),  # the seal was for version 1
        ("broken-link", new, did, latest + 1),  # and links to GENESIS
        ("unexpected", new, did, latest + 1),
    }


def test_a_truncated_dispute_is_caught_by_the_head(base: Base, store: Path) -> None:
    dispute = base.ids["reopened"]
    latest = last_version(store, dispute)
    gone = [position(store, dispute, v) for v in (latest - 1, latest)]
    for at in gone:
        sql(store, "DELETE FROM escalation_events WHERE id = ?", at)
        sql(store, "DELETE FROM escalation_chain WHERE position = ?", at)
    assert max(gone) < base.head.position  # not the newest rows of the log
    result = check(store)
    assert result.code == 1
    assert result.findings == {("head", base.head.position, None, None)}
    assert f"over {base.head.records - 2} records" in result.detail("head")


def test_an_edited_seal_prev_is_named(base: Base, store: Path) -> None:
    dispute = base.ids["stepwise"]
    at = position(store, dispute, 4)
    sql(store, "UPDATE escalation_chain SET prev = ? WHERE position = ?", "ab" * 32, at)
    result = check(store)
    did = str(dispute)
    # The rows are as written, so the head is fine; the seal is not.
    assert result.findings == {("altered", at, did, 4), ("broken-link", at, did, 4)}


def test_an_edited_seal_digest_is_named(base: Base, store: Path) -> None:
    dispute = base.ids["stepwise"]
    p4, p5 = position(store, dispute, 4), position(store, dispute, 5)
    sql(store, "UPDATE escalation_chain SET digest = ? WHERE position = ?", "cd" * 32, p4)
    result = check(store)
    did = str(dispute)
    assert result.findings == {("altered", p4, did, 4), ("broken-link", p5, did, 5)}


def test_a_record_without_a_seal_is_named(base: Base, store: Path) -> None:
    dispute = base.ids["elevated"]
    at = position(store, dispute, 2)
    sql(store, "DELETE FROM escalation_chain WHERE position = ?", at)
    result = check(store)
    assert result.findings == {("unsealed", at, str(dispute), 2)}


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        ("DELETE FROM escalation_log_head", "no row log='events'"),
        ("UPDATE escalation_log_head SET records = 'many'", "not two integers and a digest"),
    ],
)
def test_a_missing_or_mangled_head_is_a_finding(store: Path, edit: str, detail: str) -> None:
    sql(store, edit)
    result = check(store)
    assert result.findings == {("head", None, None, None)}
    assert detail in result.detail("head")


# -------------------------------------------------------------- checkpoints


def test_a_kept_checkpoint_passes_and_a_consistent_rewrite_fails_it(
    base: Base, store: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(checkpoint_text(base.head), encoding="utf-8")
    passing = run(store, "--checkpoint", str(kept))
    assert passing.code == 0, passing.stdout
    assert "signature is not checked" in passing.stderr

    # A forger edits a record and recomputes every seal and the head: the store
    # is consistent in itself, and only what was kept outside can tell.
    flip_byte(store, position(store, base.ids["reopened"], 3))
    reseal(store)
    assert check(store).code == 0
    result = check(store, "--checkpoint", str(kept))
    assert result.code == 1
    assert {(kind, at) for kind, at, _, _ in result.findings} == {
        ("checkpoint", base.head.position)
    }
    assert result.report["checkpoint"]["note"].startswith("signature not checked")


def test_a_checkpoint_of_a_shortened_log_fails(base: Base, store: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(checkpoint_text(base.head), encoding="utf-8")
    dispute = base.ids["deadline"]
    for version in (last_version(store, dispute), last_version(store, dispute) - 1):
        at = position(store, dispute, version)
        sql(store, "DELETE FROM escalation_events WHERE id = ?", at)
    reseal(store)  # seals and head rewritten over what is left
    assert check(store).code == 0
    result = check(store, "--checkpoint", str(kept))
    assert result.findings == {("checkpoint", base.head.position, None, None)}
    assert "no record at the checkpoint's position" in result.detail("checkpoint")


def test_a_checkpoint_still_holds_after_the_log_grew(
    base: Base, small_rules: RuleBook, store: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(checkpoint_text(base.head), encoding="utf-8")
    with EscalationEngine(small_rules, url=f"sqlite:///{store}", clock=lambda: T0) as engine:
        engine.mediate(base.ids["deadline"], outcome="failed", mediator="m9", at=T0 + hours(80))
    result = check(store, "--checkpoint", str(kept))
    assert result.code == 0
    assert result.report["position"] > base.head.position


def test_a_checkpoint_of_another_history_of_the_same_length_fails(
    base: Base, small_rules: RuleBook, store: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    later = T0 + hours(1)  # same commands, another clock: other bytes, same number of rows
    with EscalationEngine(small_rules, url=f"sqlite:///{other}", clock=lambda: later) as engine:
        build_log(engine)
        head = read_head(engine.store)
    assert (head.position, head.records) == (base.head.position, base.head.records)
    kept = tmp_path / "other.checkpoint"
    kept.write_text(checkpoint_text(head), encoding="utf-8")
    assert check(other, "--checkpoint", str(kept)).code == 0
    result = check(store, "--checkpoint", str(kept))
    assert result.findings == {("checkpoint", head.position, None, None)}


@pytest.mark.parametrize(
    "text",
    ["", "escalation checkpoint 2\nposition: 1\ndigest: " + "0" * 64, "escalation checkpoint 1\n"],
)
def test_an_unreadable_checkpoint_is_a_usage_error(store: Path, tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.checkpoint"
    bad.write_text(text, encoding="utf-8")
    result = run(store, "--checkpoint", str(bad))
    assert result.code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


# ----------------------------------------------------------- the old format


def test_an_old_store_verifies_with_scheme_1_and_2_mixed(tmp_path: Path) -> None:
    store = copy_store(OLD_STORE, tmp_path)
    EscalationEngine(None, url=f"sqlite:///{store}", clock=lambda: OLD_CLOCK).shutdown()
    assert sql(store, "SELECT DISTINCT scheme FROM escalation_chain") == [(1,)]
    assert check(store).code == 0

    # New commands: scheme-2 records after (and within the disputes of) scheme-1 ones.
    with EscalationEngine(None, url=f"sqlite:///{store}", clock=lambda: OLD_CLOCK) as engine:
        unit = next(u for u, spec in engine.rules.units.items() if spec.tier == "community")
        engine.receive(
            unit=unit,
            category=engine.rules.categories[0],
            source=engine.rules.sources[0],
            summary="新的纠纷",
            received_at=OLD_CLOCK + hours(1),
        )
        engine.tick(OLD_CLOCK + timedelta(days=30))  # moves old open disputes on too
    schemes = dict(sql(store, "SELECT scheme, count(*) FROM escalation_chain GROUP BY scheme"))
    assert schemes[1] == 853 and schemes[2] > 1
    mixed = sql(
        store,
        "SELECT count(DISTINCT e.originator_id) FROM escalation_events e "
        "JOIN escalation_chain c ON c.position = e.id WHERE c.scheme = 2 "
        "AND e.originator_version > 1",
    )
    assert mixed[0][0] > 0  # scheme-2 records chained to scheme-1 ones
    assert check(store).code == 0

    # An edit inside an old record's JSON, still valid JSON: scheme 1 sees it.
    at = 10
    (state,) = sql(store, "SELECT state FROM escalation_events WHERE id = ?", at)[0]
    start = state.index(b'"actor":"') + len(b'"actor":"')
    flip_byte(store, at, offset=start, xor=0x20)  # a letter changes case
    json.loads(sql(store, "SELECT state FROM escalation_events WHERE id = ?", at)[0][0])
    (oid, version) = sql(
        store, "SELECT originator_id, originator_version FROM escalation_events WHERE id = ?", at
    )[0]
    result = check(store)
    assert result.code == 1
    assert ("altered", at, str(UUID(bytes=oid)), version) in result.findings
    assert "scheme 1" in result.detail("altered")


def test_an_old_record_broken_mid_json_is_named(tmp_path: Path) -> None:
    store = copy_store(OLD_STORE, tmp_path)
    EscalationEngine(None, url=f"sqlite:///{store}", clock=lambda: OLD_CLOCK).shutdown()
    flip_byte(store, 500, xor=0x80)
    result = check(store)
    assert result.code == 1
    assert {(kind, at) for kind, at, _, _ in result.findings} == {("altered", 500), ("head", 853)}


# --------------------------------------------------------------- bad input


def _not_sqlite(path: Path) -> None:
    path.write_text("position,digest\n1,abc\n", encoding="utf-8")


def _no_tables(path: Path) -> None:
    sql(path, "CREATE TABLE something (x INTEGER)")


def _never_sealed(path: Path) -> None:
    shutil.copyfile(OLD_STORE, path)  # written before escalation_chain existed


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such file"),
        (_not_sqlite, "not a SQLite database"),
        (_no_tables, "not an escalation store (no table escalation_events)"),
        (_never_sealed, "not an escalation store (no table escalation_chain)"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path: Path, make: Any, message: str) -> None:
    path = tmp_path / "input.db"
    if make is not None:
        make(path)
    for args in ((), ("--json",)):
        result = run(path, *args)
        assert result.code == 2, result
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert message in line and line.startswith("error: ")


# ---------------------------------------------------------------- property


@pytest.fixture(scope="module")
def small_store(
    small_rules: RuleBook, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[int]]:
    path = tmp_path_factory.mktemp("small") / "small.db"
    with EscalationEngine(small_rules, url=f"sqlite:///{path}", clock=lambda: T0) as engine:
        engine.receive(
            unit="c11", category="debt", source="walk_in", summary="欠款", received_at=T0
        )
        disputed = engine.receive(
            unit="c12", category="family", source="petition", summary="家事", received_at=T0
        )
        engine.mediate(disputed, outcome="failed", mediator="m1", at=T0 + hours(2))
    positions = [int(r[0]) for r in sql(path, "SELECT id FROM escalation_events ORDER BY id")]
    return path, positions


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_in_any_record_is_caught(
    small_store: tuple[Path, list[int]], data: st.DataObject
) -> None:
    path, positions = small_store
    at = data.draw(st.sampled_from(positions), label="position")
    (state,) = sql(path, "SELECT state FROM escalation_events WHERE id = ?", at)[0]
    offset = data.draw(st.integers(0, len(state) - 1), label="offset")
    xor = data.draw(st.integers(1, 255), label="xor")
    with tempfile.TemporaryDirectory() as directory:
        store = copy_store(path, Path(directory))
        flip_byte(store, at, offset, xor)
        result = check(store)
    assert result.code == 1
    assert ("altered", at) in {(kind, where) for kind, where, _, _ in result.findings}
