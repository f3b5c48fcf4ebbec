"""Weak signals (弱信号): clusters of similar disputes, flagged for class governance (类案治理).

A cluster is at least ``min_cluster`` disputes of the same category,
registered at the same unit (or at the same location), each received less
than ``window`` after the first of them, the latest of them in the period,
that came through at least ``min_sources`` different channels (a hotline
call, a grid patrol and a petition about the same thing say more than three
patrol reports: routine work in a busy community is not a signal).
Thresholds: the rule book's ``weak_signals`` section. Pure: the registrations
come in (``projections.views.intake``), the clusters go out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from escalation.policies.rulebook import WeakSignals
from projections.views import Intake


@dataclass(frozen=True)
class WeakSignal:
    """A cluster of similar disputes (弱信号), flagged for class governance (类案治理)."""

    by: str  # "unit" or "location"
    key: str  # the unit id, or the location
    category: str
    disputes: tuple[UUID, ...]  # in order of receipt
    first: datetime
    last: datetime
    peak: int  # most of them received within one window
    open: int  # still open at the close of the period
    units: tuple[str, ...]  # units that registered them
    sources: tuple[str, ...] = ()  # the channels they came through

    @property
    def size(self) -> int:
        return len(self.disputes)


def find_weak_signals(
    intake: Iterable[Intake],
    settings: WeakSignals,
    start: datetime,
    end: datetime,
    open_ids: set[UUID] | frozenset[UUID] = frozenset(),
) -> list[WeakSignal]:
    """Clusters of ``min_cluster`` or more similar disputes within ``window``, ending in the period.

    For every dispute received in the period, its window is the disputes of
    the same group received less than ``window`` before it (itself included);
    a window holding ``min_cluster`` or more is a cluster, and a group's
    flagged disputes are the union of its clusters.
    """
    groups: dict[tuple[str, str, str], list[Intake]] = {}
    for item in intake:
        for by in settings.by:
            key = item.unit if by == "unit" else item.location.strip()
            if key:
                groups.setdefault((by, key, item.category), []).append(item)
    signals: list[WeakSignal] = []
    for (by, key, category), items in groups.items():
        items.sort(key=lambda i: (i.received_at, str(i.dispute_id)))
        members: set[int] = set()
        peak = low = 0
        for high, item in enumerate(items):
            while items[low].received_at <= item.received_at - settings.window:
                low += 1
            count = high - low + 1
            if not (start <= item.received_at < end and count >= settings.min_cluster):
                continue
            if len({i.source for i in items[low : high + 1]}) >= settings.min_sources:
                members.update(range(low, high + 1))
                peak = max(peak, count)
        if not members:
            continue
        chosen = [items[n] for n in sorted(members)]
        signals.append(
            WeakSignal(
                by=by,
                key=key,
                category=category,
                disputes=tuple(i.dispute_id for i in chosen),
                first=chosen[0].received_at,
                last=chosen[-1].received_at,
                peak=peak,
                open=sum(1 for i in chosen if i.dispute_id in open_ids),
                units=tuple(sorted({i.unit for i in chosen})),
                sources=tuple(sorted({i.source for i in chosen if i.source})),
            )
        )
    signals.sort(key=lambda s: (-s.size, s.by, s.category, s.key))
    return signals
