"""The two speed-ups from the profile keep Rasa's behaviour (docs/benchmark.md)."""

import sqlite3
from pathlib import Path

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain

from policies.action_validation import quickly_valid, validate_action_result
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


# Every event type Rasa knows, in shapes that pass and shapes that break its schema.
EVENT_TYPES = ["user", "action", "slot", "entities", "user_featurization", "cancel_reminder",
               "reminder", "action_execution_rejected", "form_validation", "loop_interrupted",
               "form", "active_loop", "reset_slots", "resume", "pause", "followup", "export",
               "restart", "undo", "rewind", "bot", "session_started", "agent"]
GOOD_EVENTS = [{"event": name, "timestamp": None} for name in EVENT_TYPES if name not in
               ("slot", "entities")] + [
    {"event": "slot", "name": "screening_question", "value": None},
    {"event": "slot", "name": "x", "value": {"deep": [1, 2]}, "timestamp": 1.5, "metadata": {}},
    {"event": "entities", "entities": [{"entity": "e", "value": "v", "start": 0, "end": 1}]},
    {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet", "confidence": 1},
                                                   "entities": []}},
    {"event": "action", "name": "utter_greet", "policy": None, "confidence": 1.0},
    {"event": "bot", "text": "hello", "data": {"buttons": []}},
]
BAD_EVENTS = [
    {"event": "slot", "name": 3, "value": 1}, {"event": "slot", "name": "x"},
    {"event": "slot", "value": 1}, {"event": "entities"}, {"event": "nonsense"},
    {"event": 42}, {"event": None}, {"name": "x", "value": 1}, "slot", None, [],
    {"event": "action", "name": 5}, {"event": "user", "text": 7},
    {"event": "user", "parse_data": {"intent": {"name": 1}}},
    {"event": "bot", "timestamp": "yesterday"}, {"event": "bot", "metadata": []},
    {"event": "entities", "entities": [{"entity": "e"}]},
]


def reply_cases() -> list:
    cases = [{"events": [event]} for event in GOOD_EVENTS + BAD_EVENTS]
    cases += [{"events": GOOD_EVENTS, "responses": [{"text": "hi"}]}, {},
              {"events": [], "responses": []}, {"responses": ["text"]}, {"events": {}},
              {"events": GOOD_EVENTS + [BAD_EVENTS[0]]}, [], "reply", None]
    return cases


@pytest.mark.parametrize("reply", reply_cases())
def test_the_quick_check_never_passes_what_rasas_schema_refuses(reply: object) -> None:
    spec = RemoteAction.action_response_format_spec()
    rasa_accepts = jsonschema.validators.validator_for(spec)(spec).is_valid(reply)
    if quickly_valid(reply):
        assert rasa_accepts
    # The whole check (quick path or not) gives Rasa's verdict either way.
    if rasa_accepts:
        assert validate_action_result(None, reply) is True  # type: ignore[arg-type]
    else:
        with pytest.raises(jsonschema.ValidationError):
            validate_action_result(None, reply)  # type: ignore[arg-type]


def test_the_quick_check_passes_every_well_formed_event_type() -> None:
    # Otherwise it would be no quicker: every reply would take the full check.
    assert all(quickly_valid({"events": [event]}) for event in GOOD_EVENTS)
    assert quickly_valid({"events": GOOD_EVENTS, "responses": [{"text": "hi"}]})
    assert not any(quickly_valid({"events": [event]}) for event in BAD_EVENTS)


def test_the_sqlite_tracker_store_runs_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{db}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with sqlite3.connect(db) as connection:  # the mode is kept in the file
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
