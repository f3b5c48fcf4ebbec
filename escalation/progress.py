"""How long work tells its caller how far it has got: the two callback types.

A leaf module (like ``escalation.errors``): the read models, the application
and the entry points all import it, and it imports nothing of theirs.

* ``Progress(done, total)`` — ``done`` of ``total``, both in the same unit,
  called after each page or batch; ``total`` may grow while the work runs
  (the log is written to meanwhile) and is never below ``done``. The unit is
  the worker's: log positions for whatever pages through the log (catch-up,
  rebuild, verify, export: the position reached and the last position), disputes
  for the what-if runs.
* ``Count(done)`` — how many items so far, for work that reads its input
  lazily and cannot know the total (the importer: records read from a file
  or an iterator); a caller that knows the total (it counted the file's
  lines) keeps it itself.
"""

from __future__ import annotations

from collections.abc import Callable

#: (done, total): how far, out of how far, in the worker's unit.
Progress = Callable[[int, int], None]

#: (done): how many so far; the total is the caller's to know.
Count = Callable[[int], None]

__all__ = ["Count", "Progress"]
