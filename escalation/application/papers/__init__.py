"""The papers a centre keeps on a case (一表两单四函一书), rendered from its events.

``PaperDesk(engine)`` numbers and renders them: ``papers(id)``, ``paper(id,
kind)``, ``day(unit, date)``; each ``Paper`` has its ``html`` and ``pdf()``.
"""

from __future__ import annotations

from escalation.application.papers.desk import Paper, PaperDesk
from escalation.application.papers.kinds import KINDS, LETTERS, Kind

__all__ = ["KINDS", "LETTERS", "Kind", "Paper", "PaperDesk"]
