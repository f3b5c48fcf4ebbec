"""What-if replay throughput on a large history, against the engine's live rate.

    python benchmarks/bench_whatif.py [--disputes 200000] [--sample 1500] [--seed 7]
                                      [--jobs 2] [--db DIR] [--keep]

1. History: a year-like run of a large district (``Workload`` intake, the
   demo's mediation sessions, a tick each evening) computed with the pure
   core and written day by day in bulk (Core ``executemany``, as the bulk
   importer does), by ``--jobs`` processes that split the units between
   them. Building it through single engine commands would take hours at this
   size (the live rate below); the log it writes is the one the engine would
   write. Only this setup step is parallel.
2. Live: the first ``--sample`` disputes' facts (receipts, mediations), in the
   same order, through the engine's own commands and ticks on a fresh store.
   That is the engine's live processing rate of these facts, in disputes/s.
   The what-if replay of that store under the same rules must show zero
   differences (checked and printed).
3. What-if: ``simulate`` of the whole history under a candidate with a
   shorter community time limit, streamed from the log, in one process, like
   the live engine; disputes/s.

The ratio printed is what-if disputes/s over live disputes/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from escalation import EscalationEngine, RuleBook
from escalation.aggregates.dispute import Dispute
from escalation.application.importer import insert_events
from escalation.application.whatif.replay_rules import memoised
from escalation.application.whatif.simulate import simulate
from escalation.application.workload import Intake, Workload
from escalation.bootstrap import open_log
from escalation.policies.due import apply_due
from escalation.policies.facts import Mediation, apply_fact, register

console = Console()
START = date(2025, 1, 1)
TAIL = timedelta(days=30)  # days run after the last intake


@dataclass
class Generated:
    disputes: int = 0
    events: int = 0
    days: int = 0
    seconds: float = 0.0
    # The sample's commands, day by day: ("receive", Intake) or ("mediate", id, at, outcome)
    sample: dict[date, list[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(list))
    sample_ids: set[UUID] = field(default_factory=set)
    horizon: datetime | None = None


def per_day(disputes: int) -> int:
    # ~250 working days at full intake and ~115 other days at 35%: a year.
    return max(1, round(disputes / (250 + 115 * 0.35)))


def history(url: str, target: int, sample: int, seed: int, jobs: int) -> Generated:
    """Write the history with ``jobs`` processes (units split between them)."""
    began = time.perf_counter()
    counter: Any = multiprocessing.get_context("spawn").Value("q", 0)
    shares = [target // jobs + (1 if i < target % jobs else 0) for i in range(jobs)]
    with (
        ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_share,
            initargs=(counter,),
        ) as pool,
        _progress() as bar,
    ):
        task = bar.add_task("history: disputes received", total=target)
        futures = [
            pool.submit(history_part, url, shares[i], sample if i == 0 else 0, seed, (i, jobs))
            for i in range(jobs)
        ]
        while not all(f.done() for f in futures):
            bar.update(task, completed=counter.value)
            time.sleep(0.5)
        parts = [f.result() for f in futures]
        bar.update(task, completed=counter.value)
    out = parts[0]
    for other in parts[1:]:
        out.disputes += other.disputes
        out.events += other.events
        out.days = max(out.days, other.days)
        assert other.horizon is not None and out.horizon is not None
        out.horizon = max(out.horizon, other.horizon)
    out.seconds = time.perf_counter() - began
    return out


_COUNTER: Any = None


def _share(counter: Any) -> None:
    global _COUNTER
    _COUNTER = counter


def history_part(url: str, target: int, sample: int, seed: int, part: tuple[int, int]) -> Generated:
    """One process's share: the disputes of its units. Keeps the first ``sample``'s commands."""
    rules = RuleBook.default()
    index, parts = part
    mine = {u for k, u in enumerate(sorted(rules.units)) if k % parts == index}
    out = Generated()
    active: dict[UUID, Dispute] = {}
    with EscalationEngine(rules, url=url) as engine:
        engine.rules = memoised(engine.rules)  # same version, memoised: only computation is faster
        rules = engine.rules
        workload = Workload(rules, seed=seed, per_day=per_day(target * parts))
        last_intake: date | None = None
        for day in _days():
            if last_intake is not None and (not active or day > last_intake + TAIL):
                break  # what is still open stays open at the horizon
            tick_at = workload.local(day, clock_time(20, 0))
            if rules.calendar.is_workday(day):
                _sessions(workload, rules, day, active, out)
            if last_intake is None:
                # The parts' random streams part ways after the first day: keep ids apart.
                intake = [
                    replace(i, request_id=f"part{index}-{i.request_id}")
                    for i in workload.intake(day)
                    if i.unit in mine
                ]
                before = out.disputes
                for item in intake[: target - out.disputes]:
                    _receive(engine, item, day, active, out, sample)
                if _COUNTER is not None:
                    with _COUNTER.get_lock():
                        _COUNTER.value += out.disputes - before
                if out.disputes >= target:
                    last_intake = day
            for d in active.values():  # the evening tick, through the due index
                due = d.state.next_due_at()
                if due is not None and due <= tick_at:
                    apply_due(d, rules, tick_at, tick_at)
            events = [e for d in active.values() for e in d.collect_events()]
            insert_events(engine, events)
            out.events += len(events)
            out.days += 1
            out.horizon = tick_at
            for did in [i for i, d in active.items() if not d.state.is_open]:
                del active[did]
    out.sample = dict(out.sample)  # picklable, to return it from the process
    return out


def _receive(
    engine: EscalationEngine,
    item: Intake,
    day: date,
    active: dict[UUID, Dispute],
    out: Generated,
    sample: int,
) -> None:
    d = register(engine.rules, item.receipt(actor="intake-desk"), engine.clock())
    active[d.id] = d
    out.disputes += 1
    if out.disputes <= sample:
        out.sample_ids.add(d.id)
        out.sample[day].append(("receive", item))


def _days() -> Iterator[date]:
    day = START
    while True:
        yield day
        day += timedelta(days=1)


def _sessions(
    workload: Workload, rules: RuleBook, day: date, active: dict[UUID, Dispute], out: Generated
) -> None:
    """The demo's mediation sessions: each open case may get one today."""
    midnight = workload.local(day, clock_time(0, 0))
    for d in list(active.values()):
        s = d.state
        if s.received_at >= midnight or not s.is_open:
            continue
        if not workload.mediation_today(s.tier):
            continue
        at = workload.working_time(day)
        if s.updated_at is not None and at < s.updated_at:
            continue
        outcome = workload.mediation_outcome(s.tier, s.risk)
        apply_fact(d, Mediation(at, f"mediator@{s.unit}", outcome=outcome), rules, at)
        if d.id in out.sample_ids:
            out.sample[day].append(("mediate", d.id, at, outcome))


def live(url: str, rules: RuleBook, gen: Generated) -> tuple[float, int]:
    """The sample's commands through the engine, with the evening ticks: seconds, disputes."""
    workload = Workload(rules)
    with EscalationEngine(rules, url=url) as engine, _progress() as bar:
        days = sorted(gen.sample)
        task = bar.add_task("live engine: days", total=(days[-1] - days[0]).days + 1)
        began = time.perf_counter()
        day = days[0]
        while day <= days[-1]:
            for command in gen.sample.get(day, []):
                if command[0] == "receive":
                    item: Intake = command[1]
                    engine.receive(
                        unit=item.unit,
                        category=item.category,
                        source=item.source,
                        summary=item.summary,
                        parties=item.parties,
                        amount=item.amount,
                        location=item.location,
                        received_at=item.received_at,
                        request_id=item.request_id,
                        actor="intake-desk",
                    )
                else:
                    _, did, at, outcome = command
                    engine.mediate(did, outcome=outcome, mediator="mediator", at=at)
            engine.tick(workload.local(day, clock_time(20, 0)))
            bar.update(task, advance=1)
            day += timedelta(days=1)
        seconds = time.perf_counter() - began
    return seconds, len(gen.sample_ids)


def candidate(rules: RuleBook) -> RuleBook:
    """A shorter community time limit: the change rule owners ask about most."""
    text = rules.text.replace("handle_within: 5 workdays", "handle_within: 3 workdays", 1)
    if text == rules.text:
        raise SystemExit("the default rule book no longer has 'handle_within: 5 workdays'")
    return RuleBook.from_yaml(text, source="candidate: community within 3 workdays")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disputes", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=1500, help="disputes run live")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2, help="processes writing the history")
    parser.add_argument("--db", type=Path, default=None, help="folder for the stores")
    parser.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    args = parser.parse_args()
    folder = args.db or Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    folder.mkdir(parents=True, exist_ok=True)
    rules = RuleBook.default()
    big, small = folder / "history.db", folder / "live.db"
    for path in (big, small):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    with EscalationEngine(rules, url=f"sqlite:///{big}"):
        pass  # create the store once, before the writers start
    gen = history(f"sqlite:///{big}", args.disputes, args.sample, args.seed, args.jobs)
    live_seconds, live_disputes = live(f"sqlite:///{small}", rules, gen)

    check = simulate(open_log(f"sqlite:///{small}"), rules)
    with _progress() as bar:
        task = bar.add_task("what-if replay", total=gen.disputes)
        run = simulate(
            open_log(f"sqlite:///{big}"),
            candidate(rules),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    live_rate = live_disputes / live_seconds
    table = Table(title=f"what-if throughput ({folder})", title_justify="left")
    for col in ("step", "disputes", "events", "seconds", "disputes/s"):
        table.add_column(col, justify="left" if col == "step" else "right")
    table.add_row(
        "history written (pure core + bulk insert)",
        f"{gen.disputes:,}",
        f"{gen.events:,}",
        f"{gen.seconds:,.1f}",
        f"{gen.disputes / gen.seconds:,.0f}",
    )
    table.add_row(
        "live engine: commands + ticks, same facts",
        f"{live_disputes:,}",
        "",
        f"{live_seconds:,.1f}",
        f"{live_rate:,.1f}",
    )
    table.add_row(
        "what-if replay under the candidate",
        f"{run.disputes:,}",
        "",
        f"{run.seconds:,.1f}",
        f"{run.rate:,.0f}",
    )
    console.print(table)
    c = run.comparison
    console.print(
        f"ratio what-if / live: [bold]{run.rate / live_rate:,.1f}×[/bold]; candidate changed "
        f"{c.changed:,} of {run.disputes:,} disputes (horizon {run.window.horizon:%Y-%m-%d}); "
        f"{run.reread:,} disputes re-read to bound memory"
    )
    console.print(
        f"fidelity: the live sample replayed under its own rules differs in "
        f"{check.comparison.decisions_differ} of {check.disputes} disputes (must be 0)"
    )
    if not args.keep and args.db is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
