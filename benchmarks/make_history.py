"""Write a workload history as an import file (JSON Lines) for ``escalation import``.

    python benchmarks/make_history.py history.jsonl --weeks 8 --per-day 400

Each line is a seeded receipt in the default rule book's district with the
mediations and closes that followed it (``Workload.records``).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from escalation import RuleBook
from escalation.application.import_format import record_line
from escalation.application.workload import Workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--per-day", type=int, default=400)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 6))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    workload = Workload(RuleBook.default(), seed=args.seed, per_day=args.per_day)
    lines = 0
    with args.out.open("w", encoding="utf-8") as out:
        for record in workload.records(args.start, 7 * args.weeks):
            out.write(record_line(record) + "\n")
            lines += 1
    print(f"{lines:,} disputes written to {args.out}")


if __name__ == "__main__":
    main()
