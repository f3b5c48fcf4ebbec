"""Where an import and a rebuild spend their time, in microseconds per event.

    python benchmarks/phases.py                  # 10,000 receipts
    python benchmarks/phases.py --disputes 20000

Import: the receipts are decided through the pure core (``_replay``: policies,
event objects), then encoded (the store's mapper), then written through the
importer's own ``_write`` (``append_events``), one batch of 1,000 disputes per
transaction, with a timer around the recorder's ``seal`` (chain digests and
log head, same transaction). The seal's two digests per record
(``record_digest`` and ``advance``) are also timed alone, without a database.
Rebuild: the imported store's read models are rebuilt with a timer around
each step of the runner and the projections. The heap this script holds is
frozen before each timed step (``quiet_heap``).
"""

from __future__ import annotations

import argparse
import gc
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

from escalation import EscalationEngine, RuleBook
from escalation.adapters import persistence
from escalation.adapters.log_digests import GENESIS, advance, as_uuid, record_digest
from escalation.adapters.persistence import BulkApplicationRecorder
from escalation.application import importer
from escalation.application.importer import DisputeRecord, ImportReport, _replay
from projections import audit, disputes

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


def quiet_heap() -> None:
    """Freeze what this script holds (every decided dispute, event and row).

    Called before a timed step: otherwise the collector's passes over it land on
    whichever step allocates most. The importer and the rebuild themselves hold little.
    """
    gc.collect()
    gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=10_000)
    args = parser.parse_args()
    rules = RuleBook.default()
    folder = Path(tempfile.mkdtemp())
    engine = EscalationEngine(rules, url=f"sqlite:///{folder / 'phases.db'}")
    records = [DisputeRecord(r) for r in receipts(rules, args.disputes, date(2026, 3, 2), seed=5)]
    now = datetime.now(UTC)

    quiet_heap()
    began = time.perf_counter()
    decided = [_replay(rules, r, None, now) for r in records]
    steps = {"decide and build events": time.perf_counter() - began}
    per_dispute = [d.collect_events() for d in decided]
    events = [e for d in per_dispute for e in d]
    mapper = engine.store.mapper
    quiet_heap()
    began = time.perf_counter()
    stored = [[mapper.to_stored_event(e) for e in d] for d in per_dispute]
    steps["encode"] = time.perf_counter() - began
    flat = [e for d in stored for e in d]
    quiet_heap()
    began = time.perf_counter()
    running, prevs = GENESIS, dict[Any, str]()
    for position, e in enumerate(flat, start=1):
        dispute = as_uuid(e.originator_id)
        prev = prevs.get(dispute, GENESIS)
        prevs[dispute] = record_digest(dispute, e.originator_version, e.topic, e.state, prev)
        running = advance(running, position, dispute, e.originator_version, e.topic, e.state)
    steps["(seal digests alone, no db)"] = time.perf_counter() - began
    recorder = engine.store.recorder
    assert isinstance(recorder, BulkApplicationRecorder)
    timed(importer, "_write", "write (importer._write)")
    timed(persistence, "seal", "  of which seal")
    timed(persistence, "_previous_digests", "    of which prev lookup")
    report = ImportReport()
    quiet_heap()
    for start in range(0, len(stored), 1000):
        importer._write(engine, stored[start : start + 1000], report)
    assert report.events == len(events), report
    for label in ("write (importer._write)", "  of which seal", "    of which prev lookup"):
        steps[label] = spent.pop(label)
    steps["  rest: insert, ids, check"] = (
        steps["write (importer._write)"] - steps["  of which seal"]
    )
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
    quiet_heap()
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
