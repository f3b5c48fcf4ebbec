"""Read models built from the event log (SQLAlchemy tables in the store's database).

They depend on the events (``escalation.aggregates``), the log's digests and
the database helpers (``escalation.adapters``), never on the engine.
"""
