"""Entry points: the CLI and the scheduler service.

Each builds what it needs through ``escalation.bootstrap``.
"""
