"""Writing a review's files: ``<kind>-<period>.md`` and ``.html``, each replaced atomically."""

from __future__ import annotations

from pathlib import Path

from escalation.adapters.logs import get_logger
from escalation.application.figures_report import Labeller, code
from escalation.application.reviews.model import Review
from escalation.application.reviews.render import render_html, render_markdown

log = get_logger("escalation.reviews")


def write_review(review: Review, out: Path, label: Labeller = code) -> tuple[Path, Path]:
    """Write ``<kind>-<period>.md`` and ``.html`` into ``out`` (replaced atomically).

    ``label``: how codes read (``RuleBook.label`` for display names).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (
        (".md", render_markdown(review, label)),
        (".html", render_html(review, label)),
    ):
        path = out / f"{review.stem}{suffix}"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        written.append(path)
    log.info(
        "review.written",
        kind=review.kind,
        period=str(review.period),
        files=[str(p) for p in written],
        received=review.figures.received,
        overdue=len(review.overdue),
        high_risk=len(review.high_risk),
        weak_signals=len(review.weak_signals),
    )
    return written[0], written[1]
