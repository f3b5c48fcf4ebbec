"""The application service: commands in, events out, read models kept.

The engine loads a dispute, asks the pure policies what is due, applies
their decisions as events, and saves, retrying on a concurrent writer. Time
is always given (or read once from the injected clock here, never deeper).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, PersistenceError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from escalation.adapters.database import storage_problem
from escalation.adapters.host import HostSession
from escalation.adapters.logs import log_events, to_log, to_log_batch
from escalation.adapters.personal_data import SEALED_TEXT, MasterKeySource
from escalation.aggregates.dispute import REVIEW_DECISIONS, Dispute
from escalation.aggregates.lifecycle import FOLLOW_UP_OUTCOMES
from escalation.aggregates.rebuild import rebuild
from escalation.aggregates.rules_applied import InFlight
from escalation.aggregates.state import DisputeState
from escalation.aggregates.times import as_utc
from escalation.application.access import Principal, ScopedEngine
from escalation.application.clock import Clock, system_clock
from escalation.application.periods import Period, end_of_day
from escalation.application.rulebook_registry import in_flight_mode
from escalation.errors import (
    ConcurrencyError,
    IllegalTransition,
    InvalidInput,
    StorageError,
    TimeWentBackwards,
    UnknownDispute,
)
from escalation.policies.due import apply_due
from escalation.policies.facts import (
    Acceptance,
    Assessment,
    CheckIn,
    Closure,
    Decline,
    Fact,
    FollowUp,
    LeaderAssignment,
    ManualEscalation,
    ManualNotice,
    Mediation,
    Pause,
    ProgressReport,
    Receipt,
    Remand,
    Reopening,
    Resume,
    ReviewDecision,
    Summons,
    apply_fact,
    check_same_receipt,
    check_same_request,
    register,
)
from escalation.policies.inputs import (
    DEFAULT_MAX_SKEW,
    AcceptInput,
    ActionInput,
    AssessInput,
    AssignLeaderInput,
    CheckInInput,
    CloseInput,
    DeclineInput,
    EraseInput,
    EscalateInput,
    FeedInput,
    FollowInput,
    FollowUpInput,
    MediateInput,
    PauseInput,
    ProgressInput,
    ReceiveInput,
    RemandInput,
    ReopenInput,
    ResumeInput,
    ReviewDecisionInput,
    SummonInput,
    SuperviseInput,
    as_dispute_id,
    aware,
    not_after,
    require_known,
    validated,
)
from escalation.policies.rulebook import NOTICES, RISK_LEVELS, RuleBook
from escalation.progress import Progress
from projections import department_figures, views
from projections.changes import Change, claim_position, move_position
from projections.changes import changes as feed_changes
from projections.department_figures import DepartmentFigures
from projections.disputes import DisputesProjection
from projections.figures import Figures, backlog, compute_figures
from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    from escalation.bootstrap import Storage

M = TypeVar("M", bound=ActionInput)

DEFAULT_URL = "sqlite:///escalation.db"
QueueItem = views.QueueItem  # the queue's rows: defined with their query (projections.views)


@dataclass
class ErasureReport:
    erased: int = 0
    kept_plain: int = 0  # due, but received before sealing: not erasable by key


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
        bind: Engine | None = None,
        master_key: MasterKeySource | None = None,
    ) -> None:
        if bind is not None and (url != DEFAULT_URL or storage is not None):
            raise InvalidInput("give the engine one database: url=, bind= or storage=")
        self.url = url if bind is None else str(bind.url)  # str() hides the password
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

            storage = open_storage(url if bind is None else bind, master_key)
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

    def scoped(self, principal: Principal) -> ScopedEngine:
        """The engine as ``principal`` may use it (its role, inside its scope)."""
        return ScopedEngine(self, principal)

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
        parties: int | None = None,
        amount: float = 0,
        location: str = "",
        received_at: datetime | None = None,
        request_id: str | None = None,
        actor: str = "intake",
        claim: str = "",
        people: Sequence[Mapping[str, str]] = (),
        session: HostSession | None = None,
    ) -> UUID:
        """Register a dispute at a unit (登记受理); returns its id.

        ``people``: the parties as data (name, phone, id_number, address, role),
        stored sealed; ``parties`` is the head count (default: the people given, or 1).
        """
        clock = self.clock()
        if parties is None:
            parties = max(1, len(people)) if isinstance(people, Sequence) else 1
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
            people=people,
            received_at=received_at if received_at is not None else clock,
            request_id=request_id,
            actor=actor,
        )
        not_after("received_at", cmd.received_at, clock, self.max_skew)
        receipt = Receipt(**cmd.model_dump(exclude={"people"}), people=tuple(cmd.people_stored()))
        dispute = register(self.rules, receipt, clock)
        dispute_id = dispute.id
        logged = to_log(dispute)
        with self._within(session):
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
        session: HostSession | None = None,
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
        with self._within(session):
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
        session: HostSession | None = None,
    ) -> DisputeState:
        """Escalate by hand: to the parent unit, or straight to ``to_tier`` (提级)."""
        cmd = self._action(
            EscalateInput, "escalate", actor, at, request_id, reason=reason, to_tier=to_tier
        )
        self._centre_only(cmd.actor, "escalate")
        if not cmd.reason.strip():
            raise InvalidInput("escalate: give a reason; auditors read it")
        if cmd.to_tier is not None:
            require_known("tier", cmd.to_tier, self.rules.tiers)
        fact = ManualEscalation(
            as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason, to_tier=cmd.to_tier
        )
        with self._within(session):
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
        session: HostSession | None = None,
    ) -> DisputeState:
        """Issue a notice by hand (催办/提示/预警/督办)."""
        cmd = self._action(
            SuperviseInput, "supervise", actor, at, request_id, notice=notice, reason=reason
        )
        require_known("notice", cmd.notice, NOTICES)
        fact = ManualNotice(
            as_utc(cmd.at), cmd.actor, cmd.request_id, notice=cmd.notice, reason=cmd.reason
        )
        with self._within(session):
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
        session: HostSession | None = None,
    ) -> DisputeState:
        """Conclude a dispute (案结事了) with one of the close outcomes."""
        cmd = self._action(CloseInput, "close", actor, at, request_id, outcome=outcome, note=note)
        self._centre_only(cmd.actor, "close")
        fact = Closure(
            as_utc(cmd.at), cmd.actor, cmd.request_id, outcome=cmd.outcome, note=cmd.note
        )
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def reopen(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """Reopen a closed dispute that follow-up found unsettled; a new visit begins."""
        cmd = self._action(ReopenInput, "reopen", actor, at, request_id, reason=reason)
        fact = Reopening(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    # ---------------------------------- 中心吹哨、部门报到, 领导包保 and 研判

    def summon(
        self,
        dispute_id: UUID | str,
        *,
        lead: str,
        actor: str,
        participants: Sequence[str] = (),
        at: datetime | None = None,
        reason: str = "",
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """中心吹哨: summon ``lead`` and ``participants``; each must check in in time."""
        cmd = self._action(
            SummonInput,
            "summon",
            actor,
            at,
            request_id,
            lead=lead,
            participants=participants,
            reason=reason,
        )
        self._centre_only(cmd.actor, "summon departments")
        for department in (cmd.lead, *cmd.participants):
            self.rules.department(department)
        fact = Summons(
            as_utc(cmd.at),
            cmd.actor,
            cmd.request_id,
            lead=cmd.lead,
            participants=tuple(cmd.participants),
            reason=cmd.reason,
        )
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def check_in(
        self,
        dispute_id: UUID | str,
        *,
        department: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """部门报到: a summoned department reports for duty; its reports fall due."""
        cmd = self._action(CheckInInput, "check_in", actor, at, request_id, department=department)
        self.rules.department(cmd.department)
        fact = CheckIn(as_utc(cmd.at), cmd.actor, cmd.request_id, department=cmd.department)
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def report_progress(
        self,
        dispute_id: UUID | str,
        *,
        department: str,
        note: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """反馈: a department that checked in reports progress on the substance."""
        cmd = self._action(
            ProgressInput,
            "report_progress",
            actor,
            at,
            request_id,
            department=department,
            note=note,
        )
        self.rules.department(cmd.department)
        fact = ProgressReport(
            as_utc(cmd.at), cmd.actor, cmd.request_id, department=cmd.department, note=cmd.note
        )
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def assign_leader(
        self,
        dispute_id: UUID | str,
        *,
        leader: str,
        plan: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """领导包保: ``leader`` answers for the case, with the plan (一案一策)."""
        cmd = self._action(
            AssignLeaderInput, "assign_leader", actor, at, request_id, leader=leader, plan=plan
        )
        self._centre_only(cmd.actor, "assign a leader")
        if not cmd.plan.strip():
            raise InvalidInput("assign_leader: give the plan (一案一策); the leader answers for it")
        people = self.rules.leaders.people
        if people:
            by_name = [i for i, name in people.items() if name == cmd.leader]
            leader_id = by_name[0] if len(by_name) == 1 else cmd.leader
            require_known("leader", leader_id, people)
        else:
            leader_id = cmd.leader
        fact = LeaderAssignment(
            as_utc(cmd.at), cmd.actor, cmd.request_id, leader=leader_id, plan=cmd.plan
        )
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def assess(
        self,
        dispute_id: UUID | str,
        *,
        level: str,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """研判: a person's risk judgement; it stands until a person changes it."""
        cmd = self._action(AssessInput, "assess", actor, at, request_id, level=level, reason=reason)
        require_known("risk level", cmd.level, RISK_LEVELS)
        if not cmd.reason.strip():
            raise InvalidInput("assess: give a reason; it stands over the rules' assessment")
        fact = Assessment(
            as_utc(cmd.at), cmd.actor, cmd.request_id, level=cmd.level, reason=cmd.reason
        )
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def record_review(
        self,
        dispute_ids: Sequence[UUID | str],
        *,
        review: str,
        decision: str,
        note: str,
        actor: str,
        at: datetime | None = None,
        cluster: str = "",
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> list[DisputeState]:
        """Record what a review meeting decided on each of ``dispute_ids`` (``ReviewDecided``).

        ``decision``: assignment, supervision, class_governance (类案治理, with the
        weak-signal ``cluster``) or other. Every dispute is checked before any
        is written: an unknown one, or one whose last event is after ``at``,
        refuses the whole decision.
        """
        ids = [as_dispute_id(d) for d in dispute_ids] if not isinstance(dispute_ids, str) else []
        cmd = self._action(
            ReviewDecisionInput,
            "record_review",
            actor,
            at,
            request_id,
            review=review,
            decision=decision,
            note=note,
            cluster=cluster,
            disputes=ids or dispute_ids,
        )
        require_known("review decision", cmd.decision, REVIEW_DECISIONS)
        if not cmd.note.strip():
            raise InvalidInput("record_review: give the decision's note; it is the record")
        when = as_utc(cmd.at)
        with self._within(session):
            for did in dict.fromkeys(cmd.disputes):
                last = self._load(did).state.updated_at
                if at is not None and last is not None and when < last:
                    raise TimeWentBackwards(
                        f"cannot record a review decision on dispute {did} at "
                        f"{when.isoformat()}: its last event is at {last.isoformat()}; "
                        "nothing was recorded"
                    )
            return [
                self._command(
                    did,
                    ReviewDecision(
                        when,
                        cmd.actor,
                        cmd.request_id,
                        review=cmd.review,
                        decision=cmd.decision,
                        note=cmd.note,
                        cluster=cmd.cluster,
                    ),
                    timed=at is not None,
                )
                for did in dict.fromkeys(cmd.disputes)
            ]

    def department_figures(
        self,
        period: Period | str,
        *,
        department: str | None = None,
        session: HostSession | None = None,
    ) -> list[DepartmentFigures]:
        """Per department, for summons made in the period: check-in and feedback rates."""
        if isinstance(period, str):
            period = Period.parse(period)
        if department is not None:
            self.rules.department(department)
        start, end = period.bounds(self.rules.calendar.timezone)
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                return department_figures.compute(read, start, end, department=department)

    def _centre_only(self, actor: str, what: str) -> None:
        """The centre drives procedure, a department solves substance.

        An actor is a department's when it is a department id of the rule book,
        alone or before a slash (``court`` or ``court/zhang``).
        """
        department = actor.split("/", 1)[0]
        if department in self.rules.departments:
            raise IllegalTransition(
                f"{actor!r} acts for department {department}; a department cannot {what}: "
                "the centre drives procedure (ask the centre's desk)"
            )

    def erase(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """Destroy the dispute's personal data (crypto-shredding); every other fact stays.

        Records ``Erased`` (who, why, when) and deletes the dispute's data key
        in one transaction: its sealed fields read ``[erased]`` from then on,
        and the log's bytes, so its digest, do not change. ``reason`` is kept
        in plain text: give a ground ("retention period ended", "the person's
        request of 2026-05-01"), never personal data.
        """
        cmd = self._action(EraseInput, "erase", actor, at, request_id, reason=reason)
        did = as_dispute_id(dispute_id)
        with self._within(session), self.store.writing() as write:
            dispute = self._load(did)
            if cmd.request_id is not None and cmd.request_id in dispute.state.request_ids:
                return dispute.state
            if not dispute.state.erased and self.store.keyring.read(did) is None:
                raise IllegalTransition(
                    f"dispute {did} was received before personal data was sealed: its "
                    "personal fields are in plain text in the log, which erasing a key "
                    "cannot remove (docs/personal-data.md, stores from before sealing)"
                )
            when = as_utc(cmd.at)
            dispute.erase(
                reason=cmd.reason,
                actor=cmd.actor,
                at=when,
                recorded_at=self.clock(),
                request_id=cmd.request_id,
            )
            logged = to_log(dispute)
            self.store.save(dispute)  # in this same transaction
            self.store.keyring.erase(write, did, when)
        log_events(logged, dispute.state)
        return dispute.state

    def erase_due(self, now: datetime | None = None, *, batch: int = 200) -> ErasureReport:
        """Erase the personal data the rule book's retention says is no longer needed.

        Closed disputes closed more than ``retention.personal_data`` before
        ``now`` are erased (actor ``retention``). Disputes from before sealing
        cannot be (their text is plain in the log) and are counted as kept.
        """
        retention = self.rules.retention
        now = as_utc(self.clock()) if now is None else as_utc(aware("now", now))
        report = ErasureReport()
        if retention is None:
            return report
        cutoff = retention.closed_before(now)
        self.catch_up()
        skipped: set[UUID] = set()
        while True:
            with self._read() as read:
                ids = [
                    i
                    for i in views.erasable_ids(read, cutoff, batch + len(skipped))
                    if i not in skipped
                ]
            if not ids:
                return report
            for did in ids:
                try:
                    self.erase(did, reason=f"retention: {retention}", actor="retention", at=now)
                except IllegalTransition:
                    skipped.add(did)  # plain text from before sealing: kept, counted
                    report.kept_plain += 1
                else:
                    report.erased += 1
            self.catch_up()

    def accept(
        self,
        dispute_id: UUID | str,
        *,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """受理: take on a receipt waiting for acceptance (``acceptance: {mode: explicit}``)."""
        cmd = self._action(AcceptInput, "accept", actor, at, request_id)
        fact = Acceptance(as_utc(cmd.at), cmd.actor, cmd.request_id)
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def decline(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """不予受理: refuse a receipt waiting for acceptance; it ends, outcome ``declined``."""
        cmd = self._action(DeclineInput, "decline", actor, at, request_id, reason=reason)
        if not cmd.reason.strip():
            raise InvalidInput("decline: give a reason; the person is told it")
        fact = Decline(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        with self._within(session):
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
        session: HostSession | None = None,
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
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def pause(
        self,
        dispute_id: UUID | str,
        *,
        reason: str,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """中止: stop the dispute's clocks (waiting for an appraisal, a party abroad, ...)."""
        cmd = self._action(PauseInput, "pause", actor, at, request_id, reason=reason)
        if not cmd.reason.strip():
            raise InvalidInput("pause: give a reason; the why-trail shows it")
        fact = Pause(as_utc(cmd.at), cmd.actor, cmd.request_id, reason=cmd.reason)
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def resume(
        self,
        dispute_id: UUID | str,
        *,
        actor: str,
        at: datetime | None = None,
        request_id: str | None = None,
        session: HostSession | None = None,
    ) -> DisputeState:
        """Restart a paused dispute's clocks, each moved on by the paused working time."""
        cmd = self._action(ResumeInput, "resume", actor, at, request_id)
        fact = Resume(as_utc(cmd.at), cmd.actor, cmd.request_id)
        with self._within(session):
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
        session: HostSession | None = None,
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
        with self._within(session):
            return self._command(dispute_id, fact, timed=at is not None)

    def tick(
        self, now: datetime | None = None, *, session: HostSession | None = None
    ) -> TickReport:
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
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                due = views.due_ids(read, now)
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

    def get(self, dispute_id: UUID | str, *, session: HostSession | None = None) -> DisputeState:
        did = as_dispute_id(dispute_id)
        with self._within(session, write=False):
            return self._load(did).state

    def history(
        self, dispute_id: UUID | str, *, session: HostSession | None = None
    ) -> list[Dispute.Event]:
        """The dispute's events, oldest first."""
        did = as_dispute_id(dispute_id)
        with self._within(session, write=False):
            events = list(self.store.events.get(did))
        if not events:
            raise UnknownDispute(f"no dispute with id {did}")
        return cast("list[Dispute.Event]", events)

    def state_at(
        self, dispute_id: UUID | str, when: datetime, *, session: HostSession | None = None
    ) -> DisputeState:
        """The dispute as it stood at ``when`` (events that occurred by then)."""
        when = as_utc(aware("when", when))
        events = [e for e in self.history(dispute_id, session=session) if e.occurred_at <= when]
        if not events:
            raise UnknownDispute(
                f"dispute {dispute_id} had not been received by {when.isoformat()}"
            )
        dispute = rebuild(Dispute, events)
        return dispute.state

    def queue(
        self,
        unit: str | None = None,
        tier: str | None = None,
        *,
        as_of: datetime | None = None,
        session: HostSession | None = None,
        department: str | None = None,
    ) -> list[QueueItem]:
        """Open disputes at a unit and/or tier, earliest due first.

        With ``as_of``, the queue exactly as it stood at that instant. With
        ``department``, the open disputes that department was summoned to.
        """
        if department is not None:
            if unit is not None or tier is not None or as_of is not None:
                raise InvalidInput("queue: give a department alone (no unit, tier or as_of)")
            self.rules.department(department)
            with self._within(session):
                self.catch_up()
                with self._read() as read:
                    return views.department_queue(read, department)
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        instant = as_utc(aware("as_of", as_of)) if as_of is not None else None
        with self._within(session):  # the catch-up writes read-model rows
            self.catch_up()
            with self._read() as read:
                if instant is not None:
                    return views.queue_at(read, instant, unit=unit, tier=tier)
                return views.queue(read, unit=unit, tier=tier)

    def follow_ups(
        self,
        unit: str | None = None,
        tier: str | None = None,
        *,
        session: HostSession | None = None,
    ) -> list[QueueItem]:
        """Settled disputes waiting for their follow-up (回访), earliest due first.

        The follow-up queue, apart from the work queue (``queue``): a settled
        dispute is in this one and never in that one. ``due_at`` of each item
        is when its follow-up is due.
        """
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                return views.follow_ups(read, unit=unit, tier=tier)

    def figures(
        self,
        period: Period | str,
        *,
        as_of: datetime | None = None,
        unit: str | None = None,
        tier: str | None = None,
        session: HostSession | None = None,
    ) -> Figures:
        """The period's figures (local dates), as known at ``as_of`` if given."""
        if isinstance(period, str):
            period = Period.parse(period)
        if unit is not None:
            require_known("unit", unit, self.rules.units)
        if tier is not None:
            require_known("tier", tier, self.rules.tiers)
        zone = self.rules.calendar.timezone
        start, end = period.bounds(zone)
        known = as_utc(aware("as_of", as_of)) if as_of is not None else None
        compare = (period.previous().bounds(zone), period.year_before().bounds(zone))
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                return compute_figures(
                    read,
                    self.rules.tiers,
                    start,
                    end,
                    as_of=known,
                    unit=unit,
                    tier=tier,
                    compare=compare,
                )

    def backlog(
        self, period: Period | str, *, session: HostSession | None = None
    ) -> tuple[list[date], list[dict[str, int]]]:
        """Open disputes per tier at the close of each local day of the period."""
        if isinstance(period, str):
            period = Period.parse(period)
        days = period.days()
        instants = [end_of_day(d, self.rules.calendar.timezone) for d in days]
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                return days, backlog(read, self.rules.tiers, instants)

    def timeline(
        self,
        dispute_id: UUID | str,
        *,
        personal_data: bool = True,
        session: HostSession | None = None,
    ) -> list[Any]:
        """The dispute's timeline rows (event, actor, rule, reason, state after), oldest first.

        The read model holds no personal data: a reason a person wrote (a 研判,
        a pause, a decline) is opened from the log here, unless ``personal_data``
        is False (it then reads ``[sealed]``).
        """
        did = as_dispute_id(dispute_id)
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                rows = views.timeline_rows(read, did)
            if not rows:
                raise UnknownDispute(f"no dispute with id {did}")
            if not personal_data or all(r.reason != SEALED_TEXT for r in rows):
                return rows
            events = {e.originator_version: e for e in self.history(did)}
        return [
            SimpleNamespace(**{**r._asdict(), "reason": getattr(events[r.version], "reason", None)})
            if r.reason == SEALED_TEXT
            else r
            for r in rows
        ]

    def changes(
        self, after: int = 0, limit: int = 100, *, session: HostSession | None = None
    ) -> list[Change]:
        """What happened after position ``after``, in log order (at most ``limit``).

        No personal data: positions, ids, event names, times and where each
        dispute stood after its event. Give the last ``position`` back as
        ``after`` for the next page.
        """
        feed = validated(FeedInput, "changes", after=after, limit=limit)
        with self._within(session):
            self.catch_up()
            with self._read() as read:
                return self._changes(read, feed.after, feed.limit)

    def follow(
        self,
        consumer: str,
        handler: Callable[[Change, Session], None],
        *,
        limit: int = 100,
        session: HostSession | None = None,
    ) -> int:
        """Hand the next changes to ``handler``, each exactly once per ``consumer``.

        ``handler(change, session)`` does the host's work for one change
        (queue an SMS, write a letter) through ``session``; the consumer's
        position moves in that same transaction, so a crash or an error
        before the commit hands the same changes over again, and a commit
        never hands them over twice. With ``session=`` all of it happens in
        the caller's transaction, which the caller commits; without, the
        engine commits after the last change. Returns how many were handed.
        """
        feed = validated(FollowInput, "follow", consumer=consumer, after=0, limit=limit)
        if not callable(handler):
            raise InvalidInput("follow: handler must be a function of (change, session)")
        with self._within(session):
            self.catch_up()
            with self.store.writing() as write:
                position = claim_position(write, feed.consumer)
                batch = self._changes(write, position, feed.limit)
                for change in batch:
                    handler(change, write)
                if batch:
                    move_position(write, feed.consumer, batch[-1].position, self.clock())
        return len(batch)

    def _changes(self, session: Session, after: int, limit: int) -> list[Change]:
        # The timeline's position: later events have no row to join yet.
        up_to = self.projections.position(self.projections.named(DisputesProjection.name))
        return feed_changes(session, self.store.events_table, after=after, limit=limit, up_to=up_to)

    def rebuild(self, name: str | None = None, progress: Progress | None = None) -> int:
        """Drop projections (all, or one by name) and replay them from the first event."""
        chosen = [p for p in self.projections.projections if name in (None, p.name)]
        if not chosen:
            known = ", ".join(p.name for p in self.projections.projections)
            raise InvalidInput(f"unknown projection {name!r}; known projections: {known}")
        for projection in chosen:
            self.projections.reset(projection)
        return self.catch_up(progress)

    def catch_up(
        self, progress: Progress | None = None, *, session: HostSession | None = None
    ) -> int:
        """Bring the read models up to the end of the log."""
        with self._within(session):
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

    @contextmanager
    def _within(self, session: HostSession | None, *, write: bool = True) -> Iterator[None]:
        """Run inside the host's transaction (``session``), or in the engine's own.

        Either way a failure of the database is a ``StorageError`` naming the
        driver's complaint (never its SQL or parameters).
        """
        try:
            if session is None:
                yield
            else:
                with self.store.joined(session, write=write):
                    yield
        except (PersistenceError, SQLAlchemyError) as exc:
            raise StorageError(storage_problem(exc)) from exc

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
            erased = dispute.state.erased
            act(dispute, self.clock())
            if erased:
                _refuse_personal_text(dispute)
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


def _refuse_personal_text(dispute: Dispute) -> None:
    """An erased dispute takes no new personal data: refused before anything is written."""
    for event in dispute.pending_events:
        personal = cast("Dispute.Event", event).personal_fields()
        given = [name for name in personal if getattr(event, name, None)]
        if given:
            raise IllegalTransition(
                f"dispute {dispute.id} was erased; it takes no personal data "
                f"({', '.join(given)} given): record the step without it"
            )
