"""A message sent again with the same id (a balancer's retry) is handled once: REST gets the
first answer's replies again, SMS sends nothing twice, and the conversation stores it once."""

import json
import urllib.request
import uuid
from typing import Callable, Dict, List, Optional

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.contraindication_rules import load_rules
from channels.handled_once import stored_replies, usable_id
from fake_providers import FakeProviders
from scripts.ops.serve import Servers
from test_sms import post, sms_form
from rest_conversations import new_sender, texts

QUESTIONS = [question.text for question in load_rules().questions.values()]
Stored = Callable[[str, str], List[Dict]]


def test_the_replies_to_a_message_are_found_by_its_id() -> None:
    buttons = [{"title": "Yes", "payload": "yes"}]
    tracker = DialogueStateTracker.from_events(
        "patient",
        [
            UserUttered("hello", message_id="first"),
            BotUttered("Hi!"),
            ActionExecuted("action_listen"),
            UserUttered("check me", message_id="second"),
            BotUttered("Let's check."),
            SlotSet("screening_question", "breakout"),
            BotUttered("A breakout?", {"buttons": buttons}),
            ActionExecuted("action_listen"),
            UserUttered("no", message_id="third"),
        ],
    )
    assert stored_replies(tracker, "first") == [{"text": "Hi!"}]
    assert stored_replies(tracker, "second") == [
        {"text": "Let's check."},
        {"text": "A breakout?", "buttons": buttons},
    ]
    assert stored_replies(tracker, "third") == []  # stored, not answered yet
    assert stored_replies(tracker, "fourth") is None
    assert stored_replies(None, "first") is None


def test_only_short_printable_ids_are_used() -> None:
    assert usable_id("7d9c4f0e2b1a4c3d9e8f7a6b5c4d3e2f") == "7d9c4f0e2b1a4c3d9e8f7a6b5c4d3e2f"
    assert usable_id("SM" + "a" * 32) == "SM" + "a" * 32
    for bad in (None, "", "a" * 65, "two words", "line\nbreak"):
        assert usable_id(bad) is None


def post_rest(servers: Servers, sender: str, message: str, request_id: Optional[str]) -> List[Dict]:
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["X-Request-ID"] = request_id
    request = urllib.request.Request(
        servers.rest_url,
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read().decode("utf-8"))


def test_a_retried_rest_message_gets_the_first_replies_and_counts_once(
    servers: Servers, stored_events: Stored
) -> None:
    sender = new_sender()
    post_rest(servers, sender, "am i a good candidate for microneedling?", "req-0")
    start = post_rest(servers, sender, "yes", "req-1")  # to the consent
    assert any(q in texts(start) for q in QUESTIONS)
    first = post_rest(servers, sender, "no", "req-2")
    [asked] = [t for t in texts(first) if t in QUESTIONS]
    # The balancer sends "no" again after the replica that stored it died before answering.
    again = post_rest(servers, sender, "no", "req-2")
    assert again == first  # the same question, with its buttons; not the next one
    assert [e["text"] for e in stored_events(sender, "user")] == [
        "am i a good candidate for microneedling?",
        "yes",
        "no",
    ]
    # The conversation goes on from where it was; a new id is a new message.
    following = post_rest(servers, sender, "no", "req-3")
    assert asked not in texts(following) and any(q in texts(following) for q in QUESTIONS)
    # Without an id, two equal messages are two messages, as before.
    post_rest(servers, sender, "is it painful", None)
    post_rest(servers, sender, "is it painful", None)
    assert [e["text"] for e in stored_events(sender, "user")].count("is it painful") == 2


def test_an_sms_twilio_sends_again_is_handled_and_answered_once(
    servers: Servers, providers: FakeProviders, stored_events: Stored
) -> None:
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    form = sms_form(phone, "is it painful")
    assert post(servers, form) == 200
    replies = providers.sms_to(phone)
    assert replies
    assert post(servers, form) == 200  # same MessageSid
    assert providers.sms_to(phone) == replies
    assert [e["text"] for e in stored_events(phone, "user")] == ["is it painful"]
