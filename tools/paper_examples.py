#!/usr/bin/env python3
"""Write an example of every paper kind to docs/papers/ (KIND.pdf and KIND.png).

Run from the repository root: ``python tools/paper_examples.py [OUT]``. It
plays one case through the default rule book in a throwaway store (received,
accepted, noticed at the community, escalated, supervised, summoned, its
departments reminded, closed; a second receipt declined), prints each kind's
latest paper to PDF and draws its first page to PNG with ``pdftoppm``
(``scripts/ensure-print-tools`` installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalation import EscalationEngine, RuleBook
from escalation.application.papers import KINDS, PaperDesk

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rules = RuleBook.from_yaml(
        RuleBook.default().text + "\nacceptance: {mode: explicit, within: 1 workday}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        key = os.urandom(32)
        now = [T0]
        url = f"sqlite:///{tmp}/papers.db"
        with EscalationEngine(rules, url=url, clock=lambda: now[0], master_key=key) as engine:
            main_case = engine.receive(
                unit="huangbei-c01",
                category="wage_arrears",
                source="grid_patrol",
                summary="某工地拖欠工人工资（示例）",
                claim="结清拖欠工资",
                parties=3,
                amount=42_000,
                received_at=T0,
                people=[{"name": "张三（示例）", "phone": "13800000000"}],
            )
            engine.accept(main_case, actor="desk", at=T0 + timedelta(hours=1))
            now[0] = T0 + timedelta(days=10)
            engine.tick(now[0])
            engine.supervise(main_case, notice="supervision", actor="centre", at=now[0])
            engine.summon(
                main_case, lead="human_resources_bureau", participants=["court"], actor="centre"
            )
            now[0] = T0 + timedelta(days=14)
            engine.tick(now[0])
            engine.close(main_case, outcome="resolved", actor="lead", at=now[0])
            other = engine.receive(
                unit="huangbei-c02",
                category="neighbour",
                source="walk_in",
                summary="示例",
                received_at=now[0],
            )
            engine.decline(other, reason="不属于受理范围", actor="desk", at=now[0])
            desk = PaperDesk(engine)
            found = {p.kind: p for p in desk.papers(other)}
            found.update({p.kind: p for p in desk.papers(main_case)})
            for kind in KINDS:
                paper = found[kind.code]
                pdf = out / f"{kind.code}.pdf"
                pdf.write_bytes(paper.pdf())
                draw = [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "60",
                    "-singlefile",
                    str(pdf),
                    str(out / kind.code),
                ]
                subprocess.run(draw, check=True)  # noqa: S603 - fixed arguments, our own files
                print(f"{pdf}  {paper.number}  {paper.title} → {paper.addressee}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/papers"))
