"""One exception family for everything a caller can get wrong.

Every message says what was wrong and what to do about it; nothing is
written to the store when a command raises one of these.
"""

from __future__ import annotations

import re

#: What a code looks like (a unit, category, outcome ...): only such a value is
#: echoed in a message. Anything else (a name typed into the wrong field, a
#: phone number) may be personal data, and messages never carry that.
_CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}")
_DIGITS = re.compile(r"\d{6}")


def shown(value: object) -> str:
    """``value`` quoted for a message if it looks like a code, else a placeholder."""
    if isinstance(value, str) and _CODE_LIKE.fullmatch(value) and not _DIGITS.search(value):
        return repr(value)
    return "(a value not shown: it is not a code and may hold personal data)"


class EscalationError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidInput(EscalationError, ValueError):
    """A command argument is missing, malformed or unknown to the rule book."""


class RulesError(EscalationError, ValueError):
    """The rule book is malformed or inconsistent.

    ``problems`` lists each problem as ``(file, line, key, message)`` so tools
    can point at every one of them, not just the first.
    """

    def __init__(self, problems: list[tuple[str, int | None, str, str]]) -> None:
        self.problems = problems
        lines = [
            f"{file}:{line if line is not None else '?'}: {key}: {message}"
            for file, line, key, message in problems
        ]
        if len(problems) == 1 and problems[0][2] == "<file>":  # no file to point into: one line
            file, _, _, message = problems[0]
            super().__init__(f"{message} ({file})")
            return
        super().__init__("invalid rule book:\n  " + "\n  ".join(lines))


class RuleEvaluationError(EscalationError):
    """A rule's condition failed while being evaluated against a dispute."""


class UnknownDispute(EscalationError, KeyError):
    """No dispute with this id exists (or it did not exist yet at that time)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown dispute"


class IllegalTransition(EscalationError):
    """The command is not allowed in the dispute's current state."""


class TimeWentBackwards(IllegalTransition):
    """A command is dated before the last thing that happened to the dispute."""


class StorageError(EscalationError):
    """The database cannot be opened or used."""


class ConcurrencyError(EscalationError):
    """Another writer kept changing the same dispute; the command gave up after retries."""


class RequestConflict(EscalationError):
    """A ``request_id`` already used is given again with another command or payload.

    The same request repeated is answered with its first result; a different
    one under the same id is refused, naming what the first request did.
    """


class Forbidden(EscalationError):
    """The principal's role or scope does not allow this read or command."""
