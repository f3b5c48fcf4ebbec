"""Write throughput of the engine against plain ``eventsourcing`` on the same SQLite setup.

    python benchmarks/bench_core.py [--n 3000] [--demo-days 30]

Baseline: an ``eventsourcing`` application on ``eventsourcing-sqlalchemy`` and a
SQLite file, saving one bare aggregate (one event) per call. Measured in the
same run: single ``engine.receive`` calls (each writes Received, RiskAssessed,
Routed and sometimes Escalated) and the demo's simulated month. Ratios are of
events/s and of calls/s against the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from escalation import EscalationEngine, RuleBook
from escalation.demo import run_demo
from escalation.workload import Workload


class Bare(Aggregate):
    pass


class BareApp(Application[object]):
    name = "bare"


def baseline(folder: Path, n: int) -> float:
    app = BareApp(
        env={
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "SQLALCHEMY_URL": f"sqlite:///{folder / 'bare.db'}",
        }
    )
    began = time.perf_counter()
    for _ in range(n):
        app.save(Bare())
    return n / (time.perf_counter() - began)


def receives(folder: Path, n: int) -> tuple[float, float]:
    rules = RuleBook.default()
    with EscalationEngine(rules, url=f"sqlite:///{folder / 'receive.db'}") as engine:
        items = []
        workload = Workload(rules, seed=7, per_day=200)
        day = date(2026, 9, 1)
        while len(items) < n:
            items += workload.intake(day)
            day += timedelta(days=1)
        items = items[:n]
        began = time.perf_counter()
        for item in items:
            engine.receive(
                unit=item.unit,
                category=item.category,
                source=item.source,
                summary=item.summary,
                parties=item.parties,
                amount=item.amount,
                received_at=item.received_at,
            )
        engine.catch_up()  # read models included: the queue reflects every receive
        elapsed = time.perf_counter() - began
        events = engine.projections.head()
    return n / elapsed, events / elapsed


def demo(folder: Path, days: int) -> tuple[float, int]:
    with EscalationEngine(RuleBook.default(), url=f"sqlite:///{folder / 'demo.db'}") as engine:
        began = time.perf_counter()
        run_demo(engine, date(2026, 9, 1), days=days)
        elapsed = time.perf_counter() - began
        events = engine.projections.head()
    return events / elapsed, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--demo-days", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = baseline(folder, args.n)
        calls, events = receives(folder, args.n)
        demo_rate, demo_events = demo(folder, args.demo_days)
    print(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, n={args.n}")
    print(f"{'workload':<44}{'rate':>14}{'ratio':>8}")
    print(f"{'plain eventsourcing, 1 bare aggregate/save':<44}{base:>10,.0f} ev/s{1:>8.2f}")
    print(f"{'engine.receive, events/s':<44}{events:>10,.0f} ev/s{events / base:>8.2f}")
    print(f"{'engine.receive, calls/s':<44}{calls:>10,.0f} /s  {calls / base:>8.2f}")
    print(f"{f'demo ({args.demo_days} days, {demo_events} events)':<44}"
          f"{demo_rate:>10,.0f} ev/s{demo_rate / base:>8.2f}")


if __name__ == "__main__":
    main()
