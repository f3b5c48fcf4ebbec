"""For auditors: verify the log, read a dispute's timeline, export, report."""

from escalation.application.audit.findings import Finding, VerifyReport
from escalation.application.audit.timeline import TimelineEntry, timeline
from escalation.application.audit.verify import verify, verify_dispute

__all__ = ["Finding", "TimelineEntry", "VerifyReport", "timeline", "verify", "verify_dispute"]
