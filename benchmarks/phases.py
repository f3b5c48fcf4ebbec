"""Where an import and a rebuild spend their time, in microseconds per event.

    python benchmarks/phases.py                  # 10,000 receipts
    python benchmarks/phases.py --disputes 20000

Import: the receipts are decided through the pure core (``_replay``: policies,
event objects, the hash chain), then the digest of every event is timed on
its own (the chain computes it for each event's predecessor), then encoding
(the store's mapper) and writing (``append_events``), one batch of 1,000
disputes per transaction. Rebuild: the imported store's read models are
rebuilt with a timer around each step of the runner and the projections.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from run import receipts

import projections.audit as audit
import projections.disputes as disputes
from escalation import EscalationEngine, RuleBook
from escalation.importer import DisputeRecord, _replay
from escalation.persistence import BulkApplicationRecorder

spent: Counter[str] = Counter()


def timed(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - began

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=10_000)
    args = parser.parse_args()
    rules = RuleBook.default()
    folder = Path(tempfile.mkdtemp())
    engine = EscalationEngine(rules, url=f"sqlite:///{folder / 'phases.db'}")
    records = [DisputeRecord(r) for r in receipts(rules, args.disputes, date(2026, 3, 2), seed=5)]
    now = datetime.now(UTC)

    began = time.perf_counter()
    decided = [_replay(rules, r, None, now) for r in records]
    steps = {"decide and build events": time.perf_counter() - began}
    events = [e for d in decided for e in d.collect_events()]
    began = time.perf_counter()
    stored = [engine.store.mapper.to_stored_event(e) for e in events]
    steps["encode"] = time.perf_counter() - began
    recorder = engine.store.recorder
    assert isinstance(recorder, BulkApplicationRecorder)
    began = time.perf_counter()
    for start in range(0, len(stored), 3000):
        recorder.append_events(stored[start : start + 3000])
    steps["write"] = time.perf_counter() - began
    print(f"import of {args.disputes:,} receipts, {len(events):,} events (µs per event):")
    for name, seconds in steps.items():
        print(f"  {name:28} {seconds * 1e6 / len(events):7.1f}")

    timed(type(recorder), "select_notifications", "read")
    timed(type(engine.store.mapper), "to_domain_event", "decode")
    timed(disputes, "timeline_row", "timeline row: build")
    timed(disputes, "insert_rows", "timeline row: write")
    timed(disputes, "upsert", "disputes row: write")
    timed(disputes, "row_from_state", "disputes row: build")
    timed(disputes.DisputesProjection, "apply", "disputes projection (all)")
    timed(audit.AuditProjection, "apply_page", "audit projection")
    began = time.perf_counter()
    applied = engine.rebuild()
    total = time.perf_counter() - began
    print(f"rebuild of {applied:,} events: {applied / total:,.0f} events/s (µs per event):")
    for name, seconds in sorted(spent.items()):
        print(f"  {name:28} {seconds * 1e6 / applied:7.1f}")
    print(f"  {'total':28} {total * 1e6 / applied:7.1f}")
    engine.shutdown()


if __name__ == "__main__":
    main()
