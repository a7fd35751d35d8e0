"""Faults against the real processes: the action server, or the conversations' database,
goes away and comes back while the Rasa server runs on. (A Rasa server restart mid-screening: tests/test_screening_rest.py.)"""

import sqlite3
from typing import Callable, Dict, Iterator, List

import pytest

from clinic.clinic_config import load_clinic_config
from scripts.ops.serve import Servers, start_action_server
from rest_conversations import new_sender, texts

Say = Callable[[str, str], List[Dict]]
CLINIC = load_clinic_config()


@pytest.fixture
def action_server_down(servers: Servers) -> Iterator[Servers]:
    servers.stop_action_server()
    try:
        yield servers
    finally:
        if servers.action_server is None:
            start_action_server(servers)


def test_without_the_action_server_faqs_work_and_the_check_says_it_is_unavailable(
    say: Say, action_server_down: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    assert texts(say(sender, "what is microneedling?"))[-1] == expected_reply("utter_what_is")
    assert texts(say(sender, "does it hurt?")) == [expected_reply("utter_pain")]

    unavailable = expected_reply("utter_actions_unavailable")
    assert CLINIC.phone in unavailable
    assert texts(say(sender, "can you check if I'm a good candidate?")) == [unavailable]
    # A one-shot question still gets the article's general answer.
    assert texts(say(sender, "I have eczema, can I get microneedling?")) == [
        unavailable,
        expected_reply("utter_contraindications"),
    ]
    # Talking to a person needs no action server.
    assert expected_reply("utter_human") in texts(say(sender, "can I talk to a real person"))
    assert texts(say(sender, "what are the side effects?")) == [
        expected_reply("utter_side_effects")
    ]


def test_the_check_works_again_when_the_action_server_is_back_without_restarting_rasa(
    say: Say, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    say(sender, "hi")
    rasa_before = servers.rasa_server.pid
    servers.stop_action_server()
    try:
        assert texts(say(sender, "am I a good candidate?")) == [
            expected_reply("utter_actions_unavailable")
        ]
    finally:
        start_action_server(servers)
    replies = say(sender, "am I a good candidate?")
    assert any(b["payload"] == "yes" for r in replies for b in r.get("buttons", []))
    assert servers.rasa_server.pid == rasa_before


def test_the_action_server_stopping_mid_screening_closes_it_with_the_clinic_phone(
    say: Say,
    servers: Servers,
    stored_events: Callable[[str, str], List[Dict]],
    expected_reply: Callable[[str], str],
) -> None:
    sender = new_sender()
    say(sender, "check if I can get microneedling")
    servers.stop_action_server()
    try:
        assert texts(say(sender, "no")) == [expected_reply("utter_actions_unavailable")]
        assert stored_events(sender, "active_loop")[-1]["name"] is None
        assert texts(say(sender, "does it hurt?")) == [expected_reply("utter_pain")]
    finally:
        start_action_server(servers)
    assert any(
        b["payload"] == "yes"
        for r in say(sender, "check if I can get it")
        for b in r.get("buttons", [])
    )


def test_with_the_database_away_the_patient_is_told_and_the_screening_waits_for_it(
    say: Say,
    servers: Servers,
    expected_reply: Callable[[str], str],
    stored_events: Callable[[str, str], List[Dict]],
) -> None:
    sender = new_sender()
    say(sender, "am I a good candidate?")
    say(sender, "yes")  # to the consent
    [first_question] = [t for t in texts(say(sender, "no")) if t.endswith("?")]
    with sqlite3.connect(servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")) as c:
        c.execute("ALTER TABLE events RENAME TO events_away")
    try:
        unavailable = expected_reply("utter_records_unavailable")
        assert CLINIC.phone in unavailable and CLINIC.emergency_number in unavailable
        # Not the disclaimer of a new conversation, not an answer out of context.
        assert texts(say(sender, "no")) == [unavailable]
        assert texts(say(sender, "is it painful")) == [unavailable]
        # An urgent message still gets the urgent reply.
        assert texts(say(sender, "my lips r swelling up since the treatment"))[0] == expected_reply(
            "utter_urgent"
        )
    finally:
        with sqlite3.connect(servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")) as c:
            c.execute("ALTER TABLE events_away RENAME TO events")
    # Back: the screening goes on from the question the patient had.
    following = texts(say(sender, "no"))
    assert first_question not in following and any(t.endswith("?") for t in following)
    assert [e["text"] for e in stored_events(sender, "user")] == [
        "am I a good candidate?",
        "yes",
        "no",
        "no",
    ]
