"""Storage errors show neither passwords nor SQL parameters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from escalation import EscalationEngine
from escalation.adapters.database import driver_message, masked
from escalation.adapters.store import open_store
from escalation.errors import StorageError


def test_a_url_that_cannot_be_opened_is_shown_without_its_password() -> None:
    with pytest.raises(StorageError) as caught:
        open_store("postgresql+psycopg://someone:S3CRET-PW@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert "S3CRET-PW" not in message
    assert "someone:***@127.0.0.1:1/nowhere" in message


def test_masked_hides_the_password_of_urls_sqlalchemy_reads_and_of_others() -> None:
    assert masked("postgresql+psycopg://u:PW@h/db") == "postgresql+psycopg://u:***@h/db"
    assert masked("sqlite:///x.db") == "sqlite:///x.db"
    assert "PW" not in masked("no-such-scheme://u:PW@h:port:bad/db")


def test_driver_messages_carry_the_class_and_first_line_without_sql_or_parameters() -> None:
    orig = ValueError("duplicate key value violates unique constraint")
    wrapped = SQLIntegrityError("INSERT INTO t VALUES (%s)", ("the summary",), orig)
    message = driver_message(wrapped)
    assert message == "ValueError: duplicate key value violates unique constraint"
    assert "the summary" not in message


def test_the_store_engine_hides_sql_parameters(engine: EscalationEngine) -> None:
    datastore: Any = engine.store.recorder.datastore  # type: ignore[attr-defined]
    assert datastore.engine.hide_parameters
