"""Read models built from the event log (SQLAlchemy tables in the store's database)."""
