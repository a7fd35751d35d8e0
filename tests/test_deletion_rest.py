"""A patient asks for their conversation to be deleted (issue 13), over REST and SMS
against the real servers: the bot confirms first, then deletes the conversation's stored
events and staff alerts, says it is done, and the next message starts afresh."""

import sqlite3
from typing import Callable, Dict, List

import pytest

from rest_conversations import new_sender, texts, through_consent
from scripts.ops.serve import Servers
from test_sms import Text, new_phone, text  # noqa: F401 (the SMS fixture)

Say = Callable[[str, str], List[Dict]]
DONE = "Done: this conversation is deleted"


def stored(servers: Servers, sender: str) -> Dict[str, int]:
    db = servers.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as connection:
        return {
            table: connection.execute(
                f"SELECT COUNT(*) FROM {table} WHERE sender_id = ?", (sender,)
            ).fetchone()[0]
            for table in ("events", "staff_alerts")
        }


@pytest.mark.parametrize(
    "request_text", ["delete my conversation", "forget me", "please erase everything i told you"]
)
def test_a_confirmed_request_deletes_the_conversation_and_its_alerts(
    say: Say, servers: Servers, expected_reply: Callable[[str], str], request_text: str
) -> None:
    sender, other = new_sender(), new_sender()
    say(sender, "it's oozing and I have a fever")  # stored, with a staff alert
    say(other, "does it hurt?")
    assert stored(servers, sender)["events"] > 0 and stored(servers, sender)["staff_alerts"] == 1
    # (After the urgent reply, the disclaimer comes with the next turn.)
    assert texts(say(sender, request_text))[-1] == expected_reply("utter_confirm_deletion")
    done = texts(say(sender, "yes"))
    assert len(done) == 1 and done[0].startswith(DONE)
    assert stored(servers, sender) == {"events": 0, "staff_alerts": 0}
    assert stored(servers, other)["events"] > 0  # nobody else's conversation
    # The next message starts a new conversation: the disclaimer again.
    again = texts(say(sender, "does it hurt?"))
    assert again[0] == expected_reply("utter_disclaimer")


def test_no_keeps_the_conversation(
    say: Say, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    say(sender, "does it hurt?")
    say(sender, "delete my conversation")
    assert texts(say(sender, "no")) == [expected_reply("utter_deletion_cancelled")]
    assert stored(servers, sender)["events"] > 0


def test_a_request_during_the_check_ends_it_and_deletes_the_answers(
    say: Say, servers: Servers, expected_reply: Callable[[str], str]
) -> None:
    sender = new_sender()
    through_consent(say, sender, say(sender, "can you check if i can get microneedling?"))
    say(sender, "yes, I have rosacea")  # an answer about their health, stored
    assert texts(say(sender, "delete my conversation")) == [
        expected_reply("utter_confirm_deletion")
    ]
    assert texts(say(sender, "yes"))[0].startswith(DONE)
    assert stored(servers, sender)["events"] == 0


def test_by_sms_the_patient_confirms_and_the_conversation_is_deleted(
    text: Text,  # noqa: F811 (the fixture)
    servers: Servers,
) -> None:
    phone = new_phone()
    text(phone, "does it hurt?")
    confirm = text(phone, "DELETE")
    assert any("Reply YES to delete it" in reply for reply in confirm), confirm
    assert any(reply.startswith(DONE) for reply in text(phone, "YES"))
    assert stored(servers, phone) == {"events": 0, "staff_alerts": 0}


def test_by_sms_delete_after_stop_deletes_the_conversation_and_keeps_the_stop(
    text: Text,  # noqa: F811 (the fixture)
    servers: Servers,
    stored_events: Callable,
) -> None:
    phone = new_phone()
    text(phone, "it's oozing and I have a fever")
    assert text(phone, "STOP") == []  # Twilio confirms STOP itself (docs/channels.md: what it says)
    assert text(phone, "DELETE") == []  # no reply can reach a stopped number
    assert stored_events(phone, "user") == [] and stored(servers, phone)["staff_alerts"] == 0
    assert text(phone, "does it hurt?") == []  # still unsubscribed
