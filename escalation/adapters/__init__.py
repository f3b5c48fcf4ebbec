"""Adapters: the event store and its recorder, database access, the read-model SQL helpers, logs."""
