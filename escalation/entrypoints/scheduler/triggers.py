"""When the jobs run: the tick interval and the reviews' cron triggers, from their text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from escalation.application.reviews import KINDS, check_kind
from escalation.errors import InvalidInput

#: When each review runs, local time in the rules' timezone; "off" disables one.
REVIEW_DEFAULTS: Mapping[str, str] = {
    "daily": "08:00",
    "weekly": "mon 09:00",
    "monthly": "1 09:00",
    "quarterly": "1 09:00",
}
REVIEW_FORMATS = {
    "daily": "HH:MM",
    "weekly": "DAY HH:MM (mon..sun)",
    "monthly": "D HH:MM (day 1-28 of the month)",
    "quarterly": "D HH:MM (day 1-28 of the quarter's first month)",
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$", re.IGNORECASE)
_SPEC = re.compile(r"^\s*(?:(\w+)\s+)?(\d{1,2}):(\d{2})\s*$")
#: How far back to look for a review's latest scheduled time (a quarter and then some).
_LOOKBACK = timedelta(days=100)


def parse_interval(text: str) -> timedelta:
    """``60s``, ``0.5s``, ``250ms``, ``5m``, ``1h`` or a bare number of seconds."""
    match = _INTERVAL.match(text)
    if match is None:
        raise InvalidInput(f"tick interval {text!r} not understood; write it like 60s, 5m or 1h")
    amount = float(match.group(1))
    unit = (match.group(2) or "s").lower()
    seconds = amount * {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds < 0.01:
        raise InvalidInput(f"tick interval {text!r} is too short; use at least 10ms")
    return timedelta(seconds=seconds)


def review_trigger(kind: str, spec: str, timezone: str) -> CronTrigger | None:
    """The cron trigger of a review from its spec (see ``REVIEW_FORMATS``); None when off."""
    check_kind(kind)
    if spec.strip().lower() == "off":
        return None
    problem = f"{kind} review time {spec!r}: write it as {REVIEW_FORMATS[kind]}, or off"
    match = _SPEC.match(spec)
    if match is None:
        raise InvalidInput(problem)
    day, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InvalidInput(problem)
    zone = ZoneInfo(timezone)
    if kind == "daily":
        if day is not None:
            raise InvalidInput(problem)
        return CronTrigger(hour=hour, minute=minute, timezone=zone)
    if day is None:
        raise InvalidInput(problem)
    if kind == "weekly":
        if day.lower()[:3] not in _DAYS:
            raise InvalidInput(problem)
        return CronTrigger(day_of_week=day.lower()[:3], hour=hour, minute=minute, timezone=zone)
    if not day.isdigit() or not 1 <= int(day) <= 28:
        raise InvalidInput(problem)
    months = "1,4,7,10" if kind == "quarterly" else "*"
    return CronTrigger(month=months, day=int(day), hour=hour, minute=minute, timezone=zone)


def review_triggers(specs: Mapping[str, str], timezone: str) -> dict[str, CronTrigger]:
    """The triggers of the reviews that are on: ``specs`` over ``REVIEW_DEFAULTS``."""
    chosen = {**REVIEW_DEFAULTS, **specs}
    for kind in sorted(set(chosen) - set(KINDS)):
        check_kind(kind)
    return {
        kind: trigger
        for kind, spec in chosen.items()
        if (trigger := review_trigger(kind, spec, timezone)) is not None
    }


def last_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time ``trigger`` fired at or before ``now`` (within the last 100 days)."""
    fire = trigger.get_next_fire_time(None, now - _LOOKBACK)
    latest: datetime | None = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest
