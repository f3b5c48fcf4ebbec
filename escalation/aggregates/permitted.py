"""Which commands a dispute's state lets anyone take: the console shows only those buttons.

The same conditions the commands check before anything else (``Dispute._check``
with its ``settled_ok``, ``check_accepted``, ``check_running``, and the extra
tests of accept/decline, follow-up, resume, reopen, escalate, check-in,
progress and erase), read off a ``DisputeState`` without raising. A command
left out is always refused in that state (``IllegalTransition``); one listed
may still be refused for its arguments (an unknown leader, a department not
summoned) or its time. ``tests/unit/test_permitted.py`` holds the two to each
other by trying every command through the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from escalation.aggregates.state import DisputeState

#: The commands ``permitted`` decides on (the engine's commands on one dispute).
COMMANDS: tuple[str, ...] = (
    "accept",
    "decline",
    "mediate",
    "follow_up",
    "summon",
    "check_in",
    "report_progress",
    "assign_leader",
    "assess",
    "escalate",
    "supervise",
    "close",
    "reopen",
    "pause",
    "resume",
    "remand",
    "erase",
)


def permitted(
    state: DisputeState, tiers: Sequence[str], department: str | None = None
) -> frozenset[str]:
    """The commands ``state`` allows; ``tiers`` lowest first (the rule book's order).

    ``department``: a department's own check-in and progress report (the
    summoned one that has not checked in yet, the one that has); None: any
    department's.
    """
    open_ = state.is_open
    running = open_ and state.paused_at is None
    pending = state.acceptance == "pending"
    allowed: set[str] = set()
    if running and pending:
        allowed |= {"accept", "decline"}
    if running and not pending:
        allowed |= {"mediate", "remand"}
        if state.tier in tiers and tiers.index(state.tier) < len(tiers) - 1:
            allowed.add("escalate")
    if open_:
        allowed |= {"summon", "assign_leader", "assess"}
        allowed.add("resume" if state.paused_at is not None else "pause")
        owed = [d for d in state.summoned if d not in state.checked_in]
        here = [d for d in state.checked_in if d in state.summoned]
        if department is not None:
            owed = [d for d in owed if d == department]
            here = [d for d in here if d == department]
        if owed:
            allowed.add("check_in")
        if here:
            allowed.add("report_progress")
    if open_ or state.is_settled:
        allowed |= {"supervise", "close"}
    if state.is_settled:
        allowed.add("follow_up")
    if not open_ and state.acceptance != "declined":
        allowed.add("reopen")
    if not state.erased:
        allowed.add("erase")
    return frozenset(allowed)
