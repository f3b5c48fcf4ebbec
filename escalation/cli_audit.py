"""Audit commands: timeline, verify, export (registered on the main app)."""

from __future__ import annotations

from escalation.cli import app  # noqa: F401
