"""The reviews (研判): daily, weekly, monthly and quarterly, as Markdown and HTML files.

日研判 daily review, 周会商 weekly consultation, 月调度 monthly dispatch, 季度评估
quarterly assessment. Each is built from the read models for one period of
local dates (the rules' timezone):

* intake by source and by category; the funnel community → street → district;
* resolution rate (化解率) and on-time rate per unit (``Figures``' definitions);
* the overdue and the high-risk (红) disputes with their responsible unit, as
  they stood at the close of the period (``engine.queue(as_of=...)``);
* notices issued (催办/提示/预警/督办), by kind and by unit;
* weak signals (弱信号): clusters of similar disputes flagged for class
  governance (类案治理); see ``weak_signals``.

A review names disputes by id, unit and category only: no summaries and no
parties. The location of a location cluster is shown, since it is the finding.

Where things are: ``model`` (kinds, the period a review covers, ``Review``),
``build`` (from the engine; the queries are ``projections.views``),
``weak_signals`` (the cluster search, pure), ``render`` (Markdown, HTML, SVG),
``files`` (writing them).
"""

from escalation.application.figures_report import bars_svg
from escalation.application.periods import period_label
from escalation.application.reviews.build import build_review
from escalation.application.reviews.files import write_review
from escalation.application.reviews.model import (
    KINDS,
    CaseLine,
    Review,
    check_kind,
    previous_period,
)
from escalation.application.reviews.render import render_html, render_markdown
from escalation.application.reviews.weak_signals import WeakSignal, find_weak_signals
from projections.views import Intake

__all__ = [
    "KINDS",
    "CaseLine",
    "Intake",
    "Review",
    "WeakSignal",
    "bars_svg",
    "build_review",
    "check_kind",
    "find_weak_signals",
    "period_label",
    "previous_period",
    "render_html",
    "render_markdown",
    "write_review",
]
