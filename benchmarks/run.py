"""The benchmark suite: one command, a table, a chart, each figure beside its baseline.

    python benchmarks/run.py                 # full: tick at 10k / 100k / 1M open disputes
    python benchmarks/run.py --quick         # small sizes, a minute or two
    python benchmarks/run.py --sizes 10000 100000 --out benchmarks/results

Measured in one run, on SQLite files in a temporary folder:

* single-command latency (p50/p99) and throughput of ``engine.receive`` against
  plain ``eventsourcing`` saving one bare aggregate per call on the same setup
  (interleaved call for call), and the demo's month against the same baseline;
* bulk import (``escalation.application.importer``) against raw ``sqlite3.executemany`` of
  the same stored rows into an equivalent table;
* tick cost with D disputes falling due among N open, for each N;
* rebuild of every read model against plainly reading and decoding the same
  log, and the rebuild's peak memory (a child process each) at half and full log.

Writes ``latest.md`` (the table) and ``benchmarks.svg`` (ratios as bars) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from escalation import EscalationEngine, RuleBook
from escalation.application.demo import run_demo
from escalation.application.importer import DisputeRecord, Receipt, import_disputes
from escalation.application.workload import Workload


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        if not self.baseline:
            return 0.0
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


class Bare(Aggregate):
    pass


class BareApp(Application[object]):
    name = "bare"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bare_app(path: Path) -> BareApp:
    env = {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": f"sqlite:///{path}"}
    return BareApp(env=env)


def receipts(rules: RuleBook, count: int, start: date, seed: int = 11) -> list[Receipt]:
    workload = Workload(rules, seed=seed, per_day=max(50, count // 30))
    out: list[Receipt] = []
    day = start
    while len(out) < count:
        out += [i.receipt(f"{seed}-{i.request_id}") for i in workload.intake(day)]
        day += timedelta(days=1)
    return out[:count]


def commands(folder: Path, rules: RuleBook, n: int) -> list[Row]:
    """Receives and bare saves interleaved one for one, so a noisy machine slows both alike."""
    app = bare_app(folder / "bare.db")
    engine = EscalationEngine(rules, url=f"sqlite:///{folder / 'latency.db'}")
    base: list[float] = []
    ours: list[float] = []
    for r in receipts(rules, n, date(2026, 3, 2)):
        began = time.perf_counter()
        app.save(Bare())
        base.append(time.perf_counter() - began)
        began = time.perf_counter()
        engine.receive(
            unit=r.unit,
            category=r.category,
            source=r.source,
            summary=r.summary,
            parties=r.parties,
            amount=r.amount,
            received_at=r.received_at,
        )
        ours.append(time.perf_counter() - began)
    events = engine.projections.head()
    engine.shutdown()
    ms = 1000.0
    return [
        Row(
            "receive latency p50",
            percentile(ours, 0.5) * ms,
            "ms",
            "bare save p50",
            percentile(base, 0.5) * ms,
            higher_is_better=False,
        ),
        Row(
            "receive latency p99",
            percentile(ours, 0.99) * ms,
            "ms",
            "bare save p99",
            percentile(base, 0.99) * ms,
            higher_is_better=False,
        ),
        Row("receive throughput", n / sum(ours), "calls/s", "bare saves", n / sum(base)),
        Row("receive, events written", events / sum(ours), "events/s", "bare saves", n / sum(base)),
    ]


def demo(folder: Path, rules: RuleBook, days: int) -> list[Row]:
    """The demo's month; bare saves measured just before and after, averaged."""
    app = bare_app(folder / "bare-demo.db")

    def bare_rate(count: int = 300) -> float:
        began = time.perf_counter()
        for _ in range(count):
            app.save(Bare())
        return count / (time.perf_counter() - began)

    before = bare_rate()
    with EscalationEngine(rules, url=f"sqlite:///{folder / 'demo.db'}") as engine:
        began = time.perf_counter()
        run_demo(engine, date(2026, 9, 1), days=days)
        elapsed = time.perf_counter() - began
        events = engine.projections.head()
    base = (before + bare_rate()) / 2
    return [
        Row(
            f"demo, {days} days ({events:,} events)",
            events / elapsed,
            "events/s",
            "bare saves",
            base,
        )
    ]


def bulk_import(folder: Path, rules: RuleBook, n: int) -> tuple[list[Row], Path]:
    """One process, then worker processes (one per CPU), each into a fresh store."""
    records = [DisputeRecord(r) for r in receipts(rules, n, date(2026, 3, 2), seed=5)]
    jobs = os.cpu_count() or 1
    rates: dict[int, float] = {}
    for j in sorted({1, jobs}):
        path = folder / f"import{j}.db"
        engine = EscalationEngine(rules, url=f"sqlite:///{path}")
        began = time.perf_counter()
        report = import_disputes(engine, records, batch=1000, jobs=j)
        rates[j] = report.events / (time.perf_counter() - began)
        if j == 1:
            # Baseline: the same stored rows through raw sqlite3.executemany.
            rows = [
                (n.originator_id.hex, n.originator_version, n.topic, n.state)
                for n in engine.store.recorder.select_notifications(start=1, limit=report.events)
            ]
        engine.shutdown()
    raw = sqlite3.connect(folder / "raw.db")
    raw.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, originator_id TEXT, "
        "originator_version INTEGER, topic TEXT, state BLOB, "
        "UNIQUE (originator_id, originator_version))"
    )
    began = time.perf_counter()
    for start in range(0, len(rows), 5000):
        with raw:
            raw.executemany(
                "INSERT INTO events (originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                rows[start : start + 5000],
            )
    raw_rate = len(rows) / (time.perf_counter() - began)
    raw.close()
    out = [
        Row(f"bulk import, jobs={j}", rate, "events/s", "raw sqlite3.executemany", raw_rate)
        for j, rate in rates.items()
    ]
    return out, folder / "import1.db"


def tick_cost(folder: Path, rules: RuleBook, sizes: list[int], due: int) -> list[Row]:
    """The cost of a tick per store size.

    Each store: ``due`` disputes received early (their notices have fallen due)
    among ``size`` open ones received later (nothing due yet).
    """
    costs: dict[int, float] = {}
    for size in sizes:
        engine = EscalationEngine(rules, url=f"sqlite:///{folder / f'tick{size}.db'}")
        early = receipts(rules, due, date(2026, 3, 2), seed=size)
        late = receipts(rules, size - due, date(2026, 3, 23), seed=size + 1)
        import_disputes(engine, [DisputeRecord(r) for r in early + late], batch=2000)
        engine.catch_up()
        now = datetime(2026, 3, 23, 0, 0, tzinfo=UTC)
        began = time.perf_counter()
        report = engine.tick(now)
        costs[size] = time.perf_counter() - began
        assert report.disputes <= due, report
        engine.shutdown()
    smallest = min(sizes)
    return [
        Row(
            f"tick, {due} due among {size:,} open",
            costs[size] * 1000,
            "ms",
            f"same at {smallest:,} open",
            costs[smallest] * 1000,
            higher_is_better=False,
        )
        for size in sizes
    ]


def history_store(path: Path, rules: RuleBook, events: int) -> Path:
    """A store of at least ``events`` events: the workload's histories, bulk imported."""
    engine = EscalationEngine(rules, url=f"sqlite:///{path}")
    workload = Workload(rules, seed=2025, per_day=400)
    day = date(2025, 1, 1)
    began = time.perf_counter()
    while engine.projections.head() < events:
        batch = list(workload.records(day, 7))
        import_disputes(
            engine,
            batch,
            until=datetime.combine(day + timedelta(days=60), datetime.min.time(), UTC),
            batch=2000,
        )
        day += timedelta(days=7)
        done = engine.projections.head()
        rate = done / (time.perf_counter() - began)
        print(f"  history: {done:,} events ({rate:,.0f}/s)", file=sys.stderr)
    engine.shutdown()
    return path


CHILD = """
import json, resource, sys, time
from escalation import EscalationEngine, RuleBook
url, mode, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
e = EscalationEngine(RuleBook.default(), url=url)
began = time.perf_counter()
if mode in ("read", "stock-read"):
    from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
    r, m, pos, n = e.store.recorder, e.store.mapper, 0, 0
    # stock-read: eventsourcing-sqlalchemy's own (ORM) reader; read: the store's Core reader.
    select = r.select_notifications
    if mode == "stock-read":
        select = lambda **kw: SQLAlchemyApplicationRecorder.select_notifications(r, **kw)
    while n < limit:
        page = select(start=pos + 1, limit=min(2000, limit - n))
        if not page:
            break
        for x in page:
            m.to_domain_event(x)
        n += len(page)
        pos = page[-1].id
else:
    for p in e.projections.projections:
        e.projections.reset(p)
    n = e.projections.catch_up(stop=limit)
elapsed = time.perf_counter() - began
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"events": n, "seconds": elapsed, "peak_kib": peak}))
"""


def child(url: str, mode: str, limit: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, mode, str(limit)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def rebuild(path: Path) -> list[Row]:
    url = f"sqlite:///{path}"
    with EscalationEngine(RuleBook.default(), url=url) as engine:
        total = engine.projections.head()
    stock = child(url, "stock-read", total)
    read = child(url, "read", total)
    full = child(url, "rebuild", total)
    half = child(url, "rebuild", total // 2)  # leaves the read models half built
    rate = full["events"] / full["seconds"]
    return [
        Row(
            f"rebuild ({total:,} events)",
            rate,
            "events/s",
            "read + decode, eventsourcing's reader",
            stock["events"] / stock["seconds"],
        ),
        Row(
            f"rebuild ({total:,} events)",
            rate,
            "events/s",
            "read + decode, the store's reader",
            read["events"] / read["seconds"],
        ),
        Row(
            "rebuild peak memory, full log",
            full["peak_kib"] / 1024,
            "MiB",
            "same, half the log",
            half["peak_kib"] / 1024,
            higher_is_better=False,
        ),
    ]


def svg(rows: list[Row]) -> str:
    width, bar_h = 760, 22
    height = len(rows) * (bar_h + 8) + 40
    peak = max([r.ratio for r in rows] + [1.0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        '<text x="0" y="14" font-size="13">ratio to baseline (1 = as good as baseline)</text>',
    ]
    x0, y = 300, 28
    scale = (width - x0 - 60) / peak
    for r in rows:
        colour = "#2f855a" if r.ratio >= 0.5 else "#c53030"
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{r.name}</text>'
            f'<rect x="{x0}" y="{y}" width="{r.ratio * scale:.1f}" height="{bar_h}" '
            f'fill="{colour}"/><text x="{x0 + r.ratio * scale + 5:.1f}" y="{y + 15}" '
            f'font-size="12">{r.ratio:.2f}</text>'
        )
        y += bar_h + 8
    parts.append(
        f'<line x1="{x0 + scale}" y1="24" x2="{x0 + scale}" y2="{y}" stroke="#555" '
        'stroke-dasharray="4"/></svg>'
    )
    return "".join(parts)


def table(rows: list[Row]) -> str:
    lines = ["| measure | value | baseline (same run) | ratio |", "|---|---:|---|---:|"]
    lines.extend(
        f"| {r.name} | {r.value:,.1f} {r.unit} | {r.baseline_name}: {r.baseline:,.1f} "
        f"{r.unit} | {r.ratio:.2f} |"
        for r in rows
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="escalation benchmark suite")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--sizes", type=int, nargs="+", help="open disputes for the tick cost")
    parser.add_argument("--import-disputes", type=int, help="disputes in the bulk import")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--rebuild-log",
        type=int,
        metavar="EVENTS",
        help="only measure rebuild, on a workload history of at least EVENTS events",
    )
    parser.add_argument("--store", type=Path, help="with --rebuild-log: keep/reuse the store here")
    args = parser.parse_args()
    if args.rebuild_log:
        store = args.store or Path(tempfile.mkdtemp()) / "history.db"
        if not store.exists():
            history_store(store, RuleBook.default(), args.rebuild_log)
        print(table(rebuild(store)))
        return
    sizes = args.sizes or ([2_000, 20_000] if args.quick else [10_000, 100_000, 1_000_000])
    imports = args.import_disputes or (5_000 if args.quick else 50_000)
    rules = RuleBook.default()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = commands(folder, rules, 300 if args.quick else 2000)
        rows += demo(folder, rules, 5 if args.quick else 30)
        imported, store = bulk_import(folder, rules, imports)
        rows += imported
        rows += tick_cost(folder, rules, sizes, due=100)
        rows += rebuild(store)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {time.perf_counter() - began:.0f}s"
    text = f"`python benchmarks/run.py {' '.join(sys.argv[1:])}` ({stamp})\n\n{table(rows)}\n"
    (args.out / "latest.md").write_text(text, encoding="utf-8")
    (args.out / "benchmarks.svg").write_text(svg(rows), encoding="utf-8")
    print(text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
