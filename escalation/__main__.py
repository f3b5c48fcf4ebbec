"""``python -m escalation``: the same command line as ``escalation``."""

from escalation.entrypoints.cli import main

main()
