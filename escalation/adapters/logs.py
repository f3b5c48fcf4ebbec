"""Structured logs (structlog) for the engine, the projections, the service and the CLI.

Library code logs through ``get_logger(name)``. Those loggers stay **silent until
structlog is configured**, either by the host platform's own
``structlog.configure(...)`` (our lines then flow through its processors) or by
``configure_logging`` here, which the CLI and ``escalation serve`` call. Embedding
the engine therefore never prints anything nobody asked for.

``configure_logging`` picks an output mode from ``ESCALATION_LOG``:

* ``json``    one JSON object per line on stderr (production, log shippers);
* ``console`` readable, aligned ``key=value`` lines on stderr (development);
* ``off``     nothing.

Without the variable: ``console`` when stderr is a terminal, ``json`` otherwise
(systemd, Docker, a pipe, a file). Stdout stays for the commands' own output.
The level comes from ``ESCALATION_LOG_LEVEL`` (debug, info, warning, error);
without it, the caller's default (``info`` for ``serve``, ``warning`` for the
one-shot commands, whose output is their tables).

Personal data. Lines carry ids, units, tiers, rule ids, event names, counts and
times. They never carry what parties told us: ``summary``, ``location``,
``note``, free-text ``reason`` given by people, ``parties`` and ``amount`` are not
passed to loggers at all, and a last processor replaces them with
``"[redacted]"`` should one ever be passed by mistake. Error messages of failed
commands are not logged either (a validation message can quote the input).
Actor and mediator names *are* logged: they are staff (工作人员) acting in
their role, and who did what is what an operator needs. Tracebacks never show
local variables (they could hold a summary).

Cost. A disabled level costs one ``is_configured`` check and a no-op call;
the per-event lines of the engine are only assembled after ``enabled(INFO)``
said yes, so with logs off or filtered no event is copied or rendered.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from escalation.errors import InvalidInput

if TYPE_CHECKING:
    from escalation.aggregates.dispute import Dispute
    from escalation.aggregates.state import DisputeState

MODE_VARIABLE = "ESCALATION_LOG"
LEVEL_VARIABLE = "ESCALATION_LOG_LEVEL"
MODES = ("json", "console", "off")
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
#: Keys that would carry what parties told us; never logged.
PERSONAL_KEYS = frozenset({"summary", "location", "note", "parties", "amount", "reason"})
REDACTED = "[redacted]"


class Log:
    """A structlog logger for library code: silent until structlog is configured.

    The bound logger is rebuilt whenever structlog's configuration changes (so
    a reconfiguration or ``capture_logs`` takes effect at once) and reused
    otherwise; a filtered level ends in structlog's no-op method without
    running any processor.
    """

    __slots__ = ("_cached", "_context", "_name")

    def __init__(self, name: str, context: dict[str, Any] | None = None) -> None:
        self._name = name
        self._context = context or {}
        self._cached: tuple[tuple[object, ...], Any] | None = None

    @property
    def name(self) -> str:
        return self._name

    def bind(self, **values: Any) -> Log:
        return Log(self._name, {**self._context, **values})

    def _logger(self) -> Any:
        if not structlog.is_configured():
            return None
        config = structlog.get_config()
        # capture_logs edits the processor list in place: its identity is the key.
        key = (
            config["wrapper_class"],
            config["logger_factory"],
            id(config["processors"]),
            config["context_class"],
        )
        cached = self._cached
        if cached is None or cached[0] != key:
            cached = self._cached = (key, structlog.get_logger(self._name).bind(**self._context))
        return cached[1]

    def enabled(self, level: int = logging.INFO) -> bool:
        """Whether a line at ``level`` would be emitted (False while unconfigured)."""
        logger = self._logger()
        if logger is None:
            return False
        check = getattr(logger, "is_enabled_for", None)
        return True if check is None else bool(check(level))

    def debug(self, event: str, **values: Any) -> None:
        logger = self._logger()
        if logger is not None:
            logger.debug(event, **values)

    def info(self, event: str, **values: Any) -> None:
        logger = self._logger()
        if logger is not None:
            logger.info(event, **values)

    def warning(self, event: str, **values: Any) -> None:
        logger = self._logger()
        if logger is not None:
            logger.warning(event, **values)

    def error(self, event: str, **values: Any) -> None:
        logger = self._logger()
        if logger is not None:
            logger.error(event, **values)

    def exception(self, event: str, **values: Any) -> None:
        """``error`` with the current exception's traceback (no local variables)."""
        logger = self._logger()
        if logger is not None:
            logger.exception(event, **values)  # noqa: LOG004 - callers call it in their except


def get_logger(name: str) -> Log:
    return Log(name)


# ----------------------------------------------------------- domain events

EVENTS = get_logger("escalation.engine")


def to_log(dispute: Dispute) -> list[Dispute.Event]:
    """The dispute's pending events, copied before the save empties them.

    Empty (and nothing copied) when the engine's info lines are not wanted.
    """
    if not dispute.pending_events or not EVENTS.enabled(logging.INFO):
        return []
    return cast("list[Dispute.Event]", list(dispute.pending_events))


def to_log_batch(disputes: Sequence[Dispute]) -> list[tuple[list[Dispute.Event], DisputeState]]:
    """``to_log`` for a batch (one check of the level), with each dispute's state."""
    if not EVENTS.enabled(logging.INFO):
        return []
    return [(cast("list[Dispute.Event]", list(d.pending_events)), d.state) for d in disputes]


def log_events(events: Sequence[Dispute.Event], state: DisputeState | None = None) -> None:
    """One ``dispute.event`` line per saved event: what, which dispute, where, which rule.

    ``unit`` and ``tier`` are where the dispute stood right after the event
    (an escalation also names where it came from). Events that carry no unit
    (risk, routing) take it from the events around them, else from ``state``.
    """
    if not events:
        return
    unit, tier = _place_before(events, state)
    for e in events:
        name = type(e).__name__
        values: dict[str, Any] = {}
        if name == "Escalated":
            from_unit, from_tier = getattr(e, "from_unit", unit), getattr(e, "from_tier", tier)
            values.update(from_unit=from_unit, from_tier=from_tier, mode=getattr(e, "mode", None))
            unit, tier = getattr(e, "to_unit", unit), getattr(e, "to_tier", tier)
        else:
            unit, tier = getattr(e, "unit", unit), getattr(e, "tier", tier)
        for key in ("notice", "outcome", "level", "department", "category", "source"):
            value = getattr(e, key, None)
            if value is not None:
                values[key] = value
        EVENTS.info(
            "dispute.event",
            event_name=name,
            dispute_id=str(e.originator_id),
            version=e.originator_version,
            unit=unit,
            tier=tier,
            rule_id=getattr(e, "rule_id", None),
            rules_version=getattr(e, "rules_version", None),
            actor=e.actor,
            occurred_at=e.occurred_at.isoformat(),
            request_id=getattr(e, "request_id", None),
            **values,
        )


def _place_before(
    events: Sequence[Dispute.Event], state: DisputeState | None
) -> tuple[str | None, str | None]:
    for e in events:
        if hasattr(e, "from_unit"):
            return e.from_unit, getattr(e, "from_tier", None)
        if hasattr(e, "unit"):
            return e.unit, getattr(e, "tier", None)
    return (state.unit, state.tier) if state is not None else (None, None)


# ----------------------------------------------------------- configuration


class _StderrLogger:
    """Writes rendered lines to a stream, ``sys.stderr`` as it is *at write time*.

    Resolving the stream late keeps logging working when a test runner swaps
    (and closes) ``sys.stderr`` around a command; a lock keeps lines whole
    when the scheduler's threads log at once.
    """

    _lock = threading.Lock()

    def __init__(self, name: str = "", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def msg(self, message: str) -> None:
        stream = self._stream or sys.stderr
        with self._lock:
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


class _StderrLoggerFactory:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> _StderrLogger:
        return _StderrLogger(str(args[0]) if args else "", self._stream)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stdlib handler for other libraries' records (APScheduler), same late stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """StreamHandler assigns a stream in __init__; the late lookup wins."""


def redact_personal(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace values of keys that would carry parties' data (defence in depth)."""
    for key in PERSONAL_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def resolve_mode(mode: str | None = None, stream: TextIO | None = None) -> str:
    chosen = (mode or os.environ.get(MODE_VARIABLE) or "").strip().lower()
    if not chosen:
        return "console" if _is_terminal(stream or sys.stderr) else "json"
    if chosen not in MODES:
        raise InvalidInput(f"{MODE_VARIABLE}={chosen!r}: use one of {', '.join(MODES)}")
    return chosen


def resolve_level(level: str | None = None, default: str = "info") -> int:
    chosen = (level or os.environ.get(LEVEL_VARIABLE) or default).strip().lower()
    if chosen not in LEVELS:
        raise InvalidInput(f"{LEVEL_VARIABLE}={chosen!r}: use one of {', '.join(LEVELS)}")
    return LEVELS[chosen]


_HANDLER_MARK = "_escalation_handler"


def configure_logging(
    mode: str | None = None,
    level: str | None = None,
    *,
    default_level: str = "info",
    stream: TextIO | None = None,
) -> str:
    """Configure structlog (and stdlib logging for APScheduler) for this process.

    Returns the mode chosen. Call it from entry points, never from library code.
    """
    chosen = resolve_mode(mode, stream)
    threshold = resolve_level(level, default_level)
    if chosen == "off":
        structlog.reset_defaults()  # our loggers are silent while unconfigured
        _stdlib(None, logging.CRITICAL + 1, stream)
        return chosen
    colours = chosen == "console" and _is_terminal(stream or sys.stderr)
    renderer: Processor
    if chosen == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=colours, exception_formatter=structlog.dev.plain_traceback
        )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    exceptions: list[Processor] = (
        [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        ]
        if chosen == "json"
        else []
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.processors.StackInfoRenderer(),
            *exceptions,
            redact_personal,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_StderrLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, *exceptions],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    _stdlib(formatter, max(threshold, logging.WARNING), stream)
    return chosen


def _stdlib(formatter: logging.Formatter | None, level: int, stream: TextIO | None) -> None:
    """Route other libraries' stdlib records (APScheduler's) through the same renderer."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    if formatter is None:
        return
    handler = _StderrHandler(stream)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler reports every run at INFO and a run skipped because the worker
    # was busy at WARNING; the service logs both itself (tick.done, job.skipped).
    logging.getLogger("apscheduler").setLevel(max(level, logging.ERROR))
