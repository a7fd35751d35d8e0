"""Faults against the real processes: the action server stops and comes back while the
Rasa server runs on. (A Rasa server restart mid-screening: tests/test_screening_rest.py.)"""

import uuid
from typing import Callable, Dict, Iterator, List

import pytest

from actions.clinic_config import load_clinic_config
from scripts.serve import Servers, start_action_server

Say = Callable[[str, str], List[Dict]]
CLINIC = load_clinic_config()


def texts(replies: List[Dict]) -> List[str]:
    return [reply["text"] for reply in replies if "text" in reply]


def new_sender() -> str:
    return f"fault-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def action_server_down(servers: Servers) -> Iterator[Servers]:
    servers.stop_action_server()
    try:
        yield servers
    finally:
        if servers.action_server is None:
            start_action_server(servers)


def test_without_the_action_server_faqs_work_and_the_check_says_it_is_unavailable(
        say: Say, action_server_down: Servers, expected_reply: Callable[[str], str]) -> None:
    sender = new_sender()
    assert texts(say(sender, "what is microneedling?"))[-1] == expected_reply("utter_what_is")
    assert texts(say(sender, "does it hurt?")) == [expected_reply("utter_pain")]

    unavailable = expected_reply("utter_actions_unavailable")
    assert CLINIC.phone in unavailable
    assert texts(say(sender, "can you check if I'm a good candidate?")) == [unavailable]
    # A one-shot question still gets the article's general answer.
    assert texts(say(sender, "I have eczema, can I get microneedling?")) == [
        unavailable, expected_reply("utter_contraindications")]
    # Talking to a person needs no action server.
    assert expected_reply("utter_human") in texts(say(sender, "can I talk to a real person"))
    assert texts(say(sender, "what are the side effects?")) == [expected_reply("utter_side_effects")]


def test_the_check_works_again_when_the_action_server_is_back_without_restarting_rasa(
        say: Say, servers: Servers, expected_reply: Callable[[str], str]) -> None:
    sender = new_sender()
    say(sender, "hi")
    rasa_before = servers.rasa_server.pid
    servers.stop_action_server()
    try:
        assert texts(say(sender, "am I a good candidate?")) == [
            expected_reply("utter_actions_unavailable")]
    finally:
        start_action_server(servers)
    replies = say(sender, "am I a good candidate?")
    assert any(b["payload"] == "yes" for r in replies for b in r.get("buttons", []))
    assert servers.rasa_server.pid == rasa_before


def test_the_action_server_stopping_mid_screening_closes_it_with_the_clinic_phone(
        say: Say, servers: Servers, stored_events: Callable[[str, str], List[Dict]],
        expected_reply: Callable[[str], str]) -> None:
    sender = new_sender()
    say(sender, "check if I can get microneedling")
    servers.stop_action_server()
    try:
        assert texts(say(sender, "no")) == [expected_reply("utter_actions_unavailable")]
        assert stored_events(sender, "active_loop")[-1]["name"] is None
        assert texts(say(sender, "does it hurt?")) == [expected_reply("utter_pain")]
    finally:
        start_action_server(servers)
    assert any(b["payload"] == "yes" for r in say(sender, "check if I can get it")
               for b in r.get("buttons", []))
