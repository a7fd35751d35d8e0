"""The two speed-ups from the profile keep Rasa's behaviour (docs/benchmark.md)."""

import sqlite3
from pathlib import Path

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain

from policies.action_validation import validate_action_result
from stores.tracker_store import ClinicSQLTrackerStore

VALID = {"events": [{"event": "slot", "name": "x", "value": 1}],
         "responses": [{"text": "hello"}]}
INVALID = {"events": [{"event": 42}], "responses": "not a list"}


def test_action_replies_are_checked_like_rasa_does_only_faster() -> None:
    assert validate_action_result(None, VALID) is True  # type: ignore[arg-type]
    with pytest.raises(jsonschema.ValidationError) as ours:
        validate_action_result(None, INVALID)  # type: ignore[arg-type]
    with pytest.raises(jsonschema.ValidationError) as rasas:
        jsonschema.validate(INVALID, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_the_sqlite_tracker_store_runs_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{db}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with sqlite3.connect(db) as connection:  # the mode is kept in the file
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
