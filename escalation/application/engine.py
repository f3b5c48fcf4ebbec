"""The application service: commands in, events out, read models kept.

The engine loads a dispute, asks the pure policies what is due, applies
their decisions as events, and saves, retrying on a concurrent writer. Time
is always given (or read once from the injected clock here, never deeper).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from escalation.adapters.logs import log_events, to_log, to_log_batch
from escalation.aggregates.dispute import Dispute
from escalation.aggregates.lifecycle import FOLLOW_UP_OUTCOMES
from escalation.aggregates.rebuild import rebuild
from escalation.aggregates.rules_applied import InFlight
from escalation.aggregates.state import DisputeState
from escalation.aggregates.times import as_utc
from escalation.application.clock import Clock, system_clock
from escalation.application.periods import Period, end_of_day
from escalation.application.rulebook_registry import in_flight_mode
from escalation.errors import ConcurrencyError, InvalidInput, StorageError, UnknownDispute
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Acceptance,
    Closure,
    Decline,
    Fact,
    FollowUp,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Pause,
    Receipt,
    Remand,
    Reopening,
    Resume,
    apply_fact,
    check_same_receipt,
    check_same_request,
    register,
)
from escalation.policies.inputs import (
    DEFAULT_MAX_SKEW,
    AcceptInput,
    ActionInput,
    CloseInput,
    DeclineInput,
    EscalateInput,
    FollowUpInput,
    MediateInput,
    PauseInput,
    ReceiveInput,
    RemandInput,
    ReopenInput,
    ResumeInput,
    SuperviseInput,
    as_dispute_id,
    aware,
    not_after,
    require_known,
    validated,
)
from escalation.policies.rulebook import NOTICES, RuleBook
from escalation.progress import Progress
from projections import views
from projections.figures import Figures, backlog, compute_figures
from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    from escalation.bootstrap import Storage

M = TypeVar("M", bound=ActionInput)

DEFAULT_URL = "sqlite:///escalation.db"
QueueItem = views.QueueItem  # the queue's rows: defined with their query (projections.views)


@dataclass
class TickReport:
    now: datetime
    disputes: int = 0
    events: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.events.values())


class EscalationEngine:
    def __init__(
        self,
        rules: RuleBook | None = None,
        url: str = DEFAULT_URL,
        *,
        clock: Clock = system_clock,
        max_retries: int = 8,
        tick_batch: int = 200,
        in_flight: InFlight = "keep",
        storage: Storage | None = None,
        max_skew: timedelta | None = None,
    ) -> None:
        self.url = url
        self.clock = clock
        # How far after the clock a command (or a tick) may be dated: more is a
        # typo. Unset: a day on the system clock; no limit on a clock of the
        # caller's (a test or a simulation moves time on by dating its commands).
        self.max_skew: timedelta | None = (
            max_skew if max_skew is not None or clock is not system_clock else DEFAULT_MAX_SKEW
        )
        self.max_retries = max_retries
        self.tick_batch = tick_batch
        # ``in_flight``: what open disputes do when this engine applies a newly
        # activated rule book (keep | adopt). The rule book is the store's
        # active one (rules=None) or must be it; see escalation.application.rulebook_registry.
        self.in_flight: InFlight = in_flight_mode(in_flight)
        # Given storage is the caller's to close; storage opened here is the engine's.
        self._owns_storage = storage is None
        if storage is None:
            # The composition root builds it; imported here so that it may import the engine.
            from escalation.bootstrap import open_storage  # noqa: PLC0415 - a cycle at top level

            storage = open_storage(url)
        if storage.projections is None:
            raise StorageError("the engine needs storage opened for writing (open_storage)")
        self.storage = storage
        self.store = storage.store
        self.rulebooks = storage.rulebooks
        self.projections: ProjectionRunner = storage.projections
        try:
            self.rules = self.rulebooks.attach(rules, at=self.clock(), recorded_at=self.clock())
        except Exception:
            if self._owns_storage:
                storage.close()
            raise

    # ------------------------------------------------------------ lifecycle

    def shutdown(self) -> None:
        """Release the database connections (of storage the engine opened itself)."""
        if self._owns_storage:
            self.storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------- commands

    def receive(
        self,
        *,
        unit: str,
        category: str,
        source: str,
        summary: str,
        parties: int = 1,
        amount: float = 0,
        location: str = "",
        received_at: datetime | None = None,
        request_id: str | None = None,
        actor: str = "intake",
        claim: str = "",
    ) -> UUID:
        """Register a dispute at a unit (登记受理); returns its id."""
        clock = self.clock()
        cmd = validated(
            ReceiveInput,
            "receive",
            unit=unit,
            category=category,
            source=source,
            summary=summary,
            parties=parties,
            amount=amount,
            location=location,
            claim=claim,
            received_at=received_at if received_at is not None else clock,
            request_id=request_id,
            actor=actor,
        )
        not_after("received_at", cmd.received_at, clock, self.max_skew)
        receipt = Receipt(**cmd.model_dump())
        dispute = register(self.rules, receipt, clock)
        dispute_id = dispute.id
        logged = to_log(dispute)
        try:
            self.store.save(dispute)
        except IntegrityError:
            # The id is derived from the request id: the same request was
            # already registered (by an earlier call or a concurrent one).
            if cmd.request_id and self._exists(dispute_id):
                first = cast("Dispute.Received", self.history(dispute_id)[0])
                check_same_receipt(first, receipt, explicit_at=received_at is not None)
                return dispute_id
            raise
        log_events(logged)
        return dispute_id

    def mediate(
        self,
        dispute_id: UUID | str,
        *,
        outcome: str,
        mediator: str,
        at: datetime | None = None,
        note: str = "",
        request_id: str | None = None,
    ) -> DisputeState:
        """Record a mediation attempt (先行调解).

        ``resolved`` (an agreement) settles the dispute: out of the work queue,
        into the follow-up queue (``follow_ups``) until ``follow_up`` closes or
        reopens it.
        """
        cmd = self._action(
            MediateInput, "mediate", mediator, at, request_id, outcome=outcome, note=note
        )
        fact = Mediation(
            as_utc(cmd.at), cmd.actor, cmd.request_id, outcome=cmd.outcome, note=cmd.note
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def escalate(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        to_tier: str | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """Escalate by hand: to the parent unit, or straight to ``to_tier`` (提级)."""
        cmd = self._action(
            EscalateInput, "escalate", actor, at, request_id, reason=reason, to_tier=to_tier
        )
        if not cmd.reason.strip():
            raise InvalidInput("escalate: give a reason; auditors read it")
        if cmd.to_tier is not None:
            require_known("tier", cmd.to_tier, self.rules.tiers)
        fact = ManualEscalation(
            as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason, to_tier=cmd.to_tier
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def supervise(
        self,
        dispute_id: UUID | str,
        *,
        notice: str,
        actor: str,
        at: datetime | None = None,
        reason: str = "",
        request_id: str | None = None,
    ) -> DisputeState:
        """Issue a notice by hand (催办/提示/预警/督办)."""
        cmd = self._action(
            SuperviseInput, "supervise", actor, at, request_id, notice=notice, reason=reason
        )
        require_known("notice", cmd.notice, NOTICES)
        fact = ManualNotice(
            as_utc(cmd.at), cmd.actor, cmd.request_id, notice=cmd.notice, reason=cmd.reason
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def close(
        self,
        dispute_id: UUID | str,
        *,
        outcome: str,
        actor: str,
        at: datetime | None = None,
        note: str = "",
        request_id: str | None = None,
    ) -> DisputeState:
        """Conclude a dispute (案结事了) with one of the close outcomes."""
        cmd = self._action(CloseInput, "close", actor, at, request_id, outcome=outcome, note=note)
        fact = Closure(
            as_utc(cmd.at), cmd.actor, cmd.request_id, outcome=cmd.outcome, note=cmd.note
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def reopen(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """Reopen a closed dispute that follow-up found unsettled; a new visit begins."""
        cmd = self._action(ReopenInput, "reopen", actor, at, request_id, reason=reason)
        fact = Reopening(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        return self._command(dispute_id, fact, timed=at is not None)

    def accept(
        self,
        dispute_id: UUID | str,
        *,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """受理: take on a receipt waiting for acceptance (``acceptance: {mode: explicit}``)."""
        cmd = self._action(AcceptInput, "accept", actor, at, request_id)
        fact = Acceptance(as_utc(cmd.at), cmd.actor, cmd.request_id)
        return self._command(dispute_id, fact, timed=at is not None)

    def decline(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """不予受理: refuse a receipt waiting for acceptance; it ends, outcome ``declined``."""
        cmd = self._action(DeclineInput, "decline", actor, at, request_id, reason=reason)
        if not cmd.reason.strip():
            raise InvalidInput("decline: give a reason; the person is told it")
        fact = Decline(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        return self._command(dispute_id, fact, timed=at is not None)

    def follow_up(
        self,
        dispute_id: UUID | str,
        *,
        outcome: str,
        actor: str,
        at: datetime | None = None,
        note: str = "",
        request_id: str | None = None,
    ) -> DisputeState:
        """回访 on a settled dispute.

        ``settled``: the agreement held; the dispute closes, outcome ``resolved``
        (案结事了). ``unsettled``: it reopens at the unit that settled it.
        """
        cmd = self._action(
            FollowUpInput, "follow_up", actor, at, request_id, outcome=outcome, note=note
        )
        require_known("follow-up outcome", cmd.outcome, FOLLOW_UP_OUTCOMES)
        fact = FollowUp(
            as_utc(cmd.at), cmd.actor, cmd.request_id, outcome=cmd.outcome, note=cmd.note
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def pause(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """中止: stop the dispute's clocks (waiting for an appraisal, a party abroad, ...)."""
        cmd = self._action(PauseInput, "pause", actor, at, request_id, reason=reason)
        if not cmd.reason.strip():
            raise InvalidInput("pause: give a reason; the why-trail shows it")
        fact = Pause(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        return self._command(dispute_id, fact, timed=at is not None)

    def resume(
        self,
        dispute_id: UUID | str,
        *,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """Restart a paused dispute's clocks, each moved on by the paused working time."""
        cmd = self._action(ResumeInput, "resume", actor, at, request_id)
        fact = Resume(as_utc(cmd.at), cmd.actor, cmd.request_id)
        return self._command(dispute_id, fact, timed=at is not None)

    def remand(
        self,
        dispute_id: UUID | str,
        *,
        to_unit: str,
        instructions: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
    ) -> DisputeState:
        """交办: hand the case down to a unit below the holder, with instructions.

        The case gets that unit's time limit; rules do not elevate it again
        during that visit.
        """
        cmd = self._action(
            RemandInput,
            "remand",
            actor,
            at,
            request_id,
            to_unit=to_unit,
            instructions=instructions,
        )
        require_known("unit", cmd.to_unit, self.rules.units)
        if not cmd.instructions.strip():
            raise InvalidInput("remand: give instructions; the unit below works from them")
        fact = Remand(
            as_utc(cmd.at),
            cmd.actor,
            cmd.request_id,
            to_unit=cmd.to_unit,
            instructions=cmd.instructions,
        )
        return self._command(dispute_id, fact, timed=at is not None)

    def tick(self, now: datetime | None = None) -> TickReport:
        """Apply every time-driven decision due by ``now`` (notices, deadlines).

        Finds due disputes through the indexed ``next_due_at`` column, never
        by loading every dispute; a second tick at the same ``now`` finds none.
        """
        if now is None:
            now = as_utc(self.clock())
        else:
            now = as_utc(aware("now", now))
            not_after("now", now, self.clock(), self.max_skew)
        report = TickReport(now=now)
        self.catch_up()
        with self._read() as session:
            due = views.due_ids(session, now)
        for start in range(0, len(due), self.tick_batch):
            self._tick_batch(due[start : start + self.tick_batch], now, report)
        self.catch_up()
        return report

    def _tick_batch(self, ids: Sequence[UUID], now: datetime, report: TickReport) -> None:
        changed: list[Dispute] = []
        for dispute_id in ids:
            dispute = self._load(dispute_id)
            self._settle(dispute, now)
            if dispute.pending_events:
                changed.append(dispute)
        if not changed:
            return
        counts = Counter(type(e).__name__ for d in changed for e in d.pending_events)
        logged = to_log_batch(changed)
        try:
            self.store.save(*changed)  # one transaction for the batch
        except IntegrityError:
            # Someone else wrote one of them meanwhile: redo each on its own.
            counts = Counter()
            for d in changed:
                self._retrying(
                    d.id, lambda dispute, rec: self._settle(dispute, now, rec), None, counts
                )
        else:
            for events, state in logged:
                log_events(events, state)
        report.disputes += len(changed)
        report.events.update(counts)

    # ---------------------------------------------------------------- reads

    def get(self, dispute_id: UUID | str) -> DisputeState:
        return self._load(as_dispute_id(dispute_id)).state

    def history(self, dispute_id: UUID | str) -> list[Dispute.Event]:
        """The dispute's events, oldest first."""
        did = as_dispute_id(dispute_id)
        events = list(self.store.events.get(did))
        if not events:
            raise UnknownDispute(f"no dispute with id {did}")
        return cast("list[Dispute.Event]", events)

    def state_at(self, dispute_id: UUID | str, when: datetime) -> DisputeState:
        """The dispute as it stood at ``when`` (events that occurred by then)."""
        when = as_utc(aware("when", when))
        events = [e for e in self.history(dispute_id) if e.occurred_at <= when]
        if not events:
            raise UnknownDispute(
                f"dispute {dispute_id} had not been received by {when.isoformat()}"
            )
        dispute = rebuild(Dispute, events)
        return dispute.state

    def queue(
        self, unit: str | None = None, tier: str | None = None, *, as_of: datetime | None = None
    ) -> list[QueueItem]:
        """Open disputes at a unit and/or tier, earliest due first.

        With ``as_of``, the queue exactly as it stood at that instant.
        """
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        self.catch_up()
        instant = as_utc(aware("as_of", as_of)) if as_of is not None else None
        with self._read() as session:
            if instant is not None:
                return views.queue_at(session, instant, unit=unit, tier=tier)
            return views.queue(session, unit=unit, tier=tier)

    def follow_ups(self, unit: str | None = None, tier: str | None = None) -> list[QueueItem]:
        """Settled disputes waiting for their follow-up (回访), earliest due first.

        The follow-up queue, apart from the work queue (``queue``): a settled
        dispute is in this one and never in that one. ``due_at`` of each item
        is when its follow-up is due.
        """
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        self.catch_up()
        with self._read() as session:
            return views.follow_ups(session, unit=unit, tier=tier)

    def figures(
        self,
        period: Period | str,
        *,
        as_of: datetime | None = None,
        unit: str | None = None,
        tier: str | None = None,
    ) -> Figures:
        """The period's figures (local dates), as known at ``as_of`` if given."""
        if isinstance(period, str):
            period = Period.parse(period)
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        start, end = period.bounds(self.rules.calendar.timezone)
        known = as_utc(aware("as_of", as_of)) if as_of is not None else None
        self.catch_up()
        with self._read() as session:
            return compute_figures(
                session, self.rules.tiers, start, end, as_of=known, unit=unit, tier=tier
            )

    def backlog(self, period: Period | str) -> tuple[list[date], list[dict[str, int]]]:
        """Open disputes per tier at the close of each local day of the period."""
        if isinstance(period, str):
            period = Period.parse(period)
        days = period.days()
        instants = [end_of_day(d, self.rules.calendar.timezone) for d in days]
        self.catch_up()
        with self._read() as session:
            return days, backlog(session, self.rules.tiers, instants)

    def timeline(self, dispute_id: UUID | str) -> list[Any]:
        """The dispute's timeline rows (event, actor, rule, reason, state after), oldest first."""
        did = as_dispute_id(dispute_id)
        self.catch_up()
        with self._read() as session:
            rows = views.timeline_rows(session, did)
        if not rows:
            raise UnknownDispute(f"no dispute with id {did}")
        return rows

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> int:
        """Drop projections (all, or one by name) and replay them from the first event."""
        chosen = [p for p in self.projections.projections if name in (None, p.name)]
        if not chosen:
            known = ", ".join(p.name for p in self.projections.projections)
            raise InvalidInput(f"unknown projection {name!r}; known projections: {known}")
        for projection in chosen:
            self.projections.reset(projection)
        return self.catch_up(progress)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Bring the read models up to the end of the log."""
        return self.projections.catch_up(progress)

    # ------------------------------------------------------------ internals

    def _action(
        self,
        model: type[M],
        command: str,
        actor: str,
        at: datetime | None,
        request_id: str | None,
        **values: Any,
    ) -> M:
        clock = self.clock()
        cmd = validated(
            model,
            command,
            names={"actor": "mediator"} if command == "mediate" else None,
            actor=actor,
            at=at if at is not None else clock,
            request_id=request_id,
            **values,
        )
        not_after("at", cmd.at, clock, self.max_skew)
        return cmd

    def _read(self) -> Any:
        """A read-only session on the store's database."""
        return self.store.reading()

    def _exists(self, dispute_id: UUID) -> bool:
        return bool(self.store.recorder.select_events(dispute_id, limit=1))

    def _load(self, dispute_id: UUID) -> Dispute:
        try:
            return cast("Dispute", self.store.repository.get(dispute_id))
        except AggregateNotFoundError:
            raise UnknownDispute(f"no dispute with id {dispute_id}") from None

    def _command(self, dispute_id: UUID | str, fact: Fact, *, timed: bool) -> DisputeState:
        """Load, apply the fact, save; redone from a fresh load if another writer won.

        A fact not ``timed`` by its caller takes the clock's time on each
        attempt, so a lost race is redone at a later time, not refused as
        ``TimeWentBackwards``.
        """
        did = as_dispute_id(dispute_id)

        def act(dispute: Dispute, recorded: datetime) -> None:
            now = fact if timed else replace(fact, at=as_utc(recorded))
            apply_fact(dispute, now, self.rules, recorded)

        def repeated(dispute: Dispute) -> None:
            check_same_request(self.history(dispute.id), fact, explicit_at=timed)

        return self._retrying(did, act, fact.request_id, repeated=repeated)

    def _retrying(
        self,
        did: UUID,
        act: Callable[[Dispute, datetime], None],
        request_id: str | None = None,
        counter: Counter[str] | None = None,
        repeated: Callable[[Dispute], None] | None = None,
    ) -> DisputeState:
        for _ in range(self.max_retries):
            dispute = self._load(did)
            if request_id is not None and request_id in dispute.state.request_ids:
                if repeated is not None:  # the same request again, or another one: refused
                    repeated(dispute)
                return dispute.state  # the same request again: already applied
            act(dispute, self.clock())
            if counter is not None:
                counter.update(type(e).__name__ for e in dispute.pending_events)
            logged = to_log(dispute)
            try:
                self.store.save(dispute)
            except IntegrityError:
                continue  # a concurrent writer got there first: reload and redo
            log_events(logged, dispute.state)
            return dispute.state
        raise ConcurrencyError(
            f"dispute {did} kept changing under this command; gave up after "
            f"{self.max_retries} attempts"
        )

    def _settle(self, dispute: Dispute, now: datetime, recorded: datetime | None = None) -> None:
        apply_due(dispute, self.rules, now, recorded or self.clock())
