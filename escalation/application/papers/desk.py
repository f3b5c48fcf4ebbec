"""The papers of a dispute, numbered, rendered: the clerk's desk (``PaperDesk``).

Every paper comes from one event of the dispute's history (``drafts``), so the
same history gives the same papers; its number comes from the register
(``escalation.adapters.paper_numbers``), given once per (dispute, event, kind).
Personal data (the parties' names, the summary, the claim) is printed only
when the engine holds the master key and ``personal_data`` is true; it is
never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select

from escalation.adapters.paper_numbers import Register
from escalation.aggregates.dispute import Dispute
from escalation.application.access import Principal, ScopedEngine
from escalation.application.engine import EscalationEngine
from escalation.application.papers.drafts import Draft, drafts, name_of
from escalation.application.papers.kinds import BY_CODE, KINDS
from escalation.application.papers.render import (
    Style,
    date_text,
    environment,
    limit_text,
    number_text,
    pdf_of,
)
from escalation.application.periods import Period, in_range
from escalation.errors import InvalidInput, UnknownDispute
from escalation.policies.inputs import require_known
from projections.disputes import timeline

#: The events that give a paper (timeline names), for a day's letters.
PAPER_EVENTS = (
    "Received",
    "Accepted",
    "Declined",
    "Escalated",
    "Remanded",
    "Routed",
    "Summoned",
    "Supervised",
    "Notified",
    "Closed",
)
History = Callable[[UUID], Sequence[Dispute.Event]]


@dataclass(frozen=True)
class Paper:
    """One numbered paper, ready to print (``html``, ``pdf()``)."""

    dispute_id: UUID
    version: int  # the event it belongs to
    kind: str
    title: str
    number: str
    issuer: str  # unit id
    issuer_name: str
    addressee: str
    addressee_code: str
    asked: str
    time_limit: str  # as printed ("" if none)
    time_limit_at: datetime | None
    date: str  # as printed
    at: datetime
    lines: tuple[tuple[str, str], ...]
    copy_to: tuple[str, ...]
    personal: Mapping[str, Any] | None  # None: not shown
    html: str

    def pdf(self) -> bytes:
        return pdf_of(self.html)


def rulebook_papers_folder(source: str) -> Path | None:
    """The ``papers/`` folder beside a rule book file, if there is one."""
    if not source or source.startswith("<"):
        return None
    folder = Path(source).parent / "papers"
    return folder if folder.is_dir() else None


class PaperDesk:
    """Papers from the engine's store.

    ``templates``: a folder of templates (and ``papers.yaml``) overriding the
    defaults; by default the ``papers/`` folder beside the rule book file.
    ``history``: where events are read (default ``engine.history``; a reader
    without the master key passes a log that shows sealed fields as such).
    ``principal``: the desk works for this principal only, as ``engine.scoped``
    does: its disputes and its units' letters, personal data only if its role
    sees it; anything else is ``Forbidden``.
    """

    def __init__(
        self,
        engine: EscalationEngine,
        *,
        templates: Path | None = None,
        personal_data: bool = True,
        history: History | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.engine = engine
        self.scoped: ScopedEngine | None = None
        if principal is not None:
            if history is not None:
                raise InvalidInput("give a PaperDesk either principal= or history=, not both")
            self.scoped = engine.scoped(principal)
            history = self.scoped.history
            personal_data = personal_data and principal.sees_personal
        self.rules = engine.rules
        self.zone = ZoneInfo(self.rules.calendar.timezone)
        folder = templates if templates is not None else rulebook_papers_folder(self.rules.source)
        if templates is not None and not templates.is_dir():
            raise InvalidInput(f"templates folder {templates} does not exist")
        self.style = Style.load(folder)
        self.env = environment(folder)
        self._history: History = history if history is not None else engine.history
        keyring = getattr(engine.store, "keyring", None)
        self.personal_data = personal_data and getattr(keyring, "master", None) is not None
        self.register = Register(engine.store.database)

    # ------------------------------------------------------------ queries

    def papers(self, dispute_id: UUID | str) -> list[Paper]:
        """Every paper of the dispute, in the order of its history, numbered."""
        did = _as_id(dispute_id)
        return [self._paper(d) for d in drafts(self.history(did), self.rules)]

    def paper(
        self, dispute_id: UUID | str, kind: str | None = None, *, version: int | None = None
    ) -> Paper:
        """The dispute's latest paper (of ``kind``; or the one of event ``version``)."""
        if kind is not None:
            require_known("kind", kind, list(BY_CODE))
        did = _as_id(dispute_id)
        found = [
            d
            for d in drafts(self.history(did), self.rules)
            if (kind is None or d.kind == kind) and (version is None or d.version == version)
        ]
        if not found:
            what = f"no {kind} paper" if kind else "no paper"
            at = f" for event {version}" if version is not None else ""
            raise InvalidInput(f"dispute {did} has {what}{at} in its history")
        return self._paper(found[-1])

    def day(self, unit: str, day: date) -> list[Paper]:
        """The letters and slips ``unit``'s centre sends on a local day, in time order."""
        require_known("unit", unit, self.rules.units)
        if self.scoped is not None:
            self.scoped.require("history")
            if not self.scoped.scope.covers_unit(unit):
                raise self.scoped.forbidden(f"read the letters of {unit}")
        start, end = Period(in_range(day), day).bounds(self.rules.calendar.timezone)
        t = timeline.c
        self.engine.catch_up()
        with self.engine.store.reading() as session:
            rows = session.execute(
                select(t.dispute_id, t.version)
                .where(t.occurred_at >= start, t.occurred_at < end, t.event.in_(PAPER_EVENTS))
                .order_by(t.occurred_at, t.dispute_id, t.version)
            ).all()
        wanted: dict[UUID, set[int]] = {}
        for dispute_id, version in rows:
            wanted.setdefault(dispute_id, set()).add(int(version))
        found = [
            d
            for did, versions in wanted.items()
            for d in drafts(self.history(did), self.rules)
            if d.version in versions and d.issuer == unit
        ]
        found.sort(key=lambda d: (d.at, str(d.dispute_id), d.version))
        return [self._paper(d) for d in found]

    # ----------------------------------------------------------- internals

    def history(self, dispute_id: UUID) -> Sequence[Dispute.Event]:
        events = self._history(dispute_id)
        if not events:
            raise UnknownDispute(f"no dispute with id {dispute_id}")
        return events

    def _prefix(self, unit: str, name: str) -> str:
        known = self.rules.units.get(unit)
        top = known is None or known.tier == self.rules.top_tier
        return self.style.prefix(unit, name, top=top)

    def _paper(self, d: Draft) -> Paper:
        kind = BY_CODE[d.kind]
        year = d.at.astimezone(self.zone).year
        n = self.register.allocate(
            d.dispute_id, d.version, d.kind, issuer=d.issuer, year=year, now=d.at
        )
        issuer_name = name_of(self.rules, d.issuer)
        values: dict[str, Any] = {
            "dispute_id": d.dispute_id,
            "version": d.version,
            "kind": d.kind,
            "title": kind.title,
            "number": number_text(self._prefix(d.issuer, issuer_name), n.year, kind.mark, n.seq),
            "issuer": d.issuer,
            "issuer_name": self.style.centre(d.issuer, issuer_name),
            "addressee": d.addressee,
            "addressee_code": d.addressee_code,
            "asked": d.asked,
            "time_limit": limit_text(d.time_limit, self.zone) if d.time_limit else "",
            "time_limit_at": d.time_limit,
            "date": date_text(d.at, self.zone),
            "at": d.at,
            "lines": d.lines,
            "copy_to": d.copy_to,
            "personal": dict(d.personal) if self.personal_data and d.personal else None,
        }
        html = self.env.get_template(f"{d.kind}.html.j2").render(paper=values)
        return Paper(**values, html=html)


def _as_id(dispute_id: UUID | str) -> UUID:
    if isinstance(dispute_id, UUID):
        return dispute_id
    try:
        return UUID(str(dispute_id))
    except ValueError:
        raise UnknownDispute(f"no dispute with id {dispute_id!r}") from None


__all__ = ["KINDS", "Paper", "PaperDesk"]
