"""The speed-ups from the profile keep Rasa's behaviour (docs/benchmark.md)."""

import asyncio
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from policies.remote_action_check import quickly_valid, validate_action_result
from stores.tracker_store import STORED, ClinicSQLTrackerStore

VALID = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hello"}]}
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
EVENT_TYPES = [
    "user",
    "action",
    "slot",
    "entities",
    "user_featurization",
    "cancel_reminder",
    "reminder",
    "action_execution_rejected",
    "form_validation",
    "loop_interrupted",
    "form",
    "active_loop",
    "reset_slots",
    "resume",
    "pause",
    "followup",
    "export",
    "restart",
    "undo",
    "rewind",
    "bot",
    "session_started",
    "agent",
]
GOOD_EVENTS = [
    {"event": name, "timestamp": None} for name in EVENT_TYPES if name not in ("slot", "entities")
] + [
    {"event": "slot", "name": "screening_question", "value": None},
    {"event": "slot", "name": "x", "value": {"deep": [1, 2]}, "timestamp": 1.5, "metadata": {}},
    {"event": "entities", "entities": [{"entity": "e", "value": "v", "start": 0, "end": 1}]},
    {
        "event": "user",
        "text": "hi",
        "parse_data": {"intent": {"name": "greet", "confidence": 1}, "entities": []},
    },
    {"event": "action", "name": "utter_greet", "policy": None, "confidence": 1.0},
    {"event": "bot", "text": "hello", "data": {"buttons": []}},
]
BAD_EVENTS = [
    {"event": "slot", "name": 3, "value": 1},
    {"event": "slot", "name": "x"},
    {"event": "slot", "value": 1},
    {"event": "entities"},
    {"event": "nonsense"},
    {"event": 42},
    {"event": None},
    {"name": "x", "value": 1},
    "slot",
    None,
    [],
    {"event": "action", "name": 5},
    {"event": "user", "text": 7},
    {"event": "user", "parse_data": {"intent": {"name": 1}}},
    {"event": "bot", "timestamp": "yesterday"},
    {"event": "bot", "metadata": []},
    {"event": "entities", "entities": [{"entity": "e"}]},
]


def reply_cases() -> list:
    cases = [{"events": [event]} for event in GOOD_EVENTS + BAD_EVENTS]
    cases += [
        {"events": GOOD_EVENTS, "responses": [{"text": "hi"}]},
        {},
        {"events": [], "responses": []},
        {"responses": ["text"]},
        {"events": {}},
        {"events": GOOD_EVENTS + [BAD_EVENTS[0]]},
        [],
        "reply",
        None,
    ]
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


def test_event_types_resolve_to_the_class_rasas_walk_finds() -> None:
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses
    from stores import event_lookup

    event_lookup.install()
    for cls in all_subclasses(events.Event):
        assert events.Event.resolve_by_type(cls.type_name) is event_lookup._rasa_resolve(
            cls.type_name
        )
    assert events.Event.resolve_by_type("topic") is None
    assert events.Event.resolve_by_type("nonsense", events.SlotSet) is events.SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        events.Event.resolve_by_type("nonsense")
    slot = events.Event.from_parameters({"event": "slot", "name": "a", "value": 1})
    assert slot == events.SlotSet("a", 1)


def stored_rows(db: Path, sender: str) -> list:
    with sqlite3.connect(db) as connection:
        return [
            (row[0], json.loads(row[1]).get("name"))
            for row in connection.execute(
                "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
            )
        ]


def test_each_message_stores_exactly_its_new_events_without_counting_the_stored_ones(
    tmp_path: Path,
) -> None:
    db = tmp_path / "conversations.db"
    domain = Domain.from_dict({"slots": {"a": {"type": "any", "mappings": []}}})
    ours = ClinicSQLTrackerStore(domain=domain, host=f"sqlite:///{db}")
    rasas = SQLTrackerStore(domain=domain, host=f"sqlite:///{tmp_path / 'rasa.db'}")
    counts: list = []
    sa.event.listen(
        ours.engine,
        "before_cursor_execute",
        lambda *args: counts.append(args[2]) if "count(" in args[2] else None,
    )

    async def turns(store: SQLTrackerStore, saves: int) -> None:
        tracker = await store.get_or_create_tracker("patient")
        for turn in range(3):
            tracker = await store.retrieve("patient")  # a new message reads the conversation
            if turn == 2:  # the session expired: a new one starts inside this message
                tracker.update(SessionStarted())
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            tracker.update(UserUttered(f"message {turn}"))
            tracker.update(SlotSet("a", turn))
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            for _ in range(saves):
                await store.save(tracker)

    # Saving the same tracker twice adds nothing here (after a new session, Rasa's
    # count would store the turn again; the processor saves once per message).
    asyncio.run(turns(ours, saves=2))
    asyncio.run(turns(rasas, saves=1))
    assert len(counts) == 1  # once, when the conversation was created
    expected = stored_rows(tmp_path / "rasa.db", "patient")
    assert stored_rows(db, "patient") == expected
    assert len(expected) == 1 + 3 * 3 + 2  # first listen, three turns, the new session's start
    # A tracker the store did not build is counted as Rasa counts it.
    outsider = DialogueStateTracker.from_events("patient", [], domain.slots)
    for event in (await_retrieve(ours, "patient")).events:
        outsider.update(event)
    outsider.update(UserUttered("from elsewhere"))
    asyncio.run(ours.save(outsider))
    assert len(counts) == 2
    assert stored_rows(db, "patient")[-1] == ("user", None)
    assert len(stored_rows(db, "patient")) == len(expected) + 1


def await_retrieve(store: SQLTrackerStore, sender: str) -> DialogueStateTracker:
    tracker = asyncio.run(store.retrieve(sender))
    assert tracker is not None
    return tracker


def test_a_database_error_shows_neither_the_sender_nor_the_message(tmp_path: Path) -> None:
    db = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{db}")
    phone, words = "+15550104477", "my rosacea flared up"
    tracker = DialogueStateTracker.from_events(phone, [UserUttered(words)])
    with sqlite3.connect(db) as connection:  # the table is gone, as if the database broke
        connection.execute("DROP TABLE events")
    known = DialogueStateTracker.from_events(phone, [UserUttered(words)])
    setattr(known, STORED, 0)  # as if read from the store: saved with one INSERT
    for failing in (store.retrieve(phone), store.save(tracker), store.save(known)):
        with pytest.raises(sa.exc.DBAPIError) as error:
            asyncio.run(failing)
        assert "no such table" in str(error.value)
        assert phone not in str(error.value) and words not in str(error.value)
    # Rasa's own store would have shown them.
    rasas = SQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{tmp_path / 'rasa.db'}")
    with sqlite3.connect(tmp_path / "rasa.db") as connection:
        connection.execute("DROP TABLE events")
    with pytest.raises(sa.exc.DBAPIError) as error:
        asyncio.run(rasas.retrieve(phone))
    assert phone in str(error.value)
