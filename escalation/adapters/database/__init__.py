"""Database access shared by the store and the read models.

Table creation when several processes start at once, column types, upserts and
fast multi-row inserts.
"""

from escalation.adapters.database.bulk import insert_rows
from escalation.adapters.database.ddl import create_serialised
from escalation.adapters.database.types import UTCDateTime, sqlite_text
from escalation.adapters.database.upsert import insert_missing, upsert
from escalation.adapters.database.urls import driver_message, masked, storage_problem

__all__ = [
    "UTCDateTime",
    "create_serialised",
    "driver_message",
    "insert_missing",
    "insert_rows",
    "masked",
    "sqlite_text",
    "storage_problem",
    "upsert",
]
