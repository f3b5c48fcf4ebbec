"""Read models built from the event log (SQLAlchemy tables in the store's database)."""

# The projections read the engine's events and the engine runs the projections:
# importing the engine package first lets either be imported first.
import escalation  # noqa: F401
