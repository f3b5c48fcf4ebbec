"""The test suite: ``unit/`` (pure, seconds) and ``integration/`` (databases, processes)."""
