"""The side-by-side figures both reports show (pure: rows of text and numbers)."""

from __future__ import annotations

from collections.abc import Sequence

from escalation.application.event_text import Labeller, codes, in_ladder_order
from escalation.application.whatif.compare import Totals

Row = tuple[str, str, str, str]  # (figure, current, candidate, change)


def totals_rows(
    cur: Totals, cand: Totals, tiers: Sequence[str], label: Labeller = codes
) -> list[Row]:
    """The totals side by side; ``label`` (``rules.label``) names tiers and notices."""
    rows: list[Row] = [_count("disputes compared", cur.disputes, cand.disputes)]
    rows.extend(
        _count(f"reached {label('tiers', tier)}", cur.reached[tier], cand.reached[tier])
        for tier in tiers[1:]
    )
    rows.append(_count("closed by the horizon", cur.closed, cand.closed))
    for tier in tiers[:-1]:
        name = f"settled in the {label('tiers', tier)} (share of closed)"
        rows.append(_share(name, cur.settled_share(tier), cand.settled_share(tier)))
    rows += [
        _count("stepwise escalations 逐级上报", cur.stepwise, cand.stepwise),
        _count("elevations 提级管理", cur.elevations, cand.elevations),
        _count("disputes elevated", cur.elevated, cand.elevated),
        _count("overdue (missed a time limit)", cur.overdue, cand.overdue),
        _count("open and overdue at the horizon", cur.open_overdue, cand.open_overdue),
    ]
    for notice in in_ladder_order(set(cur.notices) | set(cand.notices)):
        name = f"notices: {label('notices', notice)}"
        rows.append(_count(name, cur.notices[notice], cand.notices[notice]))
    return rows


def weekly_rows(cur: Totals, cand: Totals, tiers: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Per ISO week, arrivals per tier as 'current → candidate' (or one number if equal)."""
    weeks = sorted({w for w, _ in cur.weekly} | {w for w, _ in cand.weekly})
    out = []
    for week in weeks:
        cells = []
        for tier in tiers:
            a, b = cur.weekly[(week, tier)], cand.weekly[(week, tier)]
            cells.append(str(a) if a == b else f"{a} → {b}")
        out.append((week, cells))
    return out


def _count(label: str, a: int, b: int) -> Row:
    return (label, f"{a:,}", f"{b:,}", "" if a == b else f"{b - a:+,}")


def _share(label: str, a: float, b: float) -> Row:
    change = "" if abs(a - b) < 0.0005 else f"{(b - a) * 100:+.1f} pts"
    return (label, f"{a:.1%}", f"{b:.1%}", change)
