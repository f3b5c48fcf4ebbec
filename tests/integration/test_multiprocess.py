"""Many workers, one database: OS processes racing on the same disputes.

``WORKERS`` processes (spawned, so nothing is shared but the database) start
together on an empty database, all register the same disputes (same request
ids), then in lockstep rounds issue commands - mediate, supervise, escalate,
close, reopen, some with a request id every worker sends - and tick, on the
same few disputes at once, catching the read models up in small pages.

Afterwards the log must show: every command that returned success, exactly
once; each rule-issued notice at most once per tier visit and each
escalation taken from the visit it ended (none twice for the same cause);
every decision by a rule one the policies would take on the state before it;
conflicts actually happened and were retried; and the read models equal a
rebuild from scratch in a fresh engine.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import traceback
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from escalation import EscalationEngine, RuleBook
from escalation.aggregates import lifecycle
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.state import DisputeState
from escalation.errors import EscalationError
from escalation.policies.decide import decide
from escalation.policies.decisions import Accept, AssessRisk, Decision, Escalate, Notify, Route
from projections.disputes import disputes, row_from_state
from tests.helpers import SMALL_RULES, T0, read_model_rows

WORKERS = 5
DISPUTES = 16
ROUNDS = 14
OPS = 6  # commands per worker per round
STEP = timedelta(hours=6)  # virtual time per round: 84 hours in all
WAIT = 120.0  # seconds a worker waits for the others at a barrier

Result = dict[str, Any]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _receive_args(j: int) -> dict[str, Any]:
    unit = ("c11", "c12", "c21")[j % 3]
    if j % 5 == 0:  # medium risk, many parties: elevated to the street at receipt
        return {"unit": unit, "category": "wage_arrears", "parties": 12, "amount": 30_000}
    if j % 7 == 6:  # high risk: elevated to the district
        return {"unit": unit, "category": "wage_arrears", "parties": 40, "amount": 0}
    return {"unit": unit, "category": ("family", "neighbour", "debt")[j % 3], "parties": 2}


def _command(rng: random.Random) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.12:
        return "mediate", {"outcome": "failed", "mediator": "m"}
    if roll < 0.40:
        return "mediate", {"outcome": "partial", "mediator": "m"}
    if roll < 0.45:
        return "mediate", {"outcome": "resolved", "mediator": "m"}
    if roll < 0.75:
        return "supervise", {"notice": rng.choice(["prompt", "warning"]), "actor": "lead"}
    if roll < 0.80:
        return "escalate", {"reason": "asked by the parties", "actor": "clerk"}
    if roll < 0.87:
        return "close", {"outcome": "agreement", "actor": "lead"}
    return "reopen", {"reason": "not settled", "actor": "follow-up"}


def worker(index: int, url: str, barrier: Any, results: Any) -> None:
    """One OS process: register, then command and tick in lockstep rounds."""
    try:
        results.put(("done", index, _work(index, url, barrier)))
    except BaseException:
        barrier.abort()  # the others must not wait for this one forever
        results.put(("error", index, traceback.format_exc()))


def _work(index: int, url: str, barrier: Any) -> Result:
    rules = RuleBook.from_yaml(SMALL_RULES, source="small.yaml")
    clock = {"now": T0}
    rng = random.Random(f"worker-{index}")
    out: Result = {"ok": [], "refused": Counter(), "conflicts": 0, "ticks": Counter()}

    barrier.wait(WAIT)  # all at once on an empty database: they race to create the tables
    engine = EscalationEngine(rules, url=url, clock=lambda: clock["now"], max_retries=50)
    engine.projections.page_size = 5  # many small pages: catch-ups race page by page
    save = engine.store.save

    def counting_save(*objects: Any, **kwargs: Any) -> Any:
        try:
            return save(*objects, **kwargs)
        except IntegrityError:  # another process wrote first: the engine retries
            out["conflicts"] += 1
            raise

    engine.store.save = counting_save  # type: ignore[method-assign]

    # Everyone registers the same disputes, with the same request ids.
    barrier.wait(WAIT)
    ids: list[UUID] = []
    for j in sorted(range(DISPUTES), key=lambda _: rng.random()):
        args = _receive_args(j)
        did = engine.receive(
            source="walk_in",
            summary=f"dispute {j}",
            received_at=T0 + minutes(j),
            request_id=f"receive-{j}",
            **args,
        )
        out["ok"].append((f"receive-{j}", str(did), "receive"))
        ids.append(did)
    ids.sort()

    for rnd in range(1, ROUNDS + 1):
        base = T0 + rnd * STEP
        clock["now"] = base
        barrier.wait(WAIT)
        for k in range(OPS):
            shared = k % 3 == 0  # every worker sends this very command, same request id
            pick = random.Random(f"shared-{rnd}-{k}") if shared else rng
            did = pick.choice(ids)
            name, kwargs = _command(pick)
            request_id = f"shared-{rnd}-{k}" if shared else f"w{index}-{rnd}-{k}"
            at = base + minutes(k)
            try:
                getattr(engine, name)(did, at=at, request_id=request_id, **kwargs)
            except EscalationError as refused:  # closed, backwards in time, top tier...
                out["refused"][type(refused).__name__] += 1
            else:
                out["ok"].append((request_id, str(did), name))
        report = engine.tick(base + minutes(OPS + index))
        out["ticks"].update(report.events)
        if rnd % 4 == index % 4:
            engine.queue()  # a read: catches up too
    barrier.wait(WAIT)
    engine.catch_up()
    out["runner_retries"] = engine.projections.retries
    engine.shutdown()
    return out


def run_workers(url: str) -> list[Result]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(i, url, barrier, results), name=f"worker-{i}")
        for i in range(WORKERS)
    ]
    for p in procs:
        p.start()
    done: list[Result] = []
    errors: list[str] = []
    try:
        for _ in procs:
            kind, index, payload = results.get(timeout=600)
            if kind == "done":
                done.append(payload)
            else:
                errors.append(f"worker {index}:\n{payload}")
    except queue.Empty:
        errors.append("workers did not finish within 10 minutes")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert not errors, "\n".join(errors)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    return done


def _matches(decision: Decision, event: Dispute.Event) -> bool:
    if decision.at != event.occurred_at or decision.rule_id != getattr(event, "rule_id", None):
        return False
    e: Any = event
    if isinstance(decision, AssessRisk):
        return isinstance(event, Dispute.RiskAssessed) and e.level == decision.level
    if isinstance(decision, Route):
        return isinstance(event, Dispute.Routed) and e.department == decision.department
    if isinstance(decision, Escalate):
        return isinstance(event, Dispute.Escalated) and (e.to_unit, e.mode) == (
            decision.to_unit,
            decision.mode,
        )
    if isinstance(decision, Notify):
        return isinstance(event, Dispute.Supervised) and e.notice == decision.notice
    if isinstance(decision, Accept):
        return isinstance(event, lifecycle.Accepted)
    return False


def check_history(events: list[Dispute.Event], rules: RuleBook) -> None:
    """One dispute's log: no decision twice for the same cause, none without one."""
    did = events[0].originator_id
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1)), did
    assert sum(isinstance(e, Dispute.Received) for e in events) == 1, did
    aggregate: Any = None
    notices: set[tuple[int, str, str]] = set()
    for event in events:
        before: DisputeState | None = None if aggregate is None else aggregate.state
        if before is not None:
            if isinstance(event, Dispute.Supervised) and event.by_rule:
                # Once per ladder: the visit's, or a step's (acceptance, follow-up).
                cause = (before.visit, event.about, event.notice)
                assert cause not in notices, f"{did}: rule notice {cause} issued twice"
                issued = before.step_notices if event.about else before.notices
                assert event.notice not in issued, f"{did}: {event.notice} again"
                notices.add(cause)
            if isinstance(event, Dispute.Escalated):
                # Taken from the visit it ends: never a second time from the same one.
                assert (event.from_unit, event.from_tier) == (before.unit, before.tier), did
                assert before.is_open, f"{did}: escalated while closed"
            if event.by_rule:
                due = decide(before, rules, event.occurred_at)
                assert any(_matches(d, event) for d in due), (
                    f"{did} v{event.originator_version}: {type(event).__name__} "
                    f"({getattr(event, 'rule_id', None)}) is not what the rules decide: {due}"
                )
        aggregate = event.mutate(aggregate)


def test_many_workers_one_database(small_rules: RuleBook, db_url: str, database: str) -> None:
    if database == "sqlite":
        # Several processes on one SQLite file take turns writing; under load a
        # turn can take longer than the driver's default 5 s wait.
        db_url += "?timeout=60"
    results = run_workers(db_url)
    summary = {
        "succeeded": sum(len(r["ok"]) for r in results),
        "refused": sum((r["refused"] for r in results), Counter()),
        "conflicts": sum(r["conflicts"] for r in results),
        "runner retries": sum(r["runner_retries"] for r in results),
        "tick events": sum((r["ticks"] for r in results), Counter()),
    }
    print(summary)  # shown with -s, and on failure

    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as engine:
        notifications = engine.store.recorder.select_notifications(start=1, limit=10**7)
        log: dict[UUID, list[Dispute.Event]] = {}
        for n in notifications:
            event: Any = engine.store.mapper.to_domain_event(n)
            log.setdefault(event.originator_id, []).append(event)

        # The same disputes for everyone: registered once each, whoever won.
        assert len(log) == DISPUTES
        request_ids = Counter(
            r for events in log.values() for e in events if (r := getattr(e, "request_id", None))
        )
        assert all(count == 1 for count in request_ids.values()), request_ids.most_common(3)

        # No event lost: every command that returned success is in the log, once.
        succeeded = [ok for result in results for ok in result["ok"]]
        for request_id, did, name in succeeded:
            found = [e for e in log[UUID(did)] if getattr(e, "request_id", None) == request_id]
            assert len(found) == 1, f"{name} {request_id} on {did}: {len(found)} events"
        attempts = WORKERS * (DISPUTES + ROUNDS * OPS)
        assert len(succeeded) > attempts // 3, (len(succeeded), attempts)
        shared = {r for r, _, _ in succeeded if r.startswith("shared-")}
        assert shared, "no command sent by every worker succeeded"

        # Nothing escalated or noticed twice for the same cause; no decision without one.
        for events in log.values():
            check_history(events, small_rules)
        by_rule = Counter(type(e).__name__ for es in log.values() for e in es if e.by_rule)
        assert by_rule["Supervised"] > 0 and by_rule["Escalated"] > 0, by_rule

        # The workers really collided, and retried.
        conflicts = sum(r["conflicts"] for r in results)
        assert conflicts > 0, "no optimistic-concurrency conflict: the test raced nothing"

        # The read models: caught up, equal to the aggregates and to a rebuild.
        assert engine.projections.lag() == 0
        incremental = read_model_rows(engine)
        by_id = {row[0]: row for row in incremental["escalation_disputes"]}
        columns = [c.name for c in disputes.columns]
        for did in log:
            expected = row_from_state(engine.get(did))
            assert dict(zip(columns, by_id[did], strict=True)) == {c: expected[c] for c in columns}
    with EscalationEngine(small_rules, url=db_url, clock=lambda: T0) as fresh:
        fresh.projections.page_size = 7  # other page breaks than the workers had
        fresh.rebuild()
        assert read_model_rows(fresh) == incremental
